"""The request types the lifecycle tests elsewhere leave out, end to end on autopilot:
correction, suspension, erasure as no longer needed and stop of third-party provision, granted
where the recorded facts support the request and refused (signed off, with reasons) where they
do not."""

import json
from datetime import timedelta

from demo.fixture import Fixture
from deployments.registry import build_registry
from models.audit import audit_key
from models.db import unit_of_work, utcnow
from models.fixtures import load_fixture_into_app
from models.rules.deadlines import jst_date
from models.rules.vocabulary import SystemAction
from systems.identity import expand_identity
from tests.flows.conftest import Run, enter_code, notices_of, submit
from tests.flows.support import (
    actions_of,
    customer_row,
    events_of,
    ledgers,
    reload_subject,
    request_of,
    subject,
)

NEW_PHONE = "090-8765-4321"


def _walk(settings, request_type, **changes) -> str:
    reference = submit(settings, request_type, **changes)
    run = Run(reference)
    enter_code(settings, reference, run)
    run.join()
    return reference


def _decision(settings, reference):
    notices = notices_of(settings, reference)
    assert [n.kind for n in notices].count("decision") == 1
    decision = notices[-1]
    assert decision.kind == "decision" and decision.state == "sent"
    return decision.context


def test_correction_of_a_changed_phone_rectifies_the_customer_master(autopilot):
    settings = autopilot
    reference = _walk(
        settings,
        "correction",
        details={"corrections": [{"field": "phone", "current": "03-1234-5678", "requested": NEW_PHONE}]},
    )
    request = request_of(settings, reference)
    assert request.status == "completed" and request.outcome in ("granted", "partially_granted")
    actions = actions_of(settings, reference)
    assert actions[("customers", "rectify")].state == "done"
    assert actions[("customers", "rectify")].affected == 1
    assert all(a.state == "done" for a in actions.values())
    assert customer_row(settings)["phone"] == NEW_PHONE
    # each system applied each action once, under the request's key
    applied = ledgers(settings)
    assert applied["customers"] == [actions[("customers", "rectify")].idempotency_key]
    assert sum(len(keys) for keys in applied.values()) == len(actions)
    context = _decision(settings, reference)
    assert any(i["system"] == "customers" and i["outcome"] == "granted" for i in context["items"])
    # fees: a correction is free
    assert "fee_request" not in [n.kind for n in notices_of(settings, reference)]


def test_correction_to_the_value_already_held_is_refused_as_accurate(autopilot):
    settings = autopilot
    reference = _walk(
        settings,
        "correction",
        details={"corrections": [{"field": "phone", "current": "03-1234-5678", "requested": "03-1234-5678"}]},
    )
    request = request_of(settings, reference)
    assert (request.status, request.outcome) == ("refused", "refused")
    assert request.reason_codes == ["content_accurate"]
    assert request.approved_by == "autopilot"  # a refusal is signed off
    assert actions_of(settings, reference) == {}
    assert customer_row(settings)["phone"] == "03-1234-5678"
    assert _decision(settings, reference)["reasons"] == ["content_accurate"]
    assert events_of(settings, reference, "request.approval.granted")[0].actor == "autopilot"


def test_suspension_on_the_ground_of_mail_after_opt_out_restricts_the_marketing_list(autopilot):
    """Advertising mail after an opt-out supports rights_harmed for the marketing list only."""
    settings = autopilot
    reload_subject(settings, marketing={"consented": True, "opted_out": True, "mailed_after_opt_out": True})
    reference = _walk(settings, "suspension", details={"ground_codes": ["rights_harmed"]})
    request = request_of(settings, reference)
    assert (request.status, request.outcome) == ("completed", "partially_granted")
    assert request.reason_codes == ["no_statutory_ground"]
    actions = actions_of(settings, reference)
    assert {k: a.state for k, a in actions.items()} == {("marketing", "restrict"): "done"}
    assert ledgers(settings)["marketing"] == [actions[("marketing", "restrict")].idempotency_key]
    items = {i["system"]: i for i in _decision(settings, reference)["items"]}
    assert items["marketing"]["outcome"] == "granted"
    assert items["orders"] == {"system": "orders", "outcome": "refused", "reasons": ["no_statutory_ground"]}


