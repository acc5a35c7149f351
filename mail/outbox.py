"""The transactional outbox: notices are written with the state change that causes them and
delivered afterwards, so none is lost and none is sent twice.

States: ``pending`` → ``sending`` (claimed) → ``sent`` | ``failed`` (permanent, with SendGrid's
text, or temporary failures past ``sendgrid_max_attempts``) | ``suppressed`` (marketing to an
opted-out address) | ``in_doubt`` (for an operator); a notice that later bounces becomes
``undeliverable`` (``mail/webhook.py``). A one-time code or download link is removed from the
notice's context as it reaches any final state. A failed notice is on the work queue
(services/sla_report.py) and the privacy officer is told once.

Temporary failures (429, 5xx, a connection refused) put the notice back to ``pending`` with a
``next_attempt_at`` (exponential backoff with jitter, ``Retry-After`` honoured, capped); one
call never waits for SendGrid beyond its timeout, stops at the first temporary failure and
claims nothing new after ``mail_delivery_budget_seconds``: delivery never holds up dispatch.

Crash safety. SendGrid has no idempotency header, so a send cannot be made atomic with our
commit. Each notice is therefore *claimed* (``sending``, ``claimed_at``, ``attempts + 1``) in
its own committed transaction, by a conditional update (so concurrent callers, threads or
processes, never both claim it), before the provider is called, and marked ``sent`` with the
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
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jinja2 import TemplateError
from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

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
from models.db import non_null, row_id, table_of, unit_of_work, utcnow
from models.fulfilment import Notice
from models.policy import version_in_force
from models.requests import Request
from models.rules.deadlines import jst_date
from models.rules.states import NoticeState
from models.settings import Settings

log = logging.getLogger(__name__)
_EMAIL = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")
_PLACEHOLDERS = {"base_url": "https://example.invalid", "unsubscribe_url": "https://example.invalid/u"}


def redact(text: str) -> str:
    """Error text for logs and the audit trail: addresses removed."""
    return _EMAIL.sub("<address>", text)[:500]


def enqueue(
    session: Session,
    *,
    kind: str,
    language: str,
    recipient_email: str,
    idempotency_key: str,
    context: dict,
    request_id: int | None = None,
    now: datetime | None = None,
) -> Notice:
    """Write a notice in the caller's transaction; the same key again returns the first one.
    It records the privacy policy version in force when it was written.

    The context is rendered once here so that a template hole fails the caller's transaction
    instead of the delivery."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    render(kind, language, {**_PLACEHOLDERS, **context})
    now = now or utcnow()
    values = {
        "kind": kind,
        "language": language,
        "recipient_email": recipient_email,
        "idempotency_key": idempotency_key,
        "context": context,
        "request_id": request_id,
        "state": NoticeState.PENDING,
        "attempts": 0,
        "created_at": now,
        "policy_version": version_in_force(session, now),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(table_of(Notice))
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
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
        to=notice.recipient_email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        idempotency_key=notice.idempotency_key,
        kind=notice.kind,
        language=notice.language,
        reference=notice.context.get("reference"),
        marketing=marketing,
        unsubscribe_url=unsubscribe,
        categories=("marketing" if marketing else "service",),
    )


def notice_ref(notice: Notice) -> str:
    """What a notice is filed under in the audit trail and the work queue: its reference."""
    return str(notice.context.get("reference") or f"notice-{notice.id}")[:64]


def audit_notice(
    session: Session, settings: Settings, notice: Notice, action: str, now: datetime, **details
) -> None:
    record(
        session,
        key=audit_key(settings.secret),
        at=now,
        actor="mail",
        action=action,
        subject_ref=notice_ref(notice),
        details={"notice_id": notice.id, "kind": notice.kind, **details},
    )


# What a notice carries only to be read once by its recipient: a one-time code, a download
# link with its token. Removed as the notice reaches a final state (sent or not), so that the
# app database never keeps a usable code or link (only their hashes live elsewhere).
SECRET_CONTEXT = ("code", "package_url")
REMOVED = "(removed)"
FINAL_STATES = frozenset(
    {
        NoticeState.SENT,
        NoticeState.FAILED,
        NoticeState.SUPPRESSED,
        NoticeState.IN_DOUBT,
        NoticeState.UNDELIVERABLE,
    }
)
NOTICE_FAILED = "notice_failed"  # the escalation the privacy officer gets


def _due(now: datetime):
    return or_(col(Notice.next_attempt_at).is_(None), col(Notice.next_attempt_at) <= now)


