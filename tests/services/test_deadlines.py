"""A requester who does not act by the deadline: the request closes with the contract's reason."""

from datetime import timedelta

from models.db import unit_of_work
from models.rules.vocabulary import Status
from services import clarification, fees, identity
from services.common import load_request
from services.deadlines import close_overdue
from tests.services.conftest import REVIEW_NOW as NOW
from tests.services.conftest import notices, submit, to_review


def test_overdue_waits_close_with_their_reason(desk):
    settings, registry = desk
    code_ref, question_ref, fee_ref = submit(settings), submit(settings), submit(settings)
    to_review(settings, question_ref, fee_ref)
    with unit_of_work(settings) as session:
        identity.start(session, settings, code_ref, registry=registry, now=NOW)
        clarification.ask(
            session, settings, question_ref, "どのサービスですか", actor="operator:sato", now=NOW
        )
        fees.request_fee(session, settings, fee_ref, outcome="granted", now=NOW)
    with unit_of_work(settings) as session:
        assert close_overdue(session, settings, now=NOW + timedelta(days=10)) == []
    with unit_of_work(settings) as session:
        closed = close_overdue(session, settings, now=NOW + timedelta(days=20))
    assert sorted(r for r, _ in closed) == sorted([code_ref, question_ref, fee_ref])
    with unit_of_work(settings) as session:
        results = {
            ref: (load_request(session, ref).status, load_request(session, ref).reason_codes)
            for ref in (code_ref, question_ref, fee_ref)
        }
    assert results == {
        code_ref: (Status.REFUSED, ["identity_not_verified"]),
        question_ref: (Status.CLOSED, ["clarification_not_received"]),
        fee_ref: (Status.CLOSED, ["unpaid_fee"]),
    }
    assert len(notices(settings, "decision")) == 3
    with unit_of_work(settings) as session:  # a second pass finds nothing
        assert close_overdue(session, settings, now=NOW + timedelta(days=21)) == []
