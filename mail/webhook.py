"""SendGrid's signed event webhook: delivery results onto notices, opt-outs into the ledger.

Signatures are checked with the ``sendgrid`` package's ``EventWebhook`` (ECDSA P-256 over
timestamp + raw body, via ``cryptography``); anything unsigned or wrongly signed gets 403.
Events are matched to notices by our ``custom_args.notice_key``, else by SendGrid's message
id. Handling is idempotent, so SendGrid's redeliveries and replays change nothing twice.
A bounce or drop of a service notice makes it ``undeliverable`` and writes ``notice.bounced``
to the audit trail, which is where an operator sees that a requester did not get it.
"""

import json
import logging

from fastapi import APIRouter, Depends, HTTPException, Request
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from sqlmodel import Session, select

from mail.optout import opt_out
from mail.outbox import audit_notice
from mail.render import MARKETING_KINDS
from mail.sendgrid_adapter import CUSTOM_ARG_KEY
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.rules.states import NoticeState
from models.settings import Settings, get_settings

log = logging.getLogger(__name__)

# A later, weaker event never overwrites a stronger one (delivered after a bounce, say).
_RANK = {
    "processed": 0,
    "deferred": 1,
    "delivered": 2,
    "bounce": 3,
    "dropped": 3,
    "unsubscribe": 4,
    "group_unsubscribe": 4,
    "spamreport": 5,
}
_UNDELIVERABLE = {"bounce", "dropped"}
_OPT_OUT_EVENTS = {"unsubscribe", "group_unsubscribe", "spamreport"}

router = APIRouter(tags=["SendGrid event webhook"])


def verify(settings: Settings, body: bytes, signature: str | None, timestamp: str | None) -> bool:
    if not (settings.sendgrid_webhook_public_key and signature and timestamp):
        return False
    try:
        return EventWebhook(settings.sendgrid_webhook_public_key).verify_signature(
            body.decode("utf-8"), signature, timestamp
        )
    except (ValueError, TypeError, UnicodeDecodeError):
        return False  # malformed key, signature or body


def _find(session: Session, event: dict) -> Notice | None:
    key = event.get(CUSTOM_ARG_KEY)
    if key:
        return session.exec(select(Notice).where(Notice.idempotency_key == key)).first()
    message_id = str(event.get("sg_message_id") or "").split(".")[0]
    if message_id:
        return session.exec(select(Notice).where(Notice.provider_message_id == message_id)).first()
    return None


def apply_event(session: Session, settings: Settings, event: dict) -> None:
    kind = event.get("event")
    now = utcnow()
    if kind in _OPT_OUT_EVENTS and event.get("email"):
        # SendGrid already suppresses the address on its side: only our ledger is updated.
        opt_out(session, event["email"], f"sendgrid_{kind}", now, settings=settings, suppress=False)
    notice = _find(session, event)
    if notice is None or kind not in _RANK:
        return
    if _RANK[kind] <= _RANK.get(notice.delivery_status or "", -1):
        return
    notice.delivery_status = kind
    session.add(notice)
    if kind in _UNDELIVERABLE and notice.kind not in MARKETING_KINDS:
        notice.state = NoticeState.UNDELIVERABLE
        notice.last_error = f"{kind}: {event.get('reason') or event.get('type') or ''}"[:500]
        audit_notice(session, settings, notice, "notice.bounced", now, event=kind)


@router.post("/webhooks/sendgrid")
async def sendgrid_events(request: Request, settings: Settings = Depends(get_settings)):
    body = await request.body()
    signature = request.headers.get(EventWebhookHeader.SIGNATURE)
    if not verify(settings, body, signature, request.headers.get(EventWebhookHeader.TIMESTAMP)):
        raise HTTPException(status_code=403, detail="invalid signature")
    try:
        events = json.loads(body)
    except ValueError:
        raise HTTPException(status_code=400, detail="body is not JSON") from None
    if not isinstance(events, list):
        raise HTTPException(status_code=400, detail="expected a JSON array of events")
    with unit_of_work(settings) as session:
        for event in events:
            if isinstance(event, dict):
                apply_event(session, settings, event)
    log.info("sendgrid webhook: %d events", len(events))
    return {"received": len(events)}
