"""Requester waits past their deadline: the request closes with the reason the contract
names for what it waited for. The scheduled monitor calls this and wakes the runs."""

from datetime import datetime

from sqlmodel import Session, col, select

from models.requests import ClockPause, Request
from models.rules.vocabulary import Outcome, ReasonCode, Status, WaitingFor
from models.settings import Settings
from services import closing

CLOSURE = {
    WaitingFor.ONE_TIME_CODE: (Status.REFUSED, Outcome.REFUSED, ReasonCode.IDENTITY_NOT_VERIFIED),
    WaitingFor.DOCUMENTS: (Status.REFUSED, Outcome.REFUSED, ReasonCode.IDENTITY_NOT_VERIFIED),
    WaitingFor.IDENTITY_DOCUMENT: (Status.REFUSED, Outcome.REFUSED, ReasonCode.POSTAL_IDENTITY_NOT_VERIFIED),
    WaitingFor.CLARIFICATION: (Status.CLOSED, None, ReasonCode.CLARIFICATION_NOT_RECEIVED),
    WaitingFor.PAYMENT: (Status.CLOSED, None, ReasonCode.UNPAID_FEE),
}


def close_overdue(session: Session, settings: Settings, *, now: datetime) -> list[tuple[str, str | None]]:
    """Close every request whose requester wait is past its deadline; returns (reference,
    flow run id) of each, for the caller to wake. Open pauses past their deadline are found by
    the partial index ix_clock_pause_open_deadline; the status is checked on those few."""
    overdue = session.exec(
        select(Request, ClockPause)
        .join(ClockPause, col(ClockPause.request_id) == Request.id)
        .where(col(ClockPause.ended_at).is_(None), ClockPause.deadline_at < now)
    ).all()
    closed = []
    for request, pause in overdue:
        if request.status != Status.AWAITING_REQUESTER:
            continue
        status, outcome, reason = CLOSURE[WaitingFor(pause.waiting_for)]
        closing.close(
            session,
            settings,
            request.reference,
            status=status,
            outcome=outcome,
            reasons=[reason],
            now=now,
            actor="monitor",
        )
        closed.append((request.reference, request.flow_run_id))
    return closed
