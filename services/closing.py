"""The end of a request: its final status, outcome and reasons, and the notice that tells the
requester, written in one transaction (the notice goes out through the outbox)."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from models.db import row_id
from models.fulfilment import FulfilmentAction
from models.requests import DecisionItem
from models.rules.states import ActionState
from models.rules.vocabulary import Outcome, Status
from models.settings import Settings
from services import clock, notices
from services.common import audit, load_request, move

_ITEM_OUTCOME = {"grant": "granted", "alternative": "restricted", "refuse": "refused", "not_held": "not_held"}


def notice_items(session: Session, request_id: int) -> list[dict]:
    """Per decided item: the system, the field for a correction, what became of it. A system
    an operator skipped at fulfilment reads "not carried out", not "granted"."""
    skipped = set(
        session.exec(
            select(FulfilmentAction.system_key).where(
                FulfilmentAction.request_id == request_id, FulfilmentAction.state == ActionState.SKIPPED
            )
        )
    )
    items = session.exec(
        select(DecisionItem).where(DecisionItem.request_id == request_id).order_by(col(DecisionItem.id))
    ).all()
    out = []
    for i in items:
        if not i.final_action:
            continue
        outcome = _ITEM_OUTCOME.get(i.final_action, "refused")
        if outcome == "granted" and i.system_key in skipped:
            outcome = "not_carried_out"
        field = i.item_key.partition(":")[2] or None
        out.append(
            {
                "system": i.system_key or i.item_key.partition(":")[0],
                "outcome": outcome,
                "reasons": list(i.final_reasons),
                **({"field": field} if field else {}),
            }
        )
    return out


def close(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    status: Status,
    outcome: Outcome | None,
    reasons: Sequence[str],  # ReasonCode members, or their values as a flow run's parameters carry them
    now: datetime,
    actor: str = "system",
    package: dict | None = None,
) -> None:
    """Final status, once; a re-run after the close changes nothing."""
    request = load_request(session, reference)
    if request.status in (Status.COMPLETED, Status.REFUSED, Status.WITHDRAWN, Status.CLOSED):
        return
    clock.resume(session, settings, request, now=now, notify=False)
    request.outcome, request.reason_codes, request.closed_at = outcome, [str(r) for r in reasons], now
    move(session, settings, request, status, now=now, actor=actor)
    context = {
        "reference": reference,
        "request_type": str(request.request_type),
        "outcome": str(outcome or Outcome.REFUSED),
        "reasons": [str(r) for r in reasons],
        "items": notice_items(session, row_id(request)),
    }
    if package:
        context |= package
    if status is not Status.WITHDRAWN:
        notices.send(session, settings, request, "decision", context, key=f"{reference}:decision", now=now)
    audit(
        session,
        settings,
        actor=actor,
        action="request.closed",
        reference=reference,
        now=now,
        status=str(status),
        outcome=str(outcome) if outcome else None,
        reasons=[str(r) for r in reasons],
    )
