"""What a requester may see of their own request, behind its status token: status, what it
waits for, due date, outcome with reasons, fee and a public timeline. Nothing here names a
person or an operator: the timeline is built from status changes only."""

import hmac
from datetime import datetime

from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.requests import Request
from models.rules.deadlines import jst_date
from models.rules.reasons import reason_info
from services.common import RequestNotFound, load_request
from services.fees import fee_of
from services.intake import token_hash

_TIMELINE = ("request.received", "request.status")


def authorised(session: Session, reference: str, token: str | None) -> Request:
    """The request, if ``token`` is its status token. An unknown reference and a wrong token
    raise the same :class:`RequestNotFound`, after the same hashing work."""
    given = token_hash(token or "")
    try:
        request = load_request(session, reference)
    except RequestNotFound:
        hmac.compare_digest(given, given)
        raise
    if not hmac.compare_digest(given, request.status_token_hash):
        raise RequestNotFound(reference)
    return request


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def public_view(session: Session, request: Request, language: str | None = None) -> dict:
    lang = language or request.language
    fee = fee_of(session, request)
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.subject_ref == request.reference, col(AuditEvent.action).in_(_TIMELINE))
        .order_by(col(AuditEvent.seq))
    )
    timeline = [
        {
            "at": _iso(e.at),
            "status": e.details.get("status", "received"),
            "waiting_for": e.details.get("waiting_for"),
        }
        for e in events
    ]
    return {
        "reference": request.reference,
        "request_type": str(request.request_type),
        "language": request.language,
        "status": str(request.status),
        "waiting_for": str(request.waiting_for) if request.waiting_for else None,
        "received_at": _iso(request.received_at),
        "due_date": jst_date(request.due_at).isoformat() if request.due_at else None,
        "outcome": str(request.outcome) if request.outcome else None,
        "reasons": [
            {"code": str(info.code), "basis": info.basis, "message": info.message}
            for info in (reason_info(code, lang, request.request_type) for code in request.reason_codes)
        ],
        "fee": None
        if fee is None
        else {
            "amount_yen": fee.amount_yen + fee.postage_yen,
            "state": fee.state,
            "due_date": jst_date(fee.due_at).isoformat(),
        },
        "closed_at": _iso(request.closed_at),
        "timeline": timeline,
    }
