"""Feasibility review (docs/product.md §1 step 3): the pre-screen proposes a decision per item,
the operator confirms or changes it, and the privacy officer signs off every refusal or
partial refusal. What leaves this module for the operator (``ProposalSummary``, its Markdown)
carries references, counts and codes only: no personal data."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from models.db import row_id
from models.requests import DecisionItem, Request
from models.rules.decisions import Item, ItemAction, decision_problems, outcome_of, outcome_reasons
from models.rules.prescreen import prescreen
from models.rules.vocabulary import Outcome, ReasonCode, RequestType, SystemAction
from models.settings import Settings
from services.common import audit, load_request
from services.review_facts import gather_facts
from systems.registry import Registry

# What a grant asks of a system when the operator turns another proposal into a grant;
# disclosure and purpose notification are answered by the package, not by a system action.
GRANT_ACTIONS: dict[RequestType, SystemAction | None] = {
    RequestType.ERASURE: SystemAction.ERASE,
    RequestType.SUSPENSION: SystemAction.RESTRICT,
    RequestType.STOP_THIRD_PARTY_PROVISION: SystemAction.STOP_PROVISION,
    RequestType.CORRECTION: SystemAction.RECTIFY,
    RequestType.DISCLOSURE: None,
    RequestType.PURPOSE_NOTIFICATION: None,
}
# Answers that need no sign-off: everything else is a (partial) refusal (docs/product.md §1.3).
PLAIN = frozenset({ItemAction.GRANT, ItemAction.NOT_HELD})


class DecisionInvalid(ValueError):
    """The operator's decision is not acceptable; nothing was written.
    ``problems`` maps item keys to messages that hold codes and keys only."""

    def __init__(self, problems: dict[str, list[str]]):
        super().__init__(f"invalid decision for {sorted(problems)}")
        self.problems = problems


class NotDecided(RuntimeError):
    """Some item has no final decision yet (the operator has not reviewed, or was sent back)."""


class SummaryItem(BaseModel):
    item_key: str
    system_key: str | None
    system_name_ja: str | None
    system_name_en: str | None
    record_count: int
    proposed_action: ItemAction
    system_action: SystemAction | None
    reasons: list[ReasonCode]


class ProposalSummary(BaseModel):
    """What the operator sees of the pre-screen; safe for Prefect artifacts and results."""

    reference: str
    request_type: RequestType
    outcome: Outcome
    reasons: list[ReasonCode]
    items: list[SummaryItem]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[ReasonCode, ...]
    needs_approval: bool


def items_of(session: Session, request: Request) -> list[DecisionItem]:
    return list(
        session.exec(
            select(DecisionItem).where(DecisionItem.request_id == request.id).order_by(col(DecisionItem.id))
        )
    )


def propose(
    session: Session, settings: Settings, reference: str, *, registry: Registry, now: datetime
) -> ProposalSummary:
    """Run the pre-screen and store one item per proposal. Re-runnable: a proposal refreshes
    undecided items only, and an item the operator already decided keeps its decision."""
    request = load_request(session, reference)
    facts, counts = gather_facts(session, request, registry=registry)
    proposal = prescreen(facts)
    stored = {row.item_key: row for row in items_of(session, request)}
    for item in proposal.items:
        row = stored.pop(item.key, None) or DecisionItem(
            request_id=row_id(request), item_key=item.key, proposed_action=item.action
        )
        if row.final_action is None:
            row.system_key, row.proposed_action = item.system_key, str(item.action)
            row.proposed_reasons = [str(c) for c in item.reasons]
            row.system_action = str(item.system_action) if item.system_action else None
            row.record_count = counts.get(item.system_key, 0) if item.system_key else 0
            row.paper_instead = item.paper_instead
            session.add(row)
    for stale in stored.values():  # no longer proposed (the systems changed meanwhile)
        if stale.final_action is None:
            session.delete(stale)
    session.flush()
    summary = _summary(session, request, registry)
    audit(
        session,
        settings,
        actor="prescreen",
        action="request.review.proposed",
        reference=reference,
        now=now,
        outcome=str(summary.outcome),
        reasons=[str(c) for c in summary.reasons],
        items={i.item_key: i.proposed_action.value for i in summary.items},
    )
    return summary


def _summary(session: Session, request: Request, registry: Registry) -> ProposalSummary:
    rows = items_of(session, request)
    proposed = [
        Item(r.item_key, ItemAction(r.proposed_action), tuple(ReasonCode(c) for c in r.proposed_reasons))
        for r in rows
    ]
    items = []
    for r in rows:
        info = registry.info(r.system_key) if r.system_key else None
        items.append(
            SummaryItem(
                item_key=r.item_key,
                system_key=r.system_key,
                record_count=r.record_count,
                system_name_ja=info.name_ja if info else None,
                system_name_en=info.name_en if info else None,
                proposed_action=ItemAction(r.proposed_action),
                system_action=SystemAction(r.system_action) if r.system_action else None,
                reasons=[ReasonCode(c) for c in r.proposed_reasons],
            )
        )
    return ProposalSummary(
        reference=request.reference,
        request_type=request.request_type,
        outcome=outcome_of(proposed),
        reasons=list(outcome_reasons(proposed)),
        items=items,
    )


_WORDS = {
    "ja": {
        "title": "実施可否の事前審査",
        "reference": "受付番号",
        "type": "請求種別",
        "outcome": "判定案",
        "reasons": "理由コード",
        "item": "項目",
        "system": "システム",
        "records": "件数",
        "action": "判定",
        "system_action": "システム処理",
        ItemAction.GRANT: "実施",
        ItemAction.ALTERNATIVE: "代替措置",
        ItemAction.REFUSE: "不実施",
        ItemAction.NOT_HELD: "保有なし",
        Outcome.GRANTED: "全部実施",
        Outcome.PARTIALLY_GRANTED: "一部実施",
        Outcome.REFUSED: "不実施",
    },
    "en": {
        "title": "Feasibility pre-screen",
        "reference": "Reference",
        "type": "Request type",
        "outcome": "Proposed outcome",
        "reasons": "Reason codes",
        "item": "Item",
        "system": "System",
        "records": "Records",
        "action": "Proposal",
        "system_action": "System action",
        ItemAction.GRANT: "grant",
        ItemAction.ALTERNATIVE: "alternative measure",
        ItemAction.REFUSE: "refuse",
        ItemAction.NOT_HELD: "not held",
        Outcome.GRANTED: "granted",
        Outcome.PARTIALLY_GRANTED: "partially granted",
        Outcome.REFUSED: "refused",
    },
}


def summary_markdown(summary: ProposalSummary, lang: str = "ja") -> str:
    """The operator's view of a proposal as a Markdown table (a Prefect artifact)."""
    w = _WORDS[lang]
    lines = [
        f"## {w['title']}",
        "",
        f"- {w['reference']}: `{summary.reference}`",
        f"- {w['type']}: `{summary.request_type}`",
        f"- {w['outcome']}: {w[summary.outcome]}",
        f"- {w['reasons']}: {', '.join(f'`{c}`' for c in summary.reasons) or '—'}",
        "",
        f"| {w['item']} | {w['system']} | {w['records']} | {w['action']} | "
        f"{w['system_action']} | {w['reasons']} |",
        "|---|---|---:|---|---|---|",
    ]
    for i in summary.items:
        name = (i.system_name_ja if lang == "ja" else i.system_name_en) or "—"
        lines.append(
            f"| `{i.item_key}` | {name} | {i.record_count} | {w[i.proposed_action]} | "
            f"{i.system_action or '—'} | {', '.join(i.reasons) or '—'} |"
        )
    return "\n".join(lines) + "\n"


