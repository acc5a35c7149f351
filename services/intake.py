"""Intake: a validated request is persisted, acknowledged and given a status token, in one
transaction, before anything else happens to it (a request is never lost). The help desk
enters a request it received by phone, post, at the counter or by email the same way
(:func:`enter`), from the day it arrived, named in the audit as the person who entered it."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from mail.outbox import enqueue
from models.db import row_id
from models.policy import version_in_force
from models.requests import Party, Request, RequestCreate, new_reference
from models.rules.deadlines import decision_clock, jst_date
from models.rules.entry import (
    PROBLEMS,
    Acknowledgement,
    Channel,
    email_from_record,
    entry_problems,
    received_instant,
)
from models.rules.vocabulary import Role
from models.settings import Settings
from services import letters
from services.common import audit
from services.identity import CUSTOMER_MASTER
from systems.protocol import EmailSource
from systems.registry import Registry


@dataclass(frozen=True)
class Submitted:
    reference: str
    status_token: str  # shown to the requester once; only its hash is kept


class EntryRejected(ValueError):
    """A help-desk entry the request body allows but the entry does not: ``problems`` are
    field: code of models/rules/entry.PROBLEMS."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {PROBLEMS[code]}" for field, code in problems.items()))
        self.problems = problems


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def submit(
    session: Session,
    settings: Settings,
    data: RequestCreate,
    *,
    now: datetime,
    channel: str = "web",
    received_at: datetime | None = None,
    acknowledgement: Acknowledgement = Acknowledgement.EMAIL,
) -> Submitted:
    """``received_at`` (default ``now``) starts the clock; the acknowledgement goes by email to
    the requester, or as a letter the help desk prints (services/letters.py)."""
    token = secrets.token_urlsafe(24)
    received_at = received_at or now
    due_at = decision_clock(received_at, now=now).due_at
    request = Request(
        reference=new_reference(received_at),
        request_type=data.request_type,
        language=data.language,
        role=data.role,
        status_token_hash=token_hash(token),
        details=data.details.model_dump(mode="json"),
        received_at=received_at,
        updated_at=now,
        due_at=due_at,
        policy_version=version_in_force(session, received_at),
    )
    session.add(request)
    session.flush()
    principal = data.principal
    session.add(
        Party(
            request_id=row_id(request),
            role=Role.PRINCIPAL,
            is_requester=data.requester is None,
            **principal.model_dump(),
        )
    )
    if data.requester is not None:
        session.add(Party(request_id=row_id(request), is_requester=True, **data.requester.model_dump()))
    requester = data.requester or principal
    context = {
        "reference": request.reference,
        "request_type": str(request.request_type),
        "received_at": jst_date(received_at).isoformat(),
        "due_date": jst_date(due_at).isoformat(),
    }
    if acknowledgement is Acknowledgement.LETTER:
        letters.write(session, settings, request, "acknowledgement", context, now=now, status_token=token)
    else:
        enqueue(
            session,
            kind="acknowledgement",
            language=request.language,
            recipient_email=str(requester.email),
            idempotency_key=f"{request.reference}:acknowledgement",
            request_id=request.id,
            now=now,
            context=context,
        )
    audit(
        session,
        settings,
        actor=f"requester:{channel}",
        action="request.received",
        reference=request.reference,
        now=now,
        request_type=str(request.request_type),
        role=str(request.role),
        language=request.language,
    )
    return Submitted(request.reference, token)


def with_registered_email(body: Any, channel: Channel, registry: Registry) -> tuple[Any, tuple[str, ...]]:
    """The request body as the help desk typed it, with the principal's email taken from the
    one customer record holding the login ID and phone given when the entry may leave it out
    (models/rules/entry.email_from_record), and the details it was found by; else ``body`` as
    it is and ``()``. No such record, or several, is :class:`EntryRejected` on the email."""
    principal = body.get("principal") if isinstance(body, dict) else None
    if not isinstance(principal, dict) or principal.get("email"):
        return body, ()
    given = {  # a control character (NUL: PostgreSQL refuses it) is the body's error to report, not a lookup
        k: v.strip()
        for k in ("login_id", "phone")
        if isinstance(v := principal.get(k), str) and v.strip() and v.isprintable()
    }
    requester = body.get("requester")
    agent = isinstance(requester, dict) and requester.get("role", Role.PRINCIPAL) != Role.PRINCIPAL
    if not email_from_record(channel, agent=agent, login_id=given.get("login_id"), phone=given.get("phone")):
        return body, ()
    source = registry.connector(CUSTOMER_MASTER)
    emails = (
        source.registered_emails(given.get("login_id"), given.get("phone"))
        if isinstance(source, EmailSource)
        else []
    )
    if len(emails) != 1:
        raise EntryRejected({"principal.email": "no_customer_record"})
    return {**body, "principal": {**principal, "email": emails[0]}}, tuple(given)


def enter(
    session: Session,
    settings: Settings,
    data: RequestCreate,
    *,
    channel: Channel,
    received_on: date,
    acknowledgement: Acknowledgement,
    actor: str,
    now: datetime,
    found_by: tuple[str, ...] = (),
) -> Submitted:
    """A request the help desk received, entered by ``actor`` (``<role>:<name>`` of their login):
    :func:`submit` from the day it arrived (:class:`EntryRejected` for a day in the future or too
    far back, or a letter with no address), then the entry audited with who made it. An email
    the desk took from the customer record (``found_by``, :func:`with_registered_email`) was not
    given: the request is answered by letter, and the audit says where the email came from."""
    if found_by:
        acknowledgement = Acknowledgement.LETTER
    problems = entry_problems(
        received_on,
        jst_date(now),
        acknowledgement=acknowledgement,
        postal_address=data.details.postal_address,
        channel=channel,
    )
    if problems:
        raise EntryRejected(problems)
    done = submit(
        session,
        settings,
        data,
        now=now,
        channel=str(channel),
        received_at=received_instant(received_on, now),
        acknowledgement=acknowledgement,
    )
    audit(
        session,
        settings,
        actor=actor,
        action="request.entered",
        reference=done.reference,
        now=now,
        channel=str(channel),
        received_on=received_on.isoformat(),
        acknowledgement=str(acknowledgement),
        **({"email_from": "customer_record", "found_by": list(found_by)} if found_by else {}),
    )
    return done
