"""services.common.move: the state machine of models/rules/states.py is enforced on every move."""

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from models.db import unit_of_work
from models.rules.vocabulary import Status, WaitingFor
from services import clarification
from services.common import TransitionRefused, load_request, move
from tests.services.conftest import REVIEW_NOW, create_review_request


def _moves(settings, reference) -> list[dict]:
    with unit_of_work(settings) as session:
        return [
            e.details
            for e in session.exec(
                select(AuditEvent).where(
                    AuditEvent.subject_ref == reference, AuditEvent.action == "request.status"
                )
            )
        ]


def test_a_step_of_the_lifecycle_is_made_and_audited(desk):
    settings, registry = desk
    reference = create_review_request(settings, registry, "erasure")
    with unit_of_work(settings) as session:
        move(
            session,
            settings,
            load_request(session, reference),
            Status.AWAITING_REQUESTER,
            now=REVIEW_NOW,
            waiting_for=WaitingFor.CLARIFICATION,
        )
    assert _moves(settings, reference) == [
        {"status": "awaiting_requester", "previous": "review", "waiting_for": "clarification"}
    ]


@pytest.mark.parametrize(
    "status, waiting_for",
    [(Status.COMPLETED, None), (Status.RECEIVED, None), (Status.REVIEW, WaitingFor.PAYMENT)],
)
def test_any_other_move_is_refused_and_nothing_changes(desk, status, waiting_for):
    settings, registry = desk
    reference = create_review_request(settings, registry, "erasure")
    with (
        pytest.raises(TransitionRefused, match=f"{reference}: review/None → {status}/{waiting_for}"),
        unit_of_work(settings) as session,
    ):
        move(
            session,
            settings,
            load_request(session, reference),
            status,
            now=REVIEW_NOW,
            waiting_for=waiting_for,
        )
    with unit_of_work(settings) as session:
        assert load_request(session, reference).status is Status.REVIEW
    assert _moves(settings, reference) == []


def test_a_closed_request_is_not_taken_back_by_a_late_answer(desk):
    settings, registry = desk
    reference = create_review_request(settings, registry, "erasure")
    with unit_of_work(settings) as session:
        clarification.withdraw(session, settings, reference, now=REVIEW_NOW)
    with pytest.raises(TransitionRefused), unit_of_work(settings) as session:
        move(session, settings, load_request(session, reference), Status.FULFILMENT, now=REVIEW_NOW)
