"""Nothing waits forever unseen: an open case whose flow run died is started again, a bounded
number of times (models/rules/recovery.py), and then put in front of people — the work queue
and an email to the privacy officer.

A case is a request, an inquiry, a provision review, a leak incident, a policy revision or a
contractor; each stores the id of
its current run. A run *died* when it ended Crashed, Failed or Cancelled while its case is
still open, or (for the one-run-per-case flows) ended Completed with the case still open.
No Prefect in this module: the Prefect side (deployments/recovery.py) finds the dead runs,
asks :func:`decide`, creates the new run and calls :func:`record_restart`."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from mail.outbox import enqueue
from models.contractors import Contractor, ContractorStatus
from models.db import non_null
from models.requests import Request
from models.restarts import RunRestart
from models.rules.recovery import Escalate, Restart, after_run_died
from models.rules.vocabulary import FINAL_STATUSES
from models.settings import Settings
from services.common import audit
from services.dispatch import TICKETS, Ticket

# Contractor statuses whose run is at work or waits for the officer; an active contractor
# has no run until the next `madoguchi contractor` step starts one.
CONTRACTOR_AT_WORK = (
    ContractorStatus.APPLIED,
    ContractorStatus.AWAITING_APPROVAL,
    ContractorStatus.APPROVED,
    ContractorStatus.OFFBOARDING,
)
CASES: dict[str, tuple[type[Ticket | Request | Contractor], ColumnElement[bool]]] = {
    "request": (Request, col(Request.status).not_in(FINAL_STATUSES)),
    **TICKETS,
    "contractor": (Contractor, col(Contractor.status).in_(CONTRACTOR_AT_WORK)),
}
# Flow runs that end only with their case: one of them Completed with its case open died too.
ONE_RUN_PER_CASE = frozenset({"request", "inquiry", "provision", "incident", "policy"})
RUN_DEAD = "run_dead"  # the privacy officer's escalation (mail/templates/*/_labels.j2)


@dataclass(frozen=True)
class DeadRun:
    """A case's run that ended: ``state`` is the Prefect state's name."""

    kind: str
    reference: str
    run_id: str
    state: str

    @property
    def dead(self) -> bool:
        return self.state != "Completed" or self.kind in ONE_RUN_PER_CASE


def _case(session: Session, kind: str, reference: str):
    table, still_open = CASES[kind]
    return session.exec(select(table).where(table.reference == reference, still_open)).first()


def _restart_row(session: Session, kind: str, reference: str) -> RunRestart | None:
    return session.exec(
        select(RunRestart).where(RunRestart.kind == kind, RunRestart.reference == reference)
    ).first()


def decide(
    session: Session, settings: Settings, run: DeadRun, *, now: datetime, ui_url: str
) -> Restart | Escalate | None:
    """What to do about a run that ended; None when nothing is to be done (the case is closed,
    it already has another run, or it is already in people's hands). An escalation is
    recorded, audited and mailed here, once."""
    if not run.dead:
        return None
    case = _case(session, run.kind, run.reference)
    if case is None or case.flow_run_id not in (None, run.run_id):
        return None
    row = _restart_row(session, run.kind, run.reference)
    if row is not None and row.escalated_at is not None and row.dead_run_id == run.run_id:
        return None
    step = after_run_died(
        row.restarts if row else 0,
        now=now,
        max_restarts=settings.run_max_restarts,
        first_pause_seconds=settings.run_restart_pause_seconds,
    )
    if isinstance(step, Escalate):
        _escalate(session, settings, run, row, step, now=now, ui_url=ui_url)
    return step


def _remember(
    session: Session, run: DeadRun, row: RunRestart | None, *, restarts: int, now: datetime, escalated: bool
) -> RunRestart:
    row = row or RunRestart(
        kind=run.kind, reference=run.reference, dead_run_id=run.run_id, dead_state=run.state, updated_at=now
    )
    row.restarts, row.dead_run_id, row.dead_state, row.updated_at = restarts, run.run_id, run.state, now
    row.escalated_at = now if escalated else None
    session.add(row)
    return row


def _escalate(
    session: Session,
    settings: Settings,
    run: DeadRun,
    row: RunRestart | None,
    step: Escalate,
    *,
    now: datetime,
    ui_url: str,
) -> None:
    _remember(session, run, row, restarts=step.restarts, now=now, escalated=True)
    enqueue(
        session,
        kind="privacy_officer_escalation",
        language="ja",
        recipient_email=settings.mail_privacy_officer_email,
        idempotency_key=f"{run.kind}:{run.reference}:run-dead:{run.run_id}",
        context={
            "reference": run.reference,
            "escalation": RUN_DEAD,
            "restarts": step.restarts,
            "run_state": run.state,
            "ui_url": f"{ui_url}/runs/flow-run/{run.run_id}",
        },
        request_id=_case(session, run.kind, run.reference).id if run.kind == "request" else None,
        now=now,
    )
    audit(
        session,
        settings,
        actor="recovery",
        action=f"{run.kind}.run_escalated",
        reference=run.reference,
        now=now,
        flow_run_id=run.run_id,
        state=run.state,
        restarts=step.restarts,
    )


def record_restart(
    session: Session, settings: Settings, run: DeadRun, step: Restart, new_run_id: str, *, now: datetime
) -> None:
    """The case's new run (created by the caller with ``restart_key``), counted and audited."""
    _remember(
        session,
        run,
        _restart_row(session, run.kind, run.reference),
        restarts=step.attempt,
        now=now,
        escalated=False,
    )
    case = _case(session, run.kind, run.reference)
    if case is not None:
        case.flow_run_id = new_run_id
        session.add(case)
    audit(
        session,
        settings,
        actor="recovery",
        action=f"{run.kind}.run_restarted",
        reference=run.reference,
        now=now,
        dead_run_id=run.run_id,
        state=run.state,
        attempt=step.attempt,
        flow_run_id=new_run_id,
        starts_at=step.at.isoformat(),
    )


def open_cases_with_runs(
    session: Session, kind: str, *, after_id: int = 0, limit: int = 500
) -> list[tuple[int, str, str]]:
    """``(id, reference, run id)`` of open cases of one kind that have a run, by id: the
    backstop sweep reads every open case's run from Prefect, a page at a time."""
    table, still_open = CASES[kind]
    return list(
        session.exec(
            select(non_null(table.id), col(table.reference), non_null(table.flow_run_id))
            .where(still_open, col(table.flow_run_id).is_not(None), col(table.id) > after_id)
            .order_by(col(table.id))
            .limit(limit)
        ).all()
    )


def escalated(session: Session, *, limit: int = 50) -> list[RunRestart]:
    """Cases whose run died past its restarts and that are still open: the work queue's rows."""
    rows = session.exec(
        select(RunRestart)
        .where(col(RunRestart.escalated_at).is_not(None))
        .order_by(col(RunRestart.escalated_at).desc())
        .limit(limit)
    ).all()
    return [row for row in rows if _case(session, row.kind, row.reference) is not None]
