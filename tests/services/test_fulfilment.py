"""Fulfilment across systems as the service layer does it (no Prefect): plan from the decision,
act once per (system, action), count attempts, and take the operator's word on a failure."""

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import select

from demo.faults import Faulty
from deployments.registry import build_registry, registry_for
from models.audit import AuditEvent
from models.db import unit_of_work
from models.fulfilment import FulfilmentAction, action_key
from models.rules.vocabulary import SystemAction as S
from services.common import load_request, subject_of
from services.fulfilment import (
    NotAwaitingDecision,
    PlannedAction,
    pending_failures,
    perform,
    plan,
    resolve,
)
from systems.protocol import TransientSystemError
from tests.services.conftest import REVIEW_NOW, create_fulfilment_request

NOW = REVIEW_NOW + timedelta(days=3)
ERASURE_ITEMS = [
    ("billing", "billing", "alternative", "restrict"),  # bookkeeping: kept, restricted
    ("orders", "orders", "grant", "erase"),
    ("points", "points", "grant", "erase"),
    ("support", "support", "refuse", None),  # refused: nothing to do
    ("analytics", "analytics", "not_held", None),
]
CORRECTION_ITEMS = [
    ("customers:phone", "customers", "grant", "rectify"),
    ("customers:company", "customers", "refuse", None),  # content accurate
]
CORRECTIONS = [
    {"field": "phone", "current": "03-1234-5678", "requested": "03-9999-0000"},
    {"field": "company", "requested": "株式会社サンプル"},
]


def erasure(settings, registry, items=ERASURE_ITEMS) -> str:
    reference = create_fulfilment_request(
        settings, registry, "erasure", items, ground_codes=["no_longer_needed"]
    )
    with unit_of_work(settings) as session:
        plan(session, settings, reference, now=NOW)
    return reference


def rows(settings, reference) -> dict[tuple[str, str], FulfilmentAction]:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return {
            (r.system_key, str(r.action)): r
            for r in session.exec(select(FulfilmentAction).where(FulfilmentAction.request_id == request.id))
        }


def ledger_entries(registry, system_key: str, key: str) -> int:
    """How many times the system itself recorded the action (its idempotency ledger)."""
    applied = registry.definition(system_key).applied
    with registry.database(system_key)._engine().connect() as conn:
        return conn.execute(
            sa_select(func.count()).select_from(applied).where(applied.c.idempotency_key == key)
        ).scalar_one()


def located(settings, registry, reference, system_key):
    with unit_of_work(settings) as session:
        identity = subject_of(load_request(session, reference))
    return registry.database(system_key).locate(identity)


def test_erasure_plans_a_restriction_for_billing_and_erasure_elsewhere(fulfilment_desk):
    settings, registry = fulfilment_desk
    reference = create_fulfilment_request(settings, registry, "erasure", ERASURE_ITEMS)
    with unit_of_work(settings) as session:
        planned = plan(session, settings, reference, now=NOW)
    assert planned == [
        PlannedAction("billing", S.RESTRICT),
        PlannedAction("orders", S.ERASE),
        PlannedAction("points", S.ERASE),
    ]
    found = rows(settings, reference)
    assert found[("orders", "erase")].idempotency_key == action_key(reference, "orders", S.ERASE)
    assert {r.state for r in found.values()} == {"pending"}

    with unit_of_work(settings) as session:  # a re-plan adds nothing
        assert plan(session, settings, reference, now=NOW) == planned
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.subject_ref == reference, AuditEvent.action == "fulfilment.planned"
            )
        ).all()
    assert len(rows(settings, reference)) == 3 and len(events) == 1


