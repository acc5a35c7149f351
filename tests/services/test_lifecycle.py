"""The lifecycle's decisions without Prefect (services/lifecycle.py): each step says what the
flow does next, and the request stands where docs/product.md §1 puts it."""

from deployments.registry import build_registry
from models.db import unit_of_work, utcnow
from models.rules.vocabulary import Outcome, ReasonCode, Status, WaitingFor
from services import clarification, identity, review
from services import lifecycle as stages
from services.common import load_request
from services.lifecycle import IdentityNext, ReviewNext
from tests.services.conftest import PRINCIPAL, notices, submit


def _at(settings, reference) -> tuple[Status, WaitingFor | None]:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return request.status, request.waiting_for


def test_a_disclosure_goes_from_identity_to_fulfilment_one_step_at_a_time(desk):
    settings, registry = desk
    reference = submit(settings)
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=utcnow())
    step = stages.identity_step(settings, reference)
    assert (step.next, step.key, step.waiting_for) == (
        IdentityNext.REQUESTER,
        "identity-1-0",
        WaitingFor.ONE_TIME_CODE,
    )
    assert 13 * 24 * 3600 < step.seconds_left < 20 * 24 * 3600  # the end of the 14th day, in Japan
    [code] = notices(settings, "one_time_code")
    with unit_of_work(settings) as session:
        identity.submit_code(session, settings, reference, code.context["code"], now=utcnow())
    assert stages.identity_step(settings, reference).next is IdentityNext.VERIFIED

    with unit_of_work(settings) as session:
        review.propose(session, settings, reference, registry=registry, now=utcnow())
    step = stages.review_step(settings, reference)
    assert (step.next, step.key, _at(settings, reference)) == (
        ReviewNext.OPERATOR,
        "review-0-0",
        (Status.REVIEW, None),
    )
    stages.ask_clarification(settings, reference, "どの注文ですか", actor="operator:sato")
    step = stages.review_step(settings, reference)
    assert (step.next, step.key) == (ReviewNext.REQUESTER, "clarification-1")
    with unit_of_work(settings) as session:
        clarification.answer(session, settings, reference, "全部です", now=utcnow())
    step = stages.review_step(settings, reference)
    assert (step.next, step.key) == (ReviewNext.OPERATOR, "review-0-1")

    first = step.pending[0]["item_key"]  # refused in part: the officer signs off, or sends it back
    stages.decide_review(
        settings,
        reference,
        {first: ("refuse", [ReasonCode.HARM_TO_LIFE_OR_PROPERTY])},
        registry=build_registry(settings),
        actor="operator:sato",
    )
    step = stages.review_step(settings, reference)
    assert (step.next, step.key, _at(settings, reference)) == (
        ReviewNext.SIGN_OFF,
        "approval-0",
        (Status.AWAITING_APPROVAL, None),
    )
    stages.review_signed_off(settings, reference, approved=False, actor="officer:tanaka")
    step = stages.review_step(settings, reference)
    assert (step.next, step.key, _at(settings, reference)) == (
        ReviewNext.OPERATOR,
        "review-1-1",
        (Status.REVIEW, None),
    )
    stages.decide_review(
        settings, reference, None, registry=build_registry(settings), actor="operator:suzuki"
    )
    assert stages.review_step(settings, reference).next is ReviewNext.DECIDED
    outcome, _ = stages.review_outcome(settings, reference)
    assert outcome is Outcome.GRANTED

    assert stages.fee_due(settings, reference, outcome) > 13 * 24 * 3600
    assert _at(settings, reference) == (Status.AWAITING_REQUESTER, WaitingFor.PAYMENT)
    stages.confirm_payment(settings, reference, actor="operator:sato", method="bank_transfer")
    assert stages.fee_due(settings, reference, outcome) is None
    stages.start_fulfilment(settings, reference)
    assert _at(settings, reference) == (Status.FULFILMENT, None)
    assert stages.failures(settings, reference) == []


def test_an_identity_refusal_waits_for_the_officer_who_may_send_it_back_to_an_operator(desk):
    settings, registry = desk
    references = [
        submit(
            settings,
            principal={**PRINCIPAL, "login_id": "Z9999999", "phone": "06-0000-0000", "company": "別の会社"},
        )
        for _ in range(2)
    ]
    for reference in references:
        with unit_of_work(settings) as session:
            identity.start(session, settings, reference, registry=registry, now=utcnow())
        assert stages.identity_step(settings, reference).next is IdentityNext.SIGN_OFF
    signed, sent_back = references
    stages.identity_signed_off(settings, signed, approved=True, actor="officer:tanaka")
    with unit_of_work(settings) as session:
        request = load_request(session, signed)
        assert (request.status, request.reason_codes) == (Status.REFUSED, ["identity_not_verified"])

    stages.identity_signed_off(settings, sent_back, approved=False, actor="officer:tanaka")
    assert stages.identity_step(settings, sent_back).next is IdentityNext.OPERATOR
    stages.identity_decided(settings, sent_back, "verified", actor="operator:sato")
    assert stages.identity_step(settings, sent_back).next is IdentityNext.VERIFIED


def test_a_wait_that_lapses_ends_the_request_as_the_deadline_monitor_would(desk):
    settings, registry = desk
    reference = submit(settings)
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=utcnow())
    stages.lapse(settings, reference, WaitingFor.ONE_TIME_CODE)
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        assert (request.status, request.outcome, request.reason_codes) == (
            Status.REFUSED,
            Outcome.REFUSED,
            ["identity_not_verified"],
        )
    assert len(notices(settings, "decision")) == 1