def decide(
    session: Session,
    settings: Settings,
    reference: str,
    decisions: Mapping[str, tuple[ItemAction | str, Sequence[str]]] | None,
    *,
    actor: str,
    now: datetime,
    supported: Mapping[str, Collection[str]] | None = None,
) -> Decision:
    """The operator's word per item; an item left out keeps the proposal. All items are
    checked before any is written, so a rejected decision leaves the review as it was.
    ``supported`` (system key → the actions its connector offers) refuses a decision that
    would ask a system for what it cannot do."""
    request = load_request(session, reference)
    rows = {r.item_key: r for r in items_of(session, request)}
    decisions = dict(decisions or {})
    problems: dict[str, list[str]] = {}
    for key, (action, reasons) in decisions.items():
        if key not in rows:
            problems[key] = ["no such item in this request"]
        elif action not in set(ItemAction):
            problems[key] = [f"unknown action {action!r}"]
        elif found := decision_problems(request.request_type, ItemAction(action), list(reasons)):
            problems[key] = found
        elif (
            supported is not None
            and (system := rows[key].system_key) is not None
            and system in supported
            and (wanted := final_system_action(request.request_type, rows[key], ItemAction(action)))
            and wanted not in {str(a) for a in supported[system]}
        ):
            problems[key] = [f"system {system} cannot {wanted}"]
    if problems:
        raise DecisionInvalid(problems)
    for key, row in rows.items():
        action, reasons = decisions.get(key, (row.proposed_action, row.proposed_reasons))
        action = ItemAction(action)
        row.final_action, row.final_reasons = str(action), [str(ReasonCode(c)) for c in reasons]
        row.final_system_action = final_system_action(request.request_type, row, action)
        row.decided_by, row.decided_at = actor, now
        session.add(row)
        audit(
            session,
            settings,
            actor=actor,
            action="request.review.decided",
            reference=reference,
            now=now,
            item=key,
            decision=row.final_action,
            reasons=row.final_reasons,
            system_action=row.final_system_action,
            changed=row.final_action != row.proposed_action,
        )
    request.approved_by = request.approved_at = None  # a sign-off covers the decisions it saw
    session.add(request)
    return _decision(rows.values())


