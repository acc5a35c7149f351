"""Fulfilment across systems (docs/product.md §1 step 5): the actions the decision calls for, one
row per (system, action) with its idempotency key, each performed at most once.

No Prefect here: ``tasks/fulfilment.py`` runs :func:`perform` concurrently with retries. Every
call to a system is made outside any app-database transaction, between two short ones (the
attempt is counted before, the outcome written after), so a crash in between leaves a row
still pending whose retry the connector's own key ledger turns into a replay.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal, NamedTuple

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.db import row_id, unit_of_work, utcnow
from models.fulfilment import FulfilmentAction, action_key
from models.requests import DecisionItem, Request
from models.rules.states import ActionState
from models.rules.vocabulary import SystemAction
from models.settings import Settings
from services.common import audit, load_request, subject_of
from systems.protocol import Connector, PermanentSystemError, TransientSystemError
from systems.registry import Registry

# what fulfilment asks of a system; an export goes into the disclosure package instead
ACTING = frozenset(
    {SystemAction.RECTIFY, SystemAction.ERASE, SystemAction.RESTRICT, SystemAction.STOP_PROVISION}
)
Decision = Literal["retry", "skip", "done_by_hand"]
# where an operator's word leaves a failed action
AFTER_DECISION: dict[str, ActionState] = {
    "retry": ActionState.PENDING,
    "skip": ActionState.SKIPPED,
    "done_by_hand": ActionState.DONE_BY_HAND,
}


@dataclass(frozen=True)
class PlannedAction:
    """One (system, action) of a request: references and counts only, safe for Prefect."""

    system_key: str
    action: SystemAction
    state: ActionState = ActionState.PENDING
    attempts: int = 0

    @classmethod
    def of(cls, row: FulfilmentAction) -> PlannedAction:
        return cls(row.system_key, SystemAction(row.action), row.state, row.attempts)


@dataclass(frozen=True)
class ActionOutcome:
    """What one :func:`perform` ended with. ``replayed``: nothing was done anew (the row was
    already settled, or the system's key ledger had the action). ``error`` is a class name and
    a system's message, which never carries personal data (``systems.protocol.SystemFailure``)."""

    system_key: str
    action: str
    state: str
    attempts: int
    affected: int | None = None
    replayed: bool = False
    error: str | None = None

    @classmethod
    def of(cls, row: FulfilmentAction, *, replayed: bool = False) -> ActionOutcome:
        return cls(
            row.system_key,
            str(row.action),
            str(row.state),
            row.attempts,
            row.affected,
            replayed,
            row.last_error,
        )

    def to_dict(self) -> dict:
        return asdict(self)


class NotAwaitingDecision(ValueError):
    """The operator decided on an action that is not failed (the message names no data)."""


# --- planning ------------------------------------------------------------------------------


class _Acting(NamedTuple):
    """A decision item that has a system act: its key, the system and the action."""

    item_key: str
    system_key: str
    action: SystemAction


def _acting_items(session: Session, request: Request) -> list[_Acting]:
    return [
        _Acting(i.item_key, i.system_key, SystemAction(i.final_system_action))
        for i in session.exec(select(DecisionItem).where(DecisionItem.request_id == request.id))
        if i.system_key and i.final_system_action and SystemAction(i.final_system_action) in ACTING
    ]


def _rows(session: Session, request: Request) -> list[FulfilmentAction]:
    return list(
        session.exec(
            select(FulfilmentAction)
            .where(FulfilmentAction.request_id == request.id)
            .order_by(col(FulfilmentAction.id))
        )
    )


def plan(session: Session, settings: Settings, reference: str, *, now: datetime) -> list[PlannedAction]:
    """One row per (system, action) the final decision calls for; a re-plan adds nothing.
    Several corrected fields of one system make one ``rectify`` (see :func:`_changes`)."""
    request = load_request(session, reference)
    rows = _rows(session, request)
    have = {(r.system_key, SystemAction(r.action)) for r in rows}
    wanted = sorted({(i.system_key, i.action) for i in _acting_items(session, request)})
    added = []
    for system_key, action in wanted:
        if (system_key, action) in have:
            continue
        row = FulfilmentAction(
            request_id=row_id(request),
            system_key=system_key,
            action=action,
            idempotency_key=action_key(reference, system_key, action),
            updated_at=now,
        )
        session.add(row)
        added.append(row)
    if added:
        audit(
            session,
            settings,
            actor="system",
            action="fulfilment.planned",
            reference=reference,
            now=now,
            actions=[f"{r.system_key}:{r.action}" for r in added],
        )
    return [PlannedAction.of(r) for r in rows + added]


def _changes(session: Session, request: Request, system_key: str) -> dict[str, str]:
    """The requested values of the fields decided for correction in this system (item key
    ``"<system>:<field>"``), read at the moment of acting: they never leave the app database."""
    fields = {
        i.item_key.split(":", 1)[1]
        for i in _acting_items(session, request)
        if i.system_key == system_key and ":" in i.item_key and i.action is SystemAction.RECTIFY
    }
    return {
        c["field"]: c["requested"] for c in request.details.get("corrections", []) if c["field"] in fields
    }


# --- acting --------------------------------------------------------------------------------


def _call(
    connector: Connector, action: SystemAction, session: Session, request: Request, system_key: str, key: str
):
    """Bind the one connector call (identity and changes loaded here) to run outside the
    transaction."""
    identity = subject_of(request)
    if action is SystemAction.RECTIFY:
        changes = _changes(session, request, system_key)
        return lambda: connector.rectify(identity, changes, idempotency_key=key)
    method = {
        SystemAction.ERASE: connector.erase,
        SystemAction.RESTRICT: connector.restrict,
        SystemAction.STOP_PROVISION: connector.stop_provision,
    }[action]
    return lambda: method(identity, idempotency_key=key)


def _row(session: Session, key: str) -> FulfilmentAction:
    return session.exec(select(FulfilmentAction).where(FulfilmentAction.idempotency_key == key)).one()


def perform(
    settings: Settings, reference: str, system_key: str, action: SystemAction | str, *, registry: Registry
) -> ActionOutcome:
    """Make one planned action happen, at most once.

    A row already finished (or failed, awaiting an operator) returns without calling the
    system. A :class:`TransientSystemError` is recorded and re-raised for the caller's retry;
    a :class:`PermanentSystemError` marks the row failed for an operator to decide."""
    action = SystemAction(action)
    key = action_key(reference, system_key, action)
    with unit_of_work(settings) as session:
        # the write comes first: it takes the lock before anything is read
        counted = session.exec(
            update(FulfilmentAction)
            .where(
                col(FulfilmentAction.idempotency_key) == key,
                col(FulfilmentAction.state) == ActionState.PENDING,
            )
            .values(attempts=FulfilmentAction.attempts + 1, updated_at=utcnow())
        ).rowcount
        if not counted:
            return ActionOutcome.of(_row(session, key), replayed=True)
        call = _call(
            registry.connector(system_key), action, session, load_request(session, reference), system_key, key
        )
    try:
        result = call()
    except TransientSystemError as exc:
        with unit_of_work(settings) as session:
            row = _row(session, key)
            row.last_error, row.updated_at = _error(exc), utcnow()
            session.add(row)
        raise
    except PermanentSystemError as exc:
        with unit_of_work(settings) as session:
            return _finish(session, settings, reference, key, ActionState.FAILED, error=exc)
    with unit_of_work(settings) as session:
        return _finish(
            session,
            settings,
            reference,
            key,
            ActionState.DONE,
            affected=result.affected,
            replayed=result.replayed,
        )


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _finish(
    session: Session,
    settings: Settings,
    reference: str,
    key: str,
    state: ActionState,
    *,
    affected: int | None = None,
    replayed: bool = False,
    error: BaseException | None = None,
) -> ActionOutcome:
    now = utcnow()
    session.execute(
        update(FulfilmentAction)
        .where(col(FulfilmentAction.idempotency_key) == key)
        .values(state=state, affected=affected, updated_at=now, last_error=_error(error) if error else None)
    )
    row = _row(session, key)
    audit(
        session,
        settings,
        actor="system",
        action=f"fulfilment.{state}",
        reference=reference,
        now=now,
        system=row.system_key,
        system_action=str(row.action),
        attempts=row.attempts,
        affected=affected,
        error=type(error).__name__ if error else None,
    )
    return ActionOutcome.of(row, replayed=replayed)


def give_up(
    settings: Settings, reference: str, system_key: str, action: SystemAction | str, *, error: BaseException
) -> ActionOutcome:
    """Mark an action failed after its retries ran out (or an unexpected error), so that it
    waits for an operator instead of staying silently pending. The last transient error
    :func:`perform` recorded is kept; otherwise only the error's class is, as its message
    may not be data-free."""
    key = action_key(reference, system_key, SystemAction(action))
    with unit_of_work(settings) as session:
        row = _row(session, key)
        if row.state != ActionState.PENDING:
            return ActionOutcome.of(row)
        if row.last_error is None or not isinstance(error, TransientSystemError):
            row.last_error = type(error).__name__
        row.state, row.updated_at = ActionState.FAILED, utcnow()
        session.add(row)
        audit(
            session,
            settings,
            actor="system",
            action="fulfilment.failed",
            reference=reference,
            now=row.updated_at,
            system=system_key,
            system_action=str(row.action),
            attempts=row.attempts,
            error=type(error).__name__,
        )
        return ActionOutcome.of(row)


# --- the operator's word on a failing system -----------------------------------------------


def pending_failures(session: Session, reference: str) -> list[PlannedAction]:
    """Actions that failed after their retries and wait for an operator's decision."""
    request = load_request(session, reference)
    return [PlannedAction.of(r) for r in _rows(session, request) if r.state == ActionState.FAILED]


def resolve(
    session: Session,
    settings: Settings,
    reference: str,
    system_key: str,
    action: SystemAction | str,
    *,
    decision: Decision,
    reason: str | None,
    actor: str,
    now: datetime,
) -> PlannedAction:
    """Retry (back to pending), skip (a reason is required) or record as done by hand."""
    if decision not in AFTER_DECISION:
        raise ValueError(f"unknown decision {decision!r}")
    if decision == "skip" and not (reason and reason.strip()):
        raise ValueError("skipping a system needs a reason")
    row = _row(session, action_key(reference, system_key, SystemAction(action)))
    if row.state != ActionState.FAILED:
        raise NotAwaitingDecision(f"{system_key}:{action} is {row.state}, not failed")
    row.state = AFTER_DECISION[decision]
    row.decided_by, row.note, row.updated_at = actor, reason, now
    session.add(row)
    # the reason may be free Japanese text: it stays on the row, the trail says one was given
    audit(
        session,
        settings,
        actor=actor,
        action=f"fulfilment.{decision}",
        reference=reference,
        now=now,
        system=system_key,
        system_action=str(row.action),
        attempts=row.attempts,
        reason_given=bool(reason),
    )
    return PlannedAction.of(row)
