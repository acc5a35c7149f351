"""The decision clock of a request: paused while it waits for the requester, due date kept
current in the database so that monitors can query it with an index."""

from datetime import datetime

from sqlmodel import Session, col, select

from models.db import row_id
from models.requests import ClockPause, Request
from models.rules.deadlines import Pause, decision_clock, jst_date, requester_deadline
from models.rules.vocabulary import WaitingFor
from models.settings import Settings
from services import notices


def open_pause(session: Session, request: Request) -> ClockPause | None:
    return session.exec(
        select(ClockPause).where(ClockPause.request_id == request.id, col(ClockPause.ended_at).is_(None))
    ).first()


def pause(
    session: Session,
    settings: Settings,
    request: Request,
    waiting_for: WaitingFor,
    *,
    now: datetime,
    deadline_at: datetime | None = None,
) -> ClockPause:
    """Stop the clock (once) while the requester has to act; returns the pause with its deadline
    (``deadline_at``, else the requester's usual one)."""
    current = open_pause(session, request)
    if current is not None and current.waiting_for == waiting_for:
        return current
    if current is not None:
        resume(session, settings, request, now=now)
    current = ClockPause(
        request_id=row_id(request),
        waiting_for=waiting_for,
        started_at=now,
        deadline_at=deadline_at or requester_deadline(now),
    )
    session.add(current)
    session.flush()
    return current


def resume(
    session: Session, settings: Settings, request: Request, *, now: datetime, notify: bool = True
) -> None:
    """Start the clock again; the due date moves by the time spent waiting. When it moves to
    a later day the requester is told the new date (the extension notice), unless the
    request is ending (``notify=False``: the decision notice says it all)."""
    current = open_pause(session, request)
    if current is None:
        return
    current.ended_at = now
    session.add(current)
    pauses = session.exec(select(ClockPause).where(ClockPause.request_id == request.id)).all()
    before = request.due_at
    request.due_at = due_at = decision_clock(
        request.received_at, [Pause(p.started_at, p.ended_at) for p in pauses], now=now
    ).due_at
    session.add(request)
    if notify and before is not None and jst_date(due_at) > jst_date(before):
        _tell_new_due_date(session, settings, request, due_at, now)


def _tell_new_due_date(
    session: Session, settings: Settings, request: Request, due_at: datetime, now: datetime
) -> None:
    due = jst_date(due_at).isoformat()
    notices.send(
        session,
        settings,
        request,
        "extension",
        {"reference": request.reference, "due_date": due},
        key=f"{request.reference}:extension:{due}",
        now=now,
    )
