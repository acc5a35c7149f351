"""Requests walked end to end by the lifecycle flow, on Prefect's test server."""

import asyncio

import pytest
from sqlmodel import select

from demo import inbox
from mail.outbox import REMOVED
from models.db import unit_of_work
from models.fulfilment import FulfilmentAction
from models.rules.vocabulary import Status
from services.common import load_request
from tests.flows.conftest import Run, enter_code, notices_of, submit
from tests.flows.support import operator


@pytest.fixture
def autopilot(monkeypatch, desk):
    from models.settings import get_settings

    monkeypatch.setenv("MADOGUCHI_AUTOPILOT", "1")
    get_settings.cache_clear()
    return get_settings()


def _final(settings, reference):
    with unit_of_work(settings) as session:
        return load_request(session, reference)


def test_disclosure_on_autopilot_ends_granted_with_a_package_link(autopilot):
    settings = autopilot
    reference = submit(settings, "disclosure", details={"include_third_party_records": True})
    run = Run(reference)
    enter_code(settings, reference, run)
    assert run.join() == "completed"
    request = _final(settings, reference)
    assert (request.status, request.outcome) == (Status.COMPLETED, "granted")
    kinds = [n.kind for n in notices_of(settings, reference)]
    assert kinds == ["acknowledgement", "one_time_code", "fee_request", "decision"]
    decision = notices_of(settings, reference)[-1]
    assert (
        decision.state == "sent" and decision.context["package_url"] == REMOVED
    )  # the link lives in the mail only
    assert f"/packages/{reference}?token=" in inbox.text_of(
        inbox.messages(settings.sendgrid_host, reference)[-1]
    )


def test_erasure_with_a_ground_for_marketing_only_is_partially_granted(autopilot):
    """Advertising mail sent after an opt-out is a ground (Art. 35(5)) for the marketing list
    only; the other systems are refused with no_statutory_ground, signed off, then acted on."""
    import json

    from demo.fixture import load_fixture_into_systems
    from tests.flows.conftest import FIXTURE

    settings = autopilot
    subject = json.loads(FIXTURE.read_text())["customers"][0]
    subject["marketing"] = {"consented": True, "opted_out": True, "mailed_after_opt_out": True}
    load_fixture_into_systems({"customers": [subject]}, settings)
    reference = submit(settings, "erasure", details={"ground_codes": ["rights_harmed"]})
    run = Run(reference)
    enter_code(settings, reference, run)
    assert run.join() == "completed"
    request = _final(settings, reference)
    assert (request.outcome, request.approved_by) == ("partially_granted", "autopilot")
    with unit_of_work(settings) as session:
        actions = {
            (a.system_key, str(a.action)): a.state
            for a in session.exec(select(FulfilmentAction).where(FulfilmentAction.request_id == request.id))
        }
    assert actions == {("marketing", "erase"): "done"}
    decision = notices_of(settings, reference)[-1]
    assert decision.kind == "decision" and "no_statutory_ground" in json.dumps(decision.context)


def test_a_rerun_after_the_close_acts_on_nothing_and_sends_nothing(autopilot):
    from flows.lifecycle import lifecycle

    settings = autopilot
    reference = submit(settings, "purpose_notification")
    run = Run(reference)
    enter_code(settings, reference, run)
    run.join()
    before = [(n.kind, n.state) for n in notices_of(settings, reference)]
    assert asyncio.run(lifecycle(reference)) == "completed"
    assert [(n.kind, n.state) for n in notices_of(settings, reference)] == before


def test_a_clarification_answered_lets_the_review_go_on(desk):
    """Asked through the review form (here from the CLI, logged in), answered by the requester."""
    from services import clarification

    settings = desk
    reference = submit(settings, "disclosure")
    run = Run(reference)
    enter_code(settings, reference, run)
    run.wait_until_paused()
    operator("review", reference, "--clarify", "対象のサービスを教えてください")
    _wait_for(lambda: _final(settings, reference).waiting_for == "clarification")
    with unit_of_work(settings) as session:
        assert clarification.answer(session, settings, reference, "注文履歴です", now=_utc())
    run.answer()
    run.wait_until_paused()  # back in review, decided by the operator this time
    operator("review", reference)
    run.wait_until_paused()  # the fee
    operator("payment", reference)
    assert run.join() == "completed"
    kinds = [n.kind for n in notices_of(settings, reference)]
    assert "clarification_request" in kinds and kinds[-1] == "decision"


def test_a_withdrawal_ends_a_waiting_run(desk):
    from services import clarification

    settings = desk
    reference = submit(settings, "erasure")
    run = Run(reference)
    run.wait_until_paused()  # waiting for the one-time code
    with unit_of_work(settings) as session:
        assert clarification.withdraw(session, settings, reference, now=_utc())
    run.answer()
    assert run.join() == "withdrawn"
    assert _final(settings, reference).reason_codes == ["request_withdrawn"]


def _utc():
    from models.db import utcnow

    return utcnow()


def _wait_for(predicate, timeout=30):
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