def next_attempt_at(settings: Settings, attempts: int, now: datetime, retry_after: float | None) -> datetime:
    """Exponential backoff after the ``attempts``-th try, with jitter so that notices failed
    together do not all come back together; never sooner than SendGrid's Retry-After, never
    later than the cap."""
    wait = settings.sendgrid_backoff_seconds * 2 ** (attempts - 1) * random.uniform(0.5, 1.0)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return now + timedelta(seconds=min(wait, settings.sendgrid_max_backoff_seconds))


def work_queue_url(settings: Settings) -> str:
    return f"{settings.prefect_ui_url}/artifacts/key/work-queue"


def _escalate(session: Session, settings: Settings, notice: Notice, now: datetime) -> bool:
    """Tell the privacy officer once (outbox key) that a notice could not be sent; not when the
    failed notice was theirs: that mail would fail the same way (the work queue shows it)."""
    if notice.recipient_email == settings.mail_privacy_officer_email:
        return False
    context = {
        "reference": notice_ref(notice),
        "escalation": NOTICE_FAILED,
        "notice_kind": notice.kind,
        "attempts": notice.attempts,
        "ui_url": work_queue_url(settings),
    }
    request = session.get(Request, notice.request_id) if notice.request_id else None
    if request is not None:
        context["status"] = str(request.status)
        if request.due_at:
            context["due_date"] = jst_date(request.due_at).isoformat()
    enqueue(
        session,
        kind="privacy_officer_escalation",
        language="ja",
        recipient_email=settings.mail_privacy_officer_email,
        idempotency_key=f"notice:{notice.id}:failed",
        context=context,
        request_id=notice.request_id,
        now=now,
    )
    return True


def _transition(
    settings: Settings,
    notice_id: int,
    from_state: NoticeState,
    now: datetime,
    action: str | None = None,
    *,
    where=(),
    **values,
) -> Notice | None:
    """Move one notice on from the state we believe it is in, in one transaction with its audit
    event, the removal of its secrets (final states) and the officer's escalation (failed);
    ``None`` if someone else moved it first."""
    with unit_of_work(settings) as session:
        moved = session.exec(
            update(Notice)
            .where(col(Notice.id) == notice_id, col(Notice.state) == from_state, *where)
            .values(**values)
        ).rowcount
        if not moved:
            return None
        notice = session.get_one(Notice, notice_id)
        if notice.state in FINAL_STATES and any(key in notice.context for key in SECRET_CONTEXT):
            notice.context = {k: REMOVED if k in SECRET_CONTEXT else v for k, v in notice.context.items()}
            session.add(notice)
        escalated = notice.state == NoticeState.FAILED and _escalate(session, settings, notice, now)
        if action:
            audit_notice(
                session,
                settings,
                notice,
                action,
                now,
                attempts=notice.attempts,
                **({"error": redact(notice.last_error)} if notice.last_error else {}),
                **({"provider_message_id": notice.provider_message_id} if notice.provider_message_id else {}),
                **(
                    {"next_attempt_at": notice.next_attempt_at.isoformat()}
                    if notice.state == NoticeState.PENDING and notice.next_attempt_at
                    else {}
                ),
                **({"escalated": True} if escalated else {}),
            )
        return notice


def _mark_sent(settings: Settings, notice_id: int, message_id: str, now: datetime) -> None:
    _transition(
        settings,
        notice_id,
        NoticeState.SENDING,
        now,
        "notice.sent",
        state=NoticeState.SENT,
        provider_message_id=message_id,
        sent_at=now,
        last_error=None,
        next_attempt_at=None,
    )


def reconcile(
    settings: Settings, port: EmailPort, now: datetime, report: DeliveryReport, deadline: float = float("inf")
) -> None:
    """Resolve claims older than the claim timeout by asking the provider (see above)."""
    cutoff = now - timedelta(seconds=settings.mail_claim_timeout_seconds)
    with unit_of_work(settings) as session:
        stale = list(
            session.exec(
                select(non_null(Notice.id), Notice.idempotency_key).where(
                    Notice.state == NoticeState.SENDING, col(Notice.claimed_at) < cutoff
                )
            )
        )
    for notice_id, key in stale:
        if time.monotonic() >= deadline:
            return
        try:
            found = port.find_sent(key)
        except LookupUnavailable as exc:
            _transition(
                settings,
                notice_id,
                NoticeState.SENDING,
                now,
                "notice.in_doubt",
                state=NoticeState.IN_DOUBT,
                last_error=f"in doubt after a claim; provider lookup unavailable: {exc}",
            )
            report.in_doubt.append(notice_id)
            continue
        if found:
            _mark_sent(settings, notice_id, found.provider_message_id, now)
        else:
            _transition(
                settings, notice_id, NoticeState.SENDING, now, state=NoticeState.PENDING, claimed_at=None
            )
        report.reconciled.append(notice_id)


