"""Intake: a validated request is persisted, acknowledged and given a status token, in one
transaction, before anything else happens to it (a request is never lost)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from mail.outbox import enqueue
from models.policy import version_in_force
from models.requests import Party, Request, RequestCreate, new_reference
from models.rules.deadlines import decision_clock, jst_date
from models.rules.vocabulary import Role
from models.settings import Settings
from services.common import audit


@dataclass(frozen=True)
class Submitted:
    reference: str
    status_token: str  # shown to the requester once; only its hash is kept


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def submit(session: Session, settings: Settings, data: RequestCreate, *, now: datetime,
           channel: str = "web") -> Submitted:
    token = secrets.token_urlsafe(24)
    request = Request(
        reference=new_reference(now), request_type=data.request_type, language=data.language,
        role=data.role, status_token_hash=token_hash(token),
        details=data.details.model_dump(mode="json"), received_at=now, updated_at=now,
        due_at=decision_clock(now, now=now).due_at, policy_version=version_in_force(session, now),
    )
    session.add(request)
    session.flush()
    principal = data.principal
    session.add(Party(request_id=request.id, role=Role.PRINCIPAL, is_requester=data.requester is None,
                      **principal.model_dump()))
    if data.requester is not None:
        session.add(Party(request_id=request.id, is_requester=True, **data.requester.model_dump()))
    requester = data.requester or principal
    enqueue(session, kind="acknowledgement", language=request.language,
            recipient_email=str(requester.email), idempotency_key=f"{request.reference}:acknowledgement",
            request_id=request.id, now=now,
            context={"reference": request.reference, "request_type": str(request.request_type),
                     "received_at": jst_date(now).isoformat(),
                     "due_date": jst_date(request.due_at).isoformat()})
    audit(session, settings, actor=f"requester:{channel}", action="request.received",
          reference=request.reference, now=now, request_type=str(request.request_type),
          role=str(request.role), language=request.language)
    return Submitted(request.reference, token)
