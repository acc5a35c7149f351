"""Marketing opt-out (特定電子メール法, policy §5.3): the signed unsubscribe link, the form API,
the consent ledger and SendGrid's unsubscribe group.

The token is ``base64url(address).<key id>.base64url(HMAC-SHA256)`` under a key derived from
the secret key the id names, so a link keeps working after a key rotation. It never
expires: the law wants the link in every advertising mail to keep working, and all a token
can do is stop advertising to its own address. It does carry the address (encoded, not
encrypted), so the intake app must keep query strings out of its access log. Service notices (orders, requests, important or urgent notices) never look at
the ledger and never use the unsubscribe group.
"""

import base64
import binascii
import calendar
import hashlib
import hmac
import logging
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, EmailStr
from sqlalchemy import event, func, or_, update
from sqlmodel import Session, col, select

from mail.port import SendError
from mail.render import render_page
from models.db import unit_of_work, utcnow
from models.ledgers import ConsentEvent
from models.settings import Settings, UnknownKey, get_settings

log = logging.getLogger(__name__)


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"madoguchi-unsubscribe:" + secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(settings: Settings, email: str) -> str:
    address = email.strip().lower().encode()
    signature = hmac.new(_key(settings.secret), address, hashlib.sha256).digest()
    return f"{_b64(address)}.{settings.key_id}.{_b64(signature)}"


def read_token(settings: Settings, token: str) -> str | None:
    """The address a token was made for, or ``None`` if it was not made by us."""
    try:
        encoded, kid, signature = token.split(".")
        address = _unb64(encoded)
        expected = hmac.new(_key(settings.secret_for(kid)), address, hashlib.sha256).digest()
        return address.decode() if hmac.compare_digest(expected, _unb64(signature)) else None
    except (ValueError, binascii.Error, UnicodeDecodeError, UnknownKey):
        return None


def unsubscribe_url(settings: Settings, email: str, language: str = "ja") -> str:
    base = settings.mail_public_base_url.rstrip("/")
    return f"{base}/unsubscribe?token={make_token(settings, email)}&lang={language}"


def one_month_after(moment: datetime) -> datetime:
    """Same day next month, or that month's last day (31 Jan → 28/29 Feb)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _latest(session: Session, email: str) -> ConsentEvent | None:
    query = (
        select(ConsentEvent)
        .where(func.lower(ConsentEvent.email) == email.strip().lower(), ConsentEvent.purpose == "marketing")
        .order_by(col(ConsentEvent.at).desc(), col(ConsentEvent.id).desc())
        .limit(1)
    )
    return session.exec(query).first()


def is_opted_out(session: Session, email: str) -> bool:
    latest = _latest(session, email)
    return latest is not None and latest.event == "opted_out"


def _suppress_after_commit(settings: Settings, group_id: int, email: str) -> None:
    from mail.sendgrid_adapter import SendGridAdapter

    try:
        SendGridAdapter(settings).suppress(group_id, email)
    except SendError as exc:
        # The ledger already stops our own sends; the next opt-out of this address retries.
        log.warning("unsubscribe group not updated: %s", type(exc).__name__)


def opt_out(
    session: Session, email: str, source: str, now: datetime, *, settings: Settings, suppress: bool = True
) -> bool:
    """Record the opt-out in the caller's transaction; after it commits, add the address to
    SendGrid's unsubscribe group. True when this call recorded a new opt-out."""
    email = email.strip().lower()
    keep_until = one_month_after(now)
    recorded = not is_opted_out(session, email)
    if recorded:
        session.add(
            ConsentEvent(email=email, event="opted_out", source=source, at=now, keep_until=keep_until)
        )
        # Sending stops now: the earlier consent records are kept a month from here too.
        session.execute(
            update(ConsentEvent)
            .where(
                func.lower(ConsentEvent.email) == email,
                or_(col(ConsentEvent.keep_until).is_(None), col(ConsentEvent.keep_until) < keep_until),
            )
            .values(keep_until=keep_until)
        )
    configured = settings.sendgrid_api_key or settings.sendgrid_api_key_block
    if suppress and configured and (group_id := settings.sendgrid_unsubscribe_group_id) is not None:
        event.listen(
            session, "after_commit", lambda _s: _suppress_after_commit(settings, group_id, email), once=True
        )
    return recorded


class OptOutIn(BaseModel):
    email: EmailStr


router = APIRouter(tags=["marketing opt-out"])


def _unsubscribe(settings: Settings, token: str, source: str, language: str) -> str | None:
    email = read_token(settings, token)
    if email is None:
        return None
    from mail.outbox import enqueue

    now = utcnow()
    with unit_of_work(settings) as session:
        if opt_out(session, email, source, now, settings=settings):
            # Only a link from our own mail proves the address: the form sends no mail.
            enqueue(
                session,
                kind="opt_out_confirmation",
                language=language,
                recipient_email=email,
                idempotency_key=f"opt_out_confirmation:{token.rsplit('.', 1)[1][:24]}:{now:%Y%m%d%H%M%S}",
                context={},
                now=now,
            )
    return email


@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(
    token: str = Query(default=""),
    lang: Literal["ja", "en"] = "ja",
    settings: Settings = Depends(get_settings),
):
    ok = _unsubscribe(settings, token, "unsubscribe_link", lang) is not None
    page = render_page("unsubscribe", {"ok": ok, "base_url": settings.mail_public_base_url.rstrip("/")})
    return HTMLResponse(page, status_code=200 if ok else 400)


@router.post("/unsubscribe", status_code=200)
def one_click_unsubscribe(
    token: str = Query(default=""),
    lang: Literal["ja", "en"] = "ja",
    settings: Settings = Depends(get_settings),
):
    """RFC 8058 one-click unsubscribe, posted by mail clients from ``List-Unsubscribe``."""
    return {"status": "unsubscribed" if _unsubscribe(settings, token, "one_click", lang) else "invalid"}


@router.post("/api/opt-out", status_code=202)
def api_opt_out(body: OptOutIn, settings: Settings = Depends(get_settings)):
    """Always 202 with the same body: the answer says nothing about whether we know the address."""
    with unit_of_work(settings) as session:
        opt_out(session, str(body.email), "opt_out_form", utcnow(), settings=settings)
    return {"status": "accepted"}