def _claim(settings: Settings, notice_id: int, now: datetime) -> Notice | None:
    """The notice, ours to send (``sending``) or ``suppressed``; ``None`` if another caller
    took it or it is not due."""
    with unit_of_work(settings) as session:
        notice = session.get(Notice, notice_id)
        opted_out = (
            notice is not None
            and notice.kind in MARKETING_KINDS
            and is_opted_out(session, notice.recipient_email)
        )
    if opted_out:
        return _transition(
            settings, notice_id, NoticeState.PENDING, now, where=(_due(now),), state=NoticeState.SUPPRESSED
        )
    return _transition(
        settings,
        notice_id,
        NoticeState.PENDING,
        now,
        where=(_due(now),),
        state=NoticeState.SENDING,
        claimed_at=now,
        attempts=Notice.attempts + 1,
    )


def deliver_pending(
    settings: Settings, port: EmailPort, now: datetime | None = None, limit: int = 100
) -> DeliveryReport:
    """Send what is pending and due, oldest first; bounded (``limit``, the time budget, the
    first temporary failure ends the call); safe to run concurrently and after any crash."""
    now = now or utcnow()
    deadline = time.monotonic() + settings.mail_delivery_budget_seconds
    report = DeliveryReport()
    reconcile(settings, port, now, report, deadline)
    with unit_of_work(settings) as session:
        ids = list(
            session.exec(
                select(non_null(Notice.id))
                .where(Notice.state == NoticeState.PENDING, _due(now))
                .order_by(col(Notice.id))
                .limit(limit)
            )
        )
    for notice_id in ids:
        if time.monotonic() >= deadline:
            break
        notice = _claim(settings, notice_id, now)
        if notice is None:
            continue
        if notice.state == NoticeState.SUPPRESSED:
            report.suppressed.append(notice_id)
            continue
        outcome = _send(settings, port, notice, now, report)
        log.info("notice %s (%s), try %s: %s", notice_id, notice.kind, notice.attempts, outcome)
        if outcome == "retry_later":
            break  # SendGrid is struggling: the rest waits for the next call
    return report


def _send(settings: Settings, port: EmailPort, notice: Notice, now: datetime, report: DeliveryReport) -> str:
    """One try of a claimed notice; what became of it, as the report's field name."""
    try:
        message = outgoing(notice, settings)
    except (TemplateError, ValueError) as exc:  # e.g. a context edited after enqueue
        return _settle(
            settings,
            notice,
            now,
            report,
            "failed",
            state=NoticeState.FAILED,
            last_error=f"rendering failed: {type(exc).__name__}: {exc}",
        )
    try:
        result = port.send(message)
    except PermanentSendError as exc:
        return _settle(settings, notice, now, report, "failed", state=NoticeState.FAILED, last_error=str(exc))
    except TransientSendError as exc:
        if notice.attempts >= settings.sendgrid_max_attempts:
            return _settle(
                settings,
                notice,
                now,
                report,
                "failed",
                state=NoticeState.FAILED,
                last_error=f"gave up after {notice.attempts} tries: {exc}",
            )
        return _settle(
            settings,
            notice,
            now,
            report,
            "retry_later",
            state=NoticeState.PENDING,
            claimed_at=None,
            last_error=str(exc),
            next_attempt_at=next_attempt_at(settings, notice.attempts, now, exc.retry_after),
        )
    except InDoubtSendError as exc:
        # Claim kept: reconcile() resolves it once the claim has timed out.
        return _settle(settings, notice, now, report, "in_doubt", last_error=str(exc))
    _mark_sent(settings, row_id(notice), result.provider_message_id, now)
    report.sent.append(row_id(notice))
    return "sent"


_ACTIONS = {"failed": "notice.failed", "retry_later": "notice.retry", "in_doubt": "notice.no_answer"}


def _settle(
    settings: Settings, notice: Notice, now: datetime, report: DeliveryReport, outcome: str, **values
) -> str:
    """Record the outcome of a try (audited) and report it."""
    _transition(settings, row_id(notice), NoticeState.SENDING, now, _ACTIONS[outcome], **values)
    getattr(report, outcome).append(notice.id)
    return outcome