def final_system_action(request_type: RequestType, row: DecisionItem, action: ItemAction) -> str | None:
    """The proposal's system action when the operator kept its action, else the action's own."""
    if action == row.proposed_action:
        return row.system_action
    if action is ItemAction.GRANT:
        derived = GRANT_ACTIONS[RequestType(request_type)]
    elif action is ItemAction.ALTERNATIVE:
        derived = SystemAction.RESTRICT
    else:
        derived = None
    return str(derived) if derived else None


def _final_items(rows) -> list[Item]:
    rows = list(rows)
    if not rows or any(r.final_action is None for r in rows):
        raise NotDecided("the review has undecided items")
    return [
        Item(
            r.item_key,
            ItemAction(r.final_action),
            tuple(ReasonCode(c) for c in r.final_reasons),
            system_key=r.system_key,
            system_action=SystemAction(r.final_system_action) if r.final_system_action else None,
            paper_instead=r.paper_instead,
        )
        for r in rows
    ]


def _decision(rows) -> Decision:
    items = _final_items(rows)
    return Decision(
        outcome_of(items), outcome_reasons(items), needs_approval=any(i.action not in PLAIN for i in items)
    )


def approve(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    approved: bool,
    actor: str,
    note_code: str | None = None,
    now: datetime,
) -> None:
    """The privacy officer's sign-off. Sending back clears every final decision, so the
    operator reviews again from the proposal."""
    request = load_request(session, reference)
    rows = items_of(session, request)
    _final_items(rows)  # only a decided review is signed off or sent back
    if approved:
        request.approved_by, request.approved_at = actor, now
        session.add(request)
        audit(
            session,
            settings,
            actor=actor,
            action="request.approval.granted",
            reference=reference,
            now=now,
            note_code=note_code,
        )
        return
    for row in rows:
        row.final_action = row.final_system_action = row.decided_by = row.decided_at = None
        row.final_reasons = []
        session.add(row)
    request.approved_by = request.approved_at = None
    session.add(request)
    audit(
        session,
        settings,
        actor=actor,
        action="request.approval.sent_back",
        reference=reference,
        now=now,
        note_code=note_code,
    )


def outcome(session: Session, reference: str) -> tuple[Outcome, list[ReasonCode]]:
    """The decided outcome and its request-level reason codes, from the final decisions."""
    items = _final_items(items_of(session, load_request(session, reference)))
    return outcome_of(items), list(outcome_reasons(items))


def undecided(session: Session, reference: str) -> list[dict]:
    """The items still waiting for an operator, with the proposal to pre-fill the form."""
    rows = items_of(session, load_request(session, reference))
    return [
        {
            "item_key": r.item_key,
            "proposed_action": r.proposed_action,
            "proposed_reasons": list(r.proposed_reasons),
        }
        for r in rows
        if r.final_action is None
    ]


def awaiting_sign_off(session: Session, reference: str) -> bool:
    """Decided, with a refusal or partial refusal the privacy officer has not yet signed off."""
    request = load_request(session, reference)
    rows = items_of(session, request)
    if not rows or any(r.final_action is None for r in rows):
        return False
    return _decision(rows).needs_approval and request.approved_by is None


def times_sent_back(session: Session, reference: str) -> int:
    """How often the officer sent the review back: numbers each round's waits, so that a
    replayed wait finds its answer and a new round gets a new one."""
    from sqlalchemy import func

    from models.audit import AuditEvent

    return session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.subject_ref == reference, AuditEvent.action == "request.approval.sent_back")
    ).one()
