"""Dispatch: every request committed at intake gets exactly one lifecycle flow run.

A request that is not final and has no ``flow_run_id`` is *pending dispatch*: it was
committed at intake, in the same transaction that made it exist, so nothing is lost while
Prefect is down. The dispatcher (``deployments/dispatch.py``, the Prefect side) creates its
run with the reference as idempotency key and stores the run id here. No Prefect in this
module: it is what the database says and does."""

from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, and_, col, or_, select

from models.incidents import Incident
from models.ledgers import Inquiry, ProvisionReview
from models.policy import PROPOSED, PUBLISHED, PolicyVersion
from models.requests import Request
from models.rules.vocabulary import FINAL_STATUSES
from models.settings import Settings
from services import incidents, inquiries, provision
from services.common import audit, load_by_reference, load_request


def pending(session: Session, *, limit: int = 100) -> list[str]:
    """References waiting for their flow run, oldest first."""
    return list(
        session.exec(
            select(Request.reference)
            .where(col(Request.flow_run_id).is_(None), col(Request.status).not_in(FINAL_STATUSES))
            .order_by(col(Request.received_at), col(Request.id))
            .limit(limit)
        ).all()
    )


def mark_dispatched(
    session: Session, settings: Settings, reference: str, flow_run_id: str, *, now: datetime
) -> bool:
    """Store the run id (True when it was not stored yet). The run may have stored the same
    id itself already: the idempotency key makes it the same run."""
    request = load_request(session, reference)
    if request.flow_run_id == flow_run_id:
        return False
    first = request.flow_run_id is None
    request.flow_run_id = flow_run_id
    session.add(request)
    audit(
        session,
        settings,
        actor="dispatcher",
        action="request.dispatched",
        reference=reference,
        now=now,
        flow_run_id=flow_run_id,
        replaced=not first,
    )
    return True


# --- inquiries, provision reviews, leak incidents and policy revisions: one flow run each too ----------------------

Ticket = Inquiry | ProvisionReview | Incident | PolicyVersion
TICKETS: dict[str, tuple[type[Ticket], ColumnElement[bool]]] = {
    "inquiry": (Inquiry, col(Inquiry.status) == inquiries.OPEN),
    "provision": (ProvisionReview, col(ProvisionReview.status).not_in(provision.FINAL)),
    "incident": (Incident, col(Incident.status) != incidents.CLOSED),
    # a revision is open till decided, and a published one with a notice till every notice is written
    "policy": (
        PolicyVersion,
        or_(
            PolicyVersion.status == PROPOSED,
            and_(
                PolicyVersion.status == PUBLISHED,
                PolicyVersion.needs_notice,
                col(PolicyVersion.notified_at).is_(None),
            ),
        ),
    ),
}


def pending_tickets(session: Session, *, limit: int = 100) -> list[tuple[str, str]]:
    """``(kind, reference)`` of open inquiries, provision reviews, incidents and policy revisions
    without their flow run."""
    out: list[tuple[str, str]] = []
    for kind, (table, still_open) in TICKETS.items():
        out += [
            (kind, ref)
            for ref in session.exec(
                select(col(table.reference))
                .where(col(table.flow_run_id).is_(None), still_open)
                .order_by(col(table.id))
                .limit(limit)
            )
        ]
    return out


def mark_ticket_dispatched(
    session: Session, settings: Settings, kind: str, reference: str, flow_run_id: str, *, now: datetime
) -> bool:
    """As :func:`mark_dispatched`, for an inquiry or a provision review."""
    table, _ = TICKETS[kind]
    ticket = load_by_reference(session, table, reference)
    if ticket.flow_run_id == flow_run_id:
        return False
    first = ticket.flow_run_id is None
    ticket.flow_run_id = flow_run_id
    session.add(ticket)
    audit(
        session,
        settings,
        actor="dispatcher",
        action=f"{kind}.dispatched",
        reference=reference,
        now=now,
        flow_run_id=flow_run_id,
        replaced=not first,
    )
    return True
