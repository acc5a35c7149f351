"""The decision clock of a request: paused while it waits for the requester, due date kept
current in the database so that monitors can query it with an index."""

from datetime import datetime

from sqlmodel import Session, select

from models.requests import ClockPause, Request
from models.rules.deadlines import Pause, decision_clock, requester_deadline
from models.rules.vocabulary import WaitingFor


def open_pause(session: Session, request: Request) -> ClockPause | None:
    return session.exec(
        select(ClockPause).where(ClockPause.request_id == request.id, ClockPause.ended_at.is_(None))
    ).first()


def pause(session: Session, request: Request, waiting_for: WaitingFor, *, now: datetime) -> ClockPause:
    """Stop the clock (once) while the requester has to act; returns the pause with its deadline."""
    current = open_pause(session, request)
    if current is not None and current.waiting_for == waiting_for:
        return current
    if current is not None:
        resume(session, request, now=now)
    current = ClockPause(request_id=request.id, waiting_for=waiting_for, started_at=now,
                         deadline_at=requester_deadline(now))
    session.add(current)
    session.flush()
    return current


def resume(session: Session, request: Request, *, now: datetime) -> None:
    """Start the clock again; the due date moves by the time spent waiting."""
    current = open_pause(session, request)
    if current is None:
        return
    current.ended_at = now
    session.add(current)
    pauses = session.exec(select(ClockPause).where(ClockPause.request_id == request.id)).all()
    request.due_at = decision_clock(
        request.received_at, [Pause(p.started_at, p.ended_at) for p in pauses], now=now
    ).due_at
    session.add(request)