def test_stop_of_a_provision_made_without_consent_stops_it_where_systems_provide(autopilot):
    settings = autopilot
    unlawful = subject(
        third_party_provisions=[
            {
                "recipient": "株式会社名簿業者",
                "items": ["name", "phone"],
                "basis": "none",
                "provided_at": "2026-05-01",
            }
        ]
    )
    with unit_of_work(settings) as session:
        load_fixture_into_app(
            session,
            Fixture.model_validate({"customers": [unlawful]}),
            now=utcnow(),
            audit_key=audit_key("fixture"),
        )
    reference = _walk(
        settings, "stop_third_party_provision", details={"ground_codes": ["provision_without_consent"]}
    )
    request = request_of(settings, reference)
    assert (request.status, request.outcome, request.reason_codes) == ("completed", "granted", [])
    actions = actions_of(settings, reference)
    assert actions and all(action == "stop_provision" for _, action in actions)
    assert ("customers", "stop_provision") in actions
    assert all(a.state == "done" for a in actions.values())
    assert request.approved_by is None  # nothing refused: no sign-off asked for


def test_stop_of_a_provision_with_consent_is_refused_without_a_statutory_ground(autopilot):
    settings = autopilot
    reference = _walk(
        settings,
        "stop_third_party_provision",
        details={"ground_codes": ["provision_without_consent"], "grounds": "止めてほしい"},
    )
    request = request_of(settings, reference)
    assert (request.status, request.outcome) == ("refused", "refused")
    assert request.reason_codes == ["no_statutory_ground"]
    assert actions_of(settings, reference) == {}
    assert all(keys == [] for keys in ledgers(settings).values())
    context = _decision(settings, reference)
    assert context["reasons"] == ["no_statutory_ground"]
    assert "no_statutory_ground" in json.dumps(context["items"])


def test_erasure_for_an_account_closed_two_years_ago_erases_everywhere_but_billing(autopilot):
    """No longer needed (Art. 35(5)), decided from the systems' facts: the account closed two
    years ago and nothing was ordered or billed since. Every system that can erase does;
    billing, which the Corporation Tax Act keeps, is restricted (legal_retention_duty)."""
    settings = autopilot
    closed = jst_date(utcnow()) - timedelta(days=730)
    reload_subject(settings, account_closed_at=closed.isoformat())
    reference = _walk(settings, "erasure", details={"ground_codes": ["no_longer_needed"]})
    request = request_of(settings, reference)
    assert (request.status, request.outcome, request.reason_codes) == (
        "completed",
        "partially_granted",
        ["legal_retention_duty"],
    )
    registry = build_registry(settings)
    erasing = {k for k in registry.keys() if SystemAction.ERASE in registry.info(k).actions}
    actions = actions_of(settings, reference)
    # support's data came through an authority's inquiry (the fixture): not held, not touched
    assert set(actions) == {(k, "erase") for k in erasing - {"support"}} | {("billing", "restrict")}
    assert all(a.state == "done" for a in actions.values())
    assert not expand_identity("taro@example.co.jp", registry).customer_ids  # the master forgot them
    items = {i["system"]: i for i in _decision(settings, reference)["items"]}
    assert items["billing"] == {
        "system": "billing",
        "outcome": "restricted",
        "reasons": ["legal_retention_duty"],
    }
    assert all(items[k]["outcome"] == "granted" for k in erasing - {"support"})


def test_erasure_as_no_longer_needed_for_an_open_account_is_refused(autopilot):
    settings = autopilot
    reference = _walk(settings, "erasure", details={"ground_codes": ["no_longer_needed"]})
    request = request_of(settings, reference)
    assert (request.status, request.outcome, request.reason_codes) == (
        "refused",
        "refused",
        ["no_statutory_ground"],
    )
    assert actions_of(settings, reference) == {}