def test_correction_rectifies_the_decided_field_only(fulfilment_desk):
    settings, registry = fulfilment_desk
    reference = create_fulfilment_request(
        settings, registry, "correction", CORRECTION_ITEMS, corrections=CORRECTIONS
    )
    with unit_of_work(settings) as session:
        assert plan(session, settings, reference, now=NOW) == [PlannedAction("customers", S.RECTIFY)]

    outcome = perform(settings, reference, "customers", "rectify", registry=registry)
    assert (outcome.state, outcome.affected, outcome.attempts) == ("done", 1, 1)
    with unit_of_work(settings) as session:
        identity = subject_of(load_request(session, reference))
    [profile] = [
        r for r in registry.database("customers").export(identity) if r["_category"] == "customer_profile"
    ]
    assert profile["phone"] == "03-9999-0000" and profile["company"] == "株式会社サンプル"


def test_perform_acts_once_and_a_second_run_does_not_call_the_system(fulfilment_desk):
    settings, _ = fulfilment_desk
    counting = build_registry(settings, wrap=lambda key, c: Faulty(c))
    reference = erasure(settings, counting)
    assert located(settings, counting, reference, "points").found

    first = perform(settings, reference, "points", S.ERASE, registry=counting)
    again = perform(settings, reference, "points", S.ERASE, registry=counting)
    assert (first.state, first.replayed, first.attempts) == ("done", False, 1) and first.affected
    assert (again.state, again.replayed, again.attempts) == ("done", True, 1)
    assert counting.connector("points").calls == 1
    assert ledger_entries(counting, "points", action_key(reference, "points", S.ERASE)) == 1
    assert not located(settings, counting, reference, "points").found

    restricted = perform(settings, reference, "billing", S.RESTRICT, registry=counting)
    assert restricted.state == "done"
    assert located(settings, counting, reference, "billing").restricted == restricted.affected > 0


def test_a_row_reset_by_a_crash_is_replayed_by_the_system_ledger(fulfilment_desk):
    """The effect committed in the system but the app never heard: the retry is a replay."""
    settings, registry = fulfilment_desk
    reference = erasure(settings, registry)
    perform(settings, reference, "orders", S.ERASE, registry=registry)
    with unit_of_work(settings) as session:
        row = session.exec(select(FulfilmentAction).where(FulfilmentAction.system_key == "orders")).one()
        row.state = "pending"
        session.add(row)
    outcome = perform(settings, reference, "orders", S.ERASE, registry=registry)
    assert (outcome.state, outcome.replayed, outcome.attempts) == ("done", True, 2)
    assert ledger_entries(registry, "orders", action_key(reference, "orders", S.ERASE)) == 1


def test_transient_error_is_reraised_and_counted(fulfilment_desk):
    settings, _ = fulfilment_desk
    flaky = build_registry(settings, wrap=lambda key, c: Faulty(c, fail_first=2))
    reference = erasure(settings, flaky)
    for attempt in (1, 2):
        with pytest.raises(TransientSystemError):
            perform(settings, reference, "orders", S.ERASE, registry=flaky)
        row = rows(settings, reference)[("orders", "erase")]
        assert (row.state, row.attempts) == ("pending", attempt)
        assert row.last_error == "TransientSystemError: orders: erase: injected fault"
    outcome = perform(settings, reference, "orders", S.ERASE, registry=flaky)
    assert (outcome.state, outcome.attempts, outcome.error) == ("done", 3, None)


def test_permanent_error_marks_the_action_failed(fulfilment_desk):
    settings, registry = fulfilment_desk
    reference = erasure(settings, registry, [("billing", "billing", "grant", "erase")])  # cannot
    outcome = perform(settings, reference, "billing", S.ERASE, registry=registry)
    assert (outcome.state, outcome.attempts) == ("failed", 1)
    assert outcome.error == "ActionNotSupported: billing: erase is not supported"
    with unit_of_work(settings) as session:
        assert pending_failures(session, reference) == [PlannedAction("billing", S.ERASE, "failed", 1)]
    # failed waits for an operator: performing again does not call the system
    assert perform(settings, reference, "billing", S.ERASE, registry=registry).attempts == 1


