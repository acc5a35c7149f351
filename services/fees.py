"""The fee (Art. 38): asked for once the decision is known, only for purpose notification and
disclosure, never for a refusal; payment confirmed by an operator or a payment provider."""

from datetime import datetime

from sqlmodel import Session, select

from models.db import row_id
from models.requests import DecisionItem, Fee, Payment, Request
from models.rules.deadlines import jst_date
from models.rules.fees import fee_for
from models.rules.states import FeeState
from models.rules.vocabulary import Delivery, Outcome, Status, WaitingFor
from models.settings import Settings
from services import clock, notices
from services.common import audit, load_request, move


def fee_of(session: Session, request: Request) -> Fee | None:
    return session.exec(select(Fee).where(Fee.request_id == request.id)).first()


def _disclosed_systems(session: Session, request: Request) -> int:
    """The systems the decision grants: each is pages of the package (the postage estimate)."""
    granted = session.exec(
        select(DecisionItem.system_key).where(
            DecisionItem.request_id == request.id, DecisionItem.final_action == "grant"
        )
    )
    return len({key for key in granted if key})


def request_fee(
    session: Session, settings: Settings, reference: str, *, outcome: Outcome, now: datetime
) -> Fee | None:
    """Ask for the fee if one is due; returns the fee (new or earlier), or None when free."""
    request = load_request(session, reference)
    if (fee := fee_of(session, request)) is not None:
        return fee
    quote = fee_for(
        request.request_type,
        Delivery(request.details.get("delivery", "electronic")),
        refused=outcome == Outcome.REFUSED,
        disclosed_systems=_disclosed_systems(session, request),
    )
    if not quote.payable:
        return None
    pause = clock.pause(session, settings, request, WaitingFor.PAYMENT, now=now)
    fee = Fee(
        request_id=row_id(request),
        amount_yen=quote.amount_yen,
        postage_yen=quote.postage_yen,
        requested_at=now,
        due_at=pause.deadline_at,
    )
    session.add(fee)
    notices.send(
        session,
        settings,
        request,
        "fee_request",
        {
            "reference": reference,
            "request_type": str(request.request_type),
            "amount_yen": quote.total_yen,
            "fee_yen": quote.amount_yen,
            "postage_yen": quote.postage_yen,
            "deadline": jst_date(fee.due_at).isoformat(),
            "payment_url": f"{settings.mail_public_base_url}/requests/{reference}/payment",
        },
        key=f"{reference}:fee_request",
        now=now,
    )
    move(session, settings, request, Status.AWAITING_REQUESTER, now=now, waiting_for=WaitingFor.PAYMENT)
    audit(
        session,
        settings,
        actor="system",
        action="request.fee.requested",
        reference=reference,
        now=now,
        amount_yen=quote.total_yen,
    )
    return fee


def confirm_payment(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    actor: str,
    method: str,
    provider_ref: str | None = None,
    now: datetime,
) -> Fee:
    """Record the payment once (a provider's reference is unique); the clock runs again."""
    request = load_request(session, reference)
    fee = fee_of(session, request)
    if fee is None:
        raise LookupError(f"{reference}: no fee was asked for")
    if fee.state != FeeState.PAID:
        session.add(
            Payment(
                fee_id=row_id(fee),
                amount_yen=fee.amount_yen + fee.postage_yen,
                method=method,
                provider_ref=provider_ref,
                confirmed_by=actor,
                paid_at=now,
            )
        )
        fee.state = FeeState.PAID
        session.add(fee)
        clock.resume(session, settings, request, now=now)
        move(session, settings, request, Status.FULFILMENT, now=now, actor=actor)
        audit(
            session,
            settings,
            actor=actor,
            action="request.fee.paid",
            reference=reference,
            now=now,
            method=method,
        )
    return fee
