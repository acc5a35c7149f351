"""Letters the help desk prints and posts (models/letters.py). One is written with the change
that causes it, under its idempotency key, like an email in the outbox; it waits on the work
queue as 「印刷待ちの書面」 until someone marks it sent. The PDF (mail/letter.py) is made when it
is printed, with the requester's name and address read from the request then, so they are kept
nowhere else; printing and posting are audited with the person's name.

Which notices go as letters is services/notices.py's to decide. What a letter carries for its
reader only (the status token of an acknowledgement, who has no other way to learn it; a
decision's download link) is sealed with the secret key (disclosure/crypto.py, the reference
as authenticated data) until the letter is posted, then forgotten, like a one-time code in
the outbox."""

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from disclosure.crypto import seal, unseal
from disclosure.download import printable_package
from mail.letter import letter_pdf
from mail.render import render_letter
from models.db import table_of
from models.letters import Letter, letter_key
from models.requests import Request
from models.rules.deadlines import jst_date
from models.rules.registered_mail import REGISTERED_KINDS, tracking_number
from models.settings import Settings
from services.common import audit, requester_of


@dataclass(frozen=True)
class Printed:
    filename: str
    data: bytes


SEALED = {"status_token": "sealed_status_token", "package_url": "sealed_package_url"}  # secret: its key


def write(
    session: Session,
    settings: Settings,
    request: Request,
    kind: str,
    context: dict,
    *,
    now: datetime,
    status_token: str | None = None,
    notice_key: str | None = None,
) -> Letter:
    """Write a letter in the caller's transaction; the same key (``notice_key``, the email's
    key, by default ``<reference>:<kind>``) again returns the first one. Its text is rendered
    once here, so a hole in the template fails the caller, not the printing."""
    render_letter(
        kind,
        request.language,
        {
            "status_token": status_token,
            **context,
            "dated": jst_date(now),
            "name": "-",
            "postal_address": "-",
            "base_url": "-",
        },
    )
    secrets = {
        name: value for name, value in {**context, "status_token": status_token}.items() if name in SEALED
    }
    context = {name: value for name, value in context.items() if name not in SEALED} | {
        SEALED[name]: base64.b64encode(seal(settings, request.reference, value.encode())).decode()
        for name, value in secrets.items()
        if value is not None
    }
    key = f"{notice_key}:letter" if notice_key else letter_key(request.reference, kind)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(table_of(Letter))
        .values(request_id=request.id, kind=kind, idempotency_key=key, context=context, created_at=now)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return session.exec(select(Letter).where(Letter.idempotency_key == key)).one()


def to_print(session: Session) -> list[tuple[Letter, str]]:
    """Letters not marked sent, oldest first, with their request's reference."""
    return list(
        session.exec(
            select(Letter, Request.reference)
            .join(Request, col(Request.id) == Letter.request_id)
            .where(col(Letter.sent_at).is_(None))
            .order_by(col(Letter.id))
        ).all()
    )


def printed(
    session: Session, settings: Settings, letter_id: int, *, actor: str, now: datetime
) -> Printed | None:
    """The letter as a PDF to print (None: no such letter), dated today; audited."""
    found = session.get(Letter, letter_id)
    if found is None:
        return None
    request = session.get_one(Request, found.request_id)
    requester = requester_of(session, request)
    context = {
        **found.context,
        "dated": jst_date(now),
        "name": requester.name,
        "postal_address": request.details.get("postal_address") or "",
        "base_url": settings.mail_public_base_url.rstrip("/"),
    }
    for name, sealed in SEALED.items():
        if sealed in context:
            context[name] = unseal(
                settings, request.reference, base64.b64decode(context.pop(sealed))
            ).decode()
    data = letter_pdf(found.kind, request.language, context, reference=request.reference)
    audit(
        session,
        settings,
        actor=actor,
        action="letter.printed",
        reference=request.reference,
        now=now,
        kind=found.kind,
        letter_id=found.id,
    )
    return Printed(f"{request.reference}-{found.kind}.pdf", data)


def enclosure(
    session: Session, settings: Settings, letter_id: int, *, actor: str, now: datetime
) -> Printed | None:
    """The disclosure package as a PDF to print and post with its decision letter, when the
    data goes by post (None: no such letter, or it encloses nothing); audited."""
    found = session.get(Letter, letter_id)
    if found is None or not found.context.get("package_posted"):
        return None
    request = session.get_one(Request, found.request_id)
    data = printable_package(session, settings, request.reference)
    if data is None:
        return None
    audit(
        session,
        settings,
        actor=actor,
        action="package.printed",
        reference=request.reference,
        now=now,
        letter_id=found.id,
    )
    return Printed(f"{request.reference}-package.pdf", data)


class TrackingNumberMissing(ValueError):
    """A registered letter is marked sent with Japan Post's tracking number (11 to 13 digits)."""


def mark_sent(
    session: Session,
    settings: Settings,
    letter_id: int,
    *,
    actor: str,
    now: datetime,
    tracking: str | None = None,
) -> bool | None:
    """Record that the letter was posted, with the tracking number of a registered one
    (:class:`TrackingNumberMissing` without it), and forget its status token (None: no such
    letter; False: it already was)."""
    found = session.get(Letter, letter_id)
    if found is None:
        return None
    if found.sent_at is not None:
        return False
    number = tracking_number(tracking) if found.kind in REGISTERED_KINDS else None
    if found.kind in REGISTERED_KINDS and number is None:
        raise TrackingNumberMissing("a registered letter needs its tracking number (11 to 13 digits)")
    found.sent_at, found.sent_by, found.tracking_number = now, actor, number
    found.context = {k: v for k, v in found.context.items() if k not in SEALED.values()}
    session.add(found)
    reference = session.get_one(Request, found.request_id).reference
    audit(
        session,
        settings,
        actor=actor,
        action="letter.sent",
        reference=reference,
        now=now,
        kind=found.kind,
        letter_id=found.id,
        tracking_number=number,
    )
    return True


def queue_rows(session: Session, *, ui_url: str) -> list[dict]:
    """The work queue's rows (services/sla_report.py columns) for letters still to print and post;
    the link is the help desk's page of letters on the gate."""
    return [
        {
            "受付番号": reference,
            "種別": f"書面 {letter.kind}",
            "状態": "印刷待ちの書面",
            "待ち": "",
            "回答期限": "",
            "残り": f"{jst_date(letter.created_at):%Y-%m-%d} 作成",
            "フロー実行": f"{ui_url}/desk/letters",
        }
        for letter, reference in to_print(session)
    ]
