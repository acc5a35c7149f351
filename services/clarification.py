"""Clarification (Art. 37(2)): an unclear request goes back to the requester with a question;
the clock is paused until the answer, and without one by the deadline the request closes
with ``clarification_not_received``. Withdrawal ends a request at the requester's word."""

from datetime import datetime

from sqlmodel import Session

from models.rules.deadlines import jst_date
from models.rules.vocabulary import ReasonCode, Status, WaitingFor
from models.settings import Settings
from services import clock, closing, notices
from services.common import audit, load_request, move


def asked(request) -> int:
    """How many questions the request was asked so far (numbers the waits)."""
    return len(request.details.get("clarifications", []))


def ask(
    session: Session, settings: Settings, reference: str, question: str, *, actor: str, now: datetime
) -> None:
    request = load_request(session, reference)
    pause = clock.pause(session, settings, request, WaitingFor.CLARIFICATION, now=now)
    n = asked(request) + 1
    request.details = {
        **request.details,
        "clarifications": [
            *request.details.get("clarifications", []),
            {"question": question, "answer": None},
        ],
    }
    notices.send(
        session,
        settings,
        request,
        "clarification_request",
        {
            "reference": reference,
            "question": question,
            "deadline": jst_date(pause.deadline_at).isoformat(),
            "answer_url": f"{settings.mail_public_base_url}/requests/{reference}/clarification",
        },
        key=f"{reference}:clarification_request:{n}",
        now=now,
    )
    move(
        session,
        settings,
        request,
        Status.AWAITING_REQUESTER,
        now=now,
        actor=actor,
        waiting_for=WaitingFor.CLARIFICATION,
    )
    audit(
        session,
        settings,
        actor=actor,
        action="request.clarification.asked",
        reference=reference,
        now=now,
        number=n,
    )


def answer(session: Session, settings: Settings, reference: str, text: str, *, now: datetime) -> bool:
    """The requester's answer to the open question; False when none is open."""
    request = load_request(session, reference)
    if request.waiting_for != WaitingFor.CLARIFICATION:
        return False
    questions = list(request.details.get("clarifications", []))
    questions[-1] = {**questions[-1], "answer": text}
    request.details = {**request.details, "clarifications": questions}
    clock.resume(session, settings, request, now=now)
    move(session, settings, request, Status.REVIEW, now=now, actor="requester")
    audit(
        session,
        settings,
        actor="requester",
        action="request.clarification.answered",
        reference=reference,
        now=now,
        number=len(questions),
    )
    return True


def withdraw(session: Session, settings: Settings, reference: str, *, now: datetime) -> bool:
    """End the request at the requester's word; False when it had already ended."""
    request = load_request(session, reference)
    if request.status.is_final:
        return False
    closing.close(
        session,
        settings,
        reference,
        status=Status.WITHDRAWN,
        outcome=None,
        reasons=[ReasonCode.REQUEST_WITHDRAWN],
        now=now,
        actor="requester",
    )
    return True