@pytest.fixture
def failed(fulfilment_desk):
    """An erasure whose orders and points actions both failed permanently."""
    settings, _ = fulfilment_desk
    broken = build_registry(settings, wrap=lambda key, c: _Refusing(c))
    reference = erasure(settings, broken)
    for system_key in ("orders", "points"):
        assert perform(settings, reference, system_key, S.ERASE, registry=broken).state == "failed"
    return settings, reference


class _Refusing(Faulty):
    def _gate(self, name):
        from systems.protocol import PermanentSystemError

        raise PermanentSystemError(self.key, f"{name}: schema mismatch")


def test_operator_skips_with_a_reason_or_marks_done_by_hand(failed, fulfilment_desk):
    settings, reference = failed
    with unit_of_work(settings) as session, pytest.raises(ValueError, match="reason"):
        resolve(
            session,
            settings,
            reference,
            "orders",
            S.ERASE,
            decision="skip",
            reason=" ",
            actor="operator:sato",
            now=NOW,
        )
    with unit_of_work(settings) as session:
        resolve(
            session,
            settings,
            reference,
            "orders",
            S.ERASE,
            decision="skip",
            reason="システム廃止予定のため手作業で対応",
            actor="operator:sato",
            now=NOW,
        )
        resolve(
            session,
            settings,
            reference,
            "points",
            "erase",
            decision="done_by_hand",
            reason=None,
            actor="operator:sato",
            now=NOW,
        )
    found = rows(settings, reference)
    assert (found[("orders", "erase")].state, found[("orders", "erase")].note) == (
        "skipped",
        "システム廃止予定のため手作業で対応",
    )
    assert (found[("points", "erase")].state, found[("points", "erase")].decided_by) == (
        "done_by_hand",
        "operator:sato",
    )
    with unit_of_work(settings) as session:
        assert pending_failures(session, reference) == []
        trail = session.exec(
            select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(AuditEvent.seq)
        ).all()
        with pytest.raises(NotAwaitingDecision):
            resolve(
                session,
                settings,
                reference,
                "orders",
                S.ERASE,
                decision="retry",
                reason=None,
                actor="operator:sato",
                now=NOW,
            )
    assert [e.action for e in trail][-2:] == ["fulfilment.skip", "fulfilment.done_by_hand"]
    assert trail[-2].details["reason_given"] is True and trail[-2].actor == "operator:sato"
    # neither counts as done by the system: the system was never called again
    registry = fulfilment_desk[1]
    assert perform(settings, reference, "orders", S.ERASE, registry=registry).state == "skipped"
    assert located(settings, registry, reference, "orders").found


def test_operator_retry_puts_the_action_back_to_pending(failed, fulfilment_desk):
    settings, reference = failed
    registry = fulfilment_desk[1]
    with unit_of_work(settings) as session:
        back = resolve(
            session,
            settings,
            reference,
            "orders",
            S.ERASE,
            decision="retry",
            reason=None,
            actor="operator:sato",
            now=NOW,
        )
    assert back == PlannedAction("orders", S.ERASE, "pending", 1)
    outcome = perform(settings, reference, "orders", S.ERASE, registry=registry)
    assert (outcome.state, outcome.attempts) == ("done", 2)
    assert not located(settings, registry, reference, "orders").found


def test_registry_for_injects_faults_into_actions_only_and_counts_across_calls(fulfilment_desk):
    settings, _ = fulfilment_desk
    faulty = settings.model_copy(update={"system_faults": {"orders": 1}})
    registry = registry_for(faulty)
    assert registry_for(faulty) is registry
    reference = erasure(settings, registry)
    assert located(settings, registry, reference, "orders").found  # locate is never failed
    with unit_of_work(settings) as session:
        identity = subject_of(load_request(session, reference))
    assert registry.connector("orders").locate(identity).found
    with pytest.raises(TransientSystemError):
        perform(settings, reference, "orders", S.ERASE, registry=registry_for(faulty))
    assert perform(settings, reference, "orders", S.ERASE, registry=registry_for(faulty)).state == "done"
    assert perform(settings, reference, "points", S.ERASE, registry=registry).state == "done"
