"""The transactional outbox: notices are written with the state change that causes them and
delivered afterwards, so none is lost and none is sent twice.

States: ``pending`` → ``sending`` (claimed) → ``sent`` | ``failed`` (permanent, with SendGrid's
text) | ``suppressed`` (marketing to an opted-out address) | ``in_doubt`` (for an operator);
a notice that later bounces becomes ``undeliverable`` (``mail/webhook.py``).

Crash safety. SendGrid has no idempotency header, so a send cannot be made atomic with our
commit. Each notice is therefore *claimed* (``sending``, ``claimed_at``, ``attempts + 1``) in
its own committed transaction before the provider is called, and marked ``sent`` with the
provider's message id right after. A crash or a timeout leaves the claim behind; once it is
older than ``mail_claim_timeout_seconds`` the next run asks the provider whether it holds a
message with our ``custom_args.notice_key``:
- found → marked ``sent`` with that id (crash between send and mark-sent: no second send);
- not found → back to ``pending`` and sent (crash between claim and send: sent once);
- the provider cannot tell (SendGrid without its paid Email Activity history) → ``in_doubt``,
  audited, and left to an operator: at most once, never a silent duplicate.
Windows: a claim is in doubt for up to the claim timeout; SendGrid's activity feed lags by
seconds to minutes, so the timeout (15 min by default) must stay well above that lag.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jinja2 import TemplateError
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from mail.optout import is_opted_out, unsubscribe_url
from mail.port import (
    EmailPort,
    InDoubtSendError,
    LookupUnavailable,
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
)
from mail.render import KINDS, MARKETING_KINDS, render
from models.audit import audit_key, record
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.settings import Settings

log = logging.getLogger(__name__)
_EMAIL = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")
_PLACEHOLDERS = {"base_url": "https://example.invalid", "unsubscribe_url": "https://example.invalid/u"}


def redact(text: str) -> str:
    """Error text for logs and the audit trail: addresses removed."""
    return _EMAIL.sub("<address>", text)[:500]


def enqueue(session: Session, *, kind: str, language: str, recipient_email: str,
            idempotency_key: str, context: dict, request_id: int | None = None,
            now: datetime | None = None) -> Notice:
    """Write a notice in the caller's transaction; the same key again returns the first one.

    The context is rendered once here so that a template hole fails the caller's transaction
    instead of the delivery."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    render(kind, language, {**_PLACEHOLDERS, **context})
    values = dict(kind=kind, language=language, recipient_email=recipient_email,
                  idempotency_key=idempotency_key, context=context, request_id=request_id,
                  state="pending", attempts=0, created_at=now or utcnow())
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(Notice.__table__).values(**values)
                    .on_conflict_do_nothing(index_elements=["idempotency_key"]))
    return session.exec(select(Notice).where(Notice.idempotency_key == idempotency_key)).one()


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry_later: list[int] = field(default_factory=list)
    in_doubt: list[int] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)
    reconciled: list[int] = field(default_factory=list)


def outgoing(notice: Notice, settings: Settings) -> OutgoingMessage:
    marketing = notice.kind in MARKETING_KINDS
    context = {"base_url": settings.mail_public_base_url.rstrip("/"), **notice.context}
    unsubscribe = unsubscribe_url(settings, notice.recipient_email, notice.language) if marketing else None
    if unsubscribe:
        context["unsubscribe_url"] = unsubscribe
    rendered = render(notice.kind, notice.language, context)
    return OutgoingMessage(
        to=notice.recipient_email, subject=rendered.subject, text=rendered.text,
        html=rendered.html, idempotency_key=notice.idempotency_key, kind=notice.kind,
        language=notice.language, reference=notice.context.get("reference"),
        marketing=marketing, unsubscribe_url=unsubscribe,
        categories=("marketing" if marketing else "service",),
    )


def _subject_ref(notice: Notice) -> str:
    return str(notice.context.get("reference") or f"notice-{notice.id}")[:64]


def audit_notice(session: Session, settings: Settings, notice: Notice, action: str, now: datetime,
           **details) -> None:
    record(session, key=audit_key(settings.secret_key.get_secret_value()), at=now,
           actor="mail", action=action, subject_ref=_subject_ref(notice),
           details={"notice_id": notice.id, "kind": notice.kind, **details})


def _transition(settings: Settings, notice_id: int, from_state: str, now: datetime,
                action: str | None = None, **values) -> Notice | None:
    """Move one notice on from the state we believe it is in; ``None`` if someone else did."""
    with unit_of_work(settings) as session:
        moved = session.execute(update(Notice).where(Notice.id == notice_id, Notice.state == from_state)
                                .values(**values)).rowcount
        if not moved:
            return None
        notice = session.get(Notice, notice_id)
        if action:
            audit_notice(session, settings, notice, action, now, attempts=notice.attempts,
                   **({"error": redact(notice.last_error)} if notice.last_error else {}),
                   **({"provider_message_id": notice.provider_message_id}
                      if notice.provider_message_id else {}))
        return notice


