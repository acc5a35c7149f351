"""Small pieces every service needs: finding a request, its parties, its subject, and
recording what happened to it."""

from datetime import datetime
from typing import Protocol, TypeVar

from sqlmodel import Session, SQLModel, col, select

from models.audit import audit_key, record
from models.requests import Party, Request
from models.rules.states import allowed
from models.rules.vocabulary import Status, WaitingFor
from models.settings import Settings
from systems.identity import SubjectIdentity

Row = TypeVar("Row", bound=SQLModel)


class NotFound(LookupError):
    """No row has that reference (the message carries the reference only)."""


class RequestNotFound(NotFound):
    """No request has that reference."""


class TransitionRefused(ValueError):
    """A move the state machine does not allow (``models.rules.states``): a bug, not input."""


def load_by_reference(
    session: Session, model: type[Row], reference: str, missing: type[NotFound] = NotFound
) -> Row:
    """The ``model`` row (a request, an inquiry, an incident ...) filed under ``reference``;
    ``missing`` (the model's own not-found error) when there is none."""
    row = session.exec(select(model).filter_by(reference=reference)).first()
    if row is None:
        raise missing(reference)
    return row


class Case(Protocol):
    """A row a flow run carries: a request, a review, an inquiry, an incident ..."""

    flow_run_id: str | None


def remember_run(session: Session, case: Case, flow_run_id: str) -> None:
    """Note the run that carries ``case``: wakes, the command line's answers and the recovery
    sweep find it by this id."""
    if case.flow_run_id != flow_run_id:
        case.flow_run_id = flow_run_id
        session.add(case)


def load_request(session: Session, reference: str) -> Request:
    return load_by_reference(session, Request, reference, RequestNotFound)


def principal_of(session: Session, request: Request) -> Party:
    return session.exec(select(Party).where(Party.request_id == request.id, Party.role == "principal")).one()


def requester_of(session: Session, request: Request) -> Party:
    """Who gets the notices: the agent when there is one, else the principal."""
    return session.exec(
        select(Party).where(Party.request_id == request.id, col(Party.is_requester).is_(True))
    ).one()


def subject_of(request: Request) -> SubjectIdentity:
    """The subject's ids in every system, as found once at identity verification."""
    return SubjectIdentity.from_dict(request.subject)


def audit(
    session: Session, settings: Settings, *, actor: str, action: str, reference: str, now: datetime, **details
) -> None:
    record(
        session,
        key=audit_key(settings.secret),
        at=now,
        actor=actor,
        action=action,
        subject_ref=reference,
        details=details,
    )


def move(
    session: Session,
    settings: Settings,
    request: Request,
    status: Status,
    *,
    now: datetime,
    actor: str = "system",
    waiting_for: WaitingFor | None = None,
) -> None:
    """Change a request's status (and what it waits for), audited; a no-op if unchanged,
    :class:`TransitionRefused` if the lifecycle has no such step."""
    if request.status == status and request.waiting_for == waiting_for:
        return
    if not allowed((request.status, request.waiting_for), (status, waiting_for)):
        raise TransitionRefused(
            f"{request.reference}: {request.status}/{request.waiting_for} → "
            f"{status}/{waiting_for} is not a step of the lifecycle"
        )
    audit(
        session,
        settings,
        actor=actor,
        action="request.status",
        reference=request.reference,
        now=now,
        status=str(status),
        previous=str(request.status),
        waiting_for=str(waiting_for) if waiting_for else None,
    )
    request.status, request.waiting_for, request.updated_at = status, waiting_for, now
    session.add(request)
