"""A notice to the requester: an email through the outbox (mail/outbox.py) or a letter the help
desk prints and posts (services/letters.py), decided here once for every notice of a request,
both written under the notice's idempotency key from the same template (mail/render.py).

A request the help desk acknowledged by letter (issue 15: a requester without email, or who
asked for post) is answered by letter throughout; a decision whose data goes by post is a
letter, which the printed package goes with. A one-time code lives ten minutes: it is only
ever an email (the postal and phone routes of identity need none)."""

from datetime import datetime

from sqlmodel import Session, col, select

from mail.outbox import enqueue
from models.db import unit_of_work
from models.letters import Letter, letter_key
from models.requests import Request
from models.rules.vocabulary import Delivery
from models.settings import Settings
from services import letters
from services.common import requester_of

EMAIL_ONLY = frozenset({"one_time_code"})
# The letters a request's run waits to see posted: those that ask the requester something or
# end the request. The registered result of identity by post (services/identity.py) is not.
AWAITED = frozenset(
    {"acknowledgement", "documents_needed", "clarification_request", "fee_request", "decision"}
)


def by_letter(session: Session, request: Request, kind: str) -> bool:
    """Whether the notice ``kind`` of ``request`` goes as a letter."""
    if kind in EMAIL_ONLY:
        return False
    if kind == "decision" and request.details.get("delivery") == Delivery.POSTAL:
        return True
    acknowledged = letter_key(request.reference, "acknowledgement")
    return session.exec(select(Letter.id).where(Letter.idempotency_key == acknowledged)).first() is not None


def send(
    session: Session,
    settings: Settings,
    request: Request,
    kind: str,
    context: dict,
    *,
    key: str,
    now: datetime,
) -> None:
    """Write the notice in the caller's transaction, once per ``key``, as :func:`by_letter` says."""
    if by_letter(session, request, kind):
        letters.write(session, settings, request, kind, context, now=now, notice_key=key)
        return
    enqueue(
        session,
        kind=kind,
        language=request.language,
        recipient_email=requester_of(session, request).email,
        idempotency_key=key,
        request_id=request.id,
        now=now,
        context=context,
    )


def letter_to_post(settings: Settings, reference: str) -> int | None:
    """The request's first letter of :data:`AWAITED` not posted yet, which its run waits for; a
    whole transaction, as the flow's steps of services/lifecycle.py."""
    with unit_of_work(settings) as session:
        return session.exec(
            select(Letter.id)
            .join(Request, col(Request.id) == Letter.request_id)
            .where(
                Request.reference == reference, col(Letter.kind).in_(AWAITED), col(Letter.sent_at).is_(None)
            )
            .order_by(col(Letter.id))
        ).first()