# What a notice carries only to be read once by its recipient: a one-time code, a download
# link with its token. Kept until the provider has the message, then removed, so that the
# app database never holds a usable code or link (only their hashes live elsewhere).
SECRET_CONTEXT = ("code", "package_url")
REMOVED = "(removed after sending)"


def _mark_sent(settings: Settings, notice_id: int, message_id: str, now: datetime) -> None:
    if _transition(settings, notice_id, "sending", now, "notice.sent", state="sent",
                   provider_message_id=message_id, sent_at=now, last_error=None) is None:
        return
    with unit_of_work(settings) as session:
        notice = session.get(Notice, notice_id)
        if any(key in notice.context for key in SECRET_CONTEXT):
            notice.context = {k: REMOVED if k in SECRET_CONTEXT else v for k, v in notice.context.items()}
            session.add(notice)


def reconcile(settings: Settings, port: EmailPort, now: datetime, report: DeliveryReport) -> None:
    """Resolve claims older than the claim timeout by asking the provider (see above)."""
    cutoff = now - timedelta(seconds=settings.mail_claim_timeout_seconds)
    with unit_of_work(settings) as session:
        stale = list(session.exec(select(Notice.id, Notice.idempotency_key).where(
            Notice.state == "sending", Notice.claimed_at < cutoff)))
    for notice_id, key in stale:
        try:
            found = port.find_sent(key)
        except LookupUnavailable as exc:
            _transition(settings, notice_id, "sending", now, "notice.in_doubt", state="in_doubt",
                        last_error=f"in doubt after a claim; provider lookup unavailable: {exc}")
            report.in_doubt.append(notice_id)
            continue
        if found:
            _mark_sent(settings, notice_id, found.provider_message_id, now)
        else:
            _transition(settings, notice_id, "sending", now, state="pending", claimed_at=None)
        report.reconciled.append(notice_id)


def _claim(settings: Settings, notice_id: int, now: datetime) -> Notice | None:
    with unit_of_work(settings) as session:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.state != "pending":
            return None
        if notice.kind in MARKETING_KINDS and is_opted_out(session, notice.recipient_email):
            notice.state = "suppressed"
            return notice
        claimed = session.execute(update(Notice).where(Notice.id == notice_id, Notice.state == "pending")
                                  .values(state="sending", claimed_at=now, attempts=Notice.attempts + 1))
        if not claimed.rowcount:
            return None
        session.refresh(notice)
        return notice


def deliver_pending(settings: Settings, port: EmailPort, now: datetime | None = None,
                    limit: int = 100) -> DeliveryReport:
    """Send what is pending, oldest first; safe to run concurrently and after any crash."""
    now = now or utcnow()
    report = DeliveryReport()
    reconcile(settings, port, now, report)
    with unit_of_work(settings) as session:
        ids = list(session.exec(select(Notice.id).where(Notice.state == "pending")
                                .order_by(Notice.id).limit(limit)))
    for notice_id in ids:
        notice = _claim(settings, notice_id, now)
        if notice is None:
            continue
        if notice.state == "suppressed":
            report.suppressed.append(notice_id)
            continue
        try:
            message = outgoing(notice, settings)
        except (TemplateError, ValueError) as exc:  # e.g. a context edited after enqueue
            _transition(settings, notice_id, "sending", now, "notice.failed", state="failed",
                        last_error=f"rendering failed: {type(exc).__name__}: {exc}")
            report.failed.append(notice_id)
            continue
        try:
            result = port.send(message)
        except PermanentSendError as exc:
            _transition(settings, notice_id, "sending", now, "notice.failed", state="failed",
                        last_error=str(exc))
            report.failed.append(notice_id)
        except TransientSendError as exc:
            _transition(settings, notice_id, "sending", now, state="pending", claimed_at=None,
                        last_error=str(exc))
            report.retry_later.append(notice_id)
        except InDoubtSendError as exc:
            # Claim kept: reconcile() resolves it once the claim has timed out.
            _transition(settings, notice_id, "sending", now, last_error=str(exc))
            report.in_doubt.append(notice_id)
        else:
            _mark_sent(settings, notice_id, result.provider_message_id, now)
            report.sent.append(notice_id)
        log.info("notice %s (%s): %s", notice_id, notice.kind,
                 "sent" if notice_id in report.sent else "not sent")
    return report
