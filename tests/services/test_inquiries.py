"""Inquiries and complaints (policy §8): the validated input of POST /api/inquiries, the
ticket and its acknowledgement, the answer emailed once, the dispatcher's view."""

import json

import pytest
from pydantic import ValidationError
from sqlmodel import select

from models.audit import AuditEvent
from models.db import unit_of_work
from models.ledgers import Inquiry
from models.schema import upgrade
from services import dispatch
from services.inquiries import (
    BODY_MAX,
    InquiryCreate,
    answer_inquiry,
    load_inquiry,
    open_inquiry,
)
from tests.services.conftest import REVIEW_NOW, notices

BODY = {
    "kind": "complaint",
    "language": "en",
    "name": "山田 太郎",
    "email": "taro@example.co.jp",
    "body": "I keep getting your newsletter after unsubscribing.",
    "request_reference": "R-261130-ABCDEF",
}


@pytest.fixture
def desk(settings):
    upgrade(settings)
    return settings


def _open(settings, **changes) -> str:
    with unit_of_work(settings) as session:
        return open_inquiry(
            session, settings, InquiryCreate.model_validate({**BODY, **changes}), now=REVIEW_NOW
        )


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "request"},
        {"language": "fr"},
        {"email": "not-an-address"},
        {"body": ""},
        {"body": "x" * (BODY_MAX + 1)},
        {"name": ""},
        {"request_reference": "R-1"},
        {"phone": "03-1234-5678"},
    ],
)
def test_invalid_input_is_refused(change):
    with pytest.raises(ValidationError):
        InquiryCreate.model_validate({**BODY, **change})


def test_kind_and_language_default_to_a_japanese_inquiry():
    data = InquiryCreate.model_validate({k: BODY[k] for k in ("name", "email", "body")})
    assert (data.kind, data.language, data.request_reference) == ("inquiry", "ja", None)


def test_opening_persists_the_ticket_acknowledges_it_and_audits_without_personal_data(desk):
    reference = _open(desk)
    assert reference.startswith("Q-261201-") and len(reference) == len("Q-261201-ABCDEF")
    with unit_of_work(desk) as session:
        ticket = load_inquiry(session, reference)
        assert (ticket.status, ticket.kind, ticket.email, ticket.request_reference) == (
            "open",
            "complaint",
            "taro@example.co.jp",
            "R-261130-ABCDEF",
        )
        assert ticket.details == {"channel": "web"} and ticket.flow_run_id is None
        events = session.exec(select(AuditEvent).where(AuditEvent.subject_ref == reference)).all()
    [ack] = notices(desk, "inquiry_acknowledgement")
    assert (ack.language, ack.recipient_email, ack.context["reference"]) == (
        "en",
        "taro@example.co.jp",
        reference,
    )
    assert [(e.action, e.actor) for e in events] == [("inquiry.received", "requester:web")]
    details = json.dumps(events[0].details, ensure_ascii=False)
    assert "taro" not in details and "山田" not in details and "newsletter" not in details


def test_the_answer_is_stored_and_emailed_once(desk):
    reference = _open(desk)
    with unit_of_work(desk) as session:
        assert answer_inquiry(
            session,
            desk,
            reference,
            "  We have removed you from the list.  ",
            actor="operator:suzuki",
            now=REVIEW_NOW,
        )
    with unit_of_work(desk) as session:
        assert not answer_inquiry(
            session, desk, reference, "Another answer", actor="operator:sato", now=REVIEW_NOW
        )
        ticket = load_inquiry(session, reference)
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "inquiry.answered")).all()
    assert (ticket.status, ticket.answer, ticket.answered_by) == (
        "answered",
        "We have removed you from the list.",
        "operator:suzuki",
    )
    [mail] = notices(desk, "inquiry_answer")
    assert mail.context["answer"] == "We have removed you from the list." and mail.language == "en"
    assert [e.actor for e in audit] == ["operator:suzuki"] and "answer" not in audit[0].details


def test_an_empty_answer_is_refused(desk):
    reference = _open(desk)
    with unit_of_work(desk) as session, pytest.raises(ValueError):
        answer_inquiry(session, desk, reference, "   ", actor="operator:x", now=REVIEW_NOW)


def test_open_inquiries_without_a_run_are_pending_dispatch_once(desk):
    first, second = _open(desk), _open(desk, kind="inquiry")
    with unit_of_work(desk) as session:
        assert dispatch.pending_tickets(session) == [("inquiry", first), ("inquiry", second)]
        assert dispatch.mark_ticket_dispatched(session, desk, "inquiry", first, "run-1", now=REVIEW_NOW)
        assert not dispatch.mark_ticket_dispatched(session, desk, "inquiry", first, "run-1", now=REVIEW_NOW)
    with unit_of_work(desk) as session:
        answer_inquiry(
            session, desk, second, "Answered before its run started.", actor="operator:x", now=REVIEW_NOW
        )
    with unit_of_work(desk) as session:
        assert dispatch.pending_tickets(session) == []
        assert session.exec(select(Inquiry.flow_run_id).where(Inquiry.reference == first)).one() == "run-1"
