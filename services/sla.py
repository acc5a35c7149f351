"""The SLA monitor (docs/product.md §6): one indexed query finds the open requests that need a
notice now, a warning at 70 % of their time or an escalation at their due date, and has had
none; each is then an email to the privacy officer through the outbox (its idempotency key
makes it once), audited. The operators' work queue and the daily digest read the open
requests by due date (services/sla_report.py). References, codes and dates only: nothing here
holds a name or an address, so it may go to Prefect artifacts.

Clock paused: a request awaiting the requester is neither warned nor escalated; its due date
moves when the requester answers (services/clock.py) and the monitor judges it again then."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Float, SQLColumnExpression, String, and_, exists, func, not_, or_, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

from mail.outbox import enqueue
from models.contractors import Contractor, ContractorStatus
from models.fulfilment import Notice
from models.incidents import Incident
from models.requests import OPEN_REQUEST, Request
from models.rules.deadlines import WARN_FRACTION, SlaStage, jst_date
from models.rules.leaks import report_stage
from models.rules.vocabulary import Status
from models.settings import Settings
from services.common import audit
from services.incidents import CLOSED

WARNING, ESCALATION = "sla_warning", "privacy_officer_escalation"
NOTICE_BATCH = 200  # notices written per transaction: a backlog commits as it goes


class OpenRequest(NamedTuple):
    """One open request as the monitor sees it: references, codes and instants only (a tuple:
    a run may build 100,000 of them)."""

    id: int
    reference: str
    request_type: str
    status: str
    waiting_for: str | None
    received_at: datetime
    due_at: datetime | None
    flow_run_id: str | None

    @property
    def paused(self) -> bool:
        return self.status == Status.AWAITING_REQUESTER

    def stage(self, now: datetime) -> SlaStage:
        """Where the clock stands (models.rules.deadlines.decision_clock's 70 % and due date, on
        the stored due date); a paused clock is on track: it does not run."""
        if self.due_at is None or self.paused:
            return SlaStage.ON_TRACK
        if now >= self.due_at:
            return SlaStage.OVERDUE
        warn_at = self.received_at + (self.due_at - self.received_at) * WARN_FRACTION
        return SlaStage.WARNING if now >= warn_at else SlaStage.ON_TRACK

    def notice_due(self, now: datetime) -> str | None:
        """The notice a request without one for its stage needs now."""
        return {SlaStage.OVERDUE: ESCALATION, SlaStage.WARNING: WARNING}.get(self.stage(now))

    @property
    def escalation_key(self) -> str:
        """Once per due date: a later pause moves the date, and it may fall due again."""
        if self.due_at is None:
            raise ValueError(f"{self.reference} has no due date to escalate")
        return f"{self.reference}:escalation:{jst_date(self.due_at).isoformat()}"


class _epoch(FunctionElement):
    """Seconds since 1970 of a timestamp column, so that the 70 % point is computed in SQL."""

    type = Float()
    inherit_cache = True


@compiles(_epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:  # stored as UTC text
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(_epoch, "postgresql")
def _epoch_postgresql(element, compiler, **kw) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


_COLUMNS: tuple[SQLColumnExpression[Any], ...] = (
    col(Request.id),
    col(Request.reference),
    *(type_coerce(c, String) for c in (Request.request_type, Request.status, Request.waiting_for)),
    col(Request.received_at),
    col(Request.due_at),
    col(Request.flow_run_id),
)


def due_notices(session: Session, *, now: datetime) -> list[OpenRequest]:
    """The one query of a monitor run: over the open requests (partial index
    ix_request_open_due), those past due with no escalation since, and those past 70 % with
    no warning yet (notices by ix_notice_request_id). The SQL only narrows; ``notice_due``
    decides (the 70 % test allows a second for rounding)."""

    def had(kind: str, *also):
        return exists().where(col(Notice.request_id) == Request.id, col(Notice.kind) == kind, *also)

    overdue = col(Request.due_at) <= now
    warn_point = _epoch(Request.received_at) * (1 - WARN_FRACTION) + _epoch(Request.due_at) * WARN_FRACTION
    rows = session.connection().execute(
        select(*_COLUMNS)
        .where(
            OPEN_REQUEST,
            col(Request.status) != Status.AWAITING_REQUESTER,
            or_(
                and_(
                    overdue,
                    not_(
                        had(
                            ESCALATION,
                            col(Notice.created_at) >= Request.due_at,
                            col(Notice.idempotency_key).like("%:escalation:%"),
                        )
                    ),
                ),
                and_(not_(overdue), warn_point <= now.timestamp() + 1, not_(had(WARNING))),
            ),
        )
        .order_by(col(Request.due_at))
    )
    return [OpenRequest._make(row) for row in rows]


def open_requests(session: Session, *, limit: int | None = None) -> list[OpenRequest]:
    """Open requests, most urgent first, by the same partial index (the work queue, the digest)."""
    rows = session.connection().execute(
        select(*_COLUMNS).where(OPEN_REQUEST).order_by(col(Request.due_at)).limit(limit)
    )
    return [OpenRequest._make(row) for row in rows]


def count_open(session: Session) -> int:
    """How many are open (each has its due date from intake; the condition steers SQLite to
    the partial index instead of the status index, which holds the closed history too)."""
    return (
        session.connection()
        .execute(
            select(func.count()).select_from(Request).where(OPEN_REQUEST, col(Request.due_at).is_not(None))
        )
        .scalar_one()
    )


def run_url(ui_url: str, row: OpenRequest) -> str:
    """The waiting flow run's page (where the operator resumes it), else the work queue."""
    if row.flow_run_id:
        return f"{ui_url}/runs/flow-run/{row.flow_run_id}"
    return f"{ui_url}/artifacts/key/work-queue"


@dataclass
class Sent:
    warnings: list[str]
    escalations: list[str]


def notify_deadlines(
    session: Session, settings: Settings, rows: list[OpenRequest], *, now: datetime, ui_url: str
) -> Sent:
    """Warn and escalate the rows of ``due_notices``, each once (outbox key), audited, in the
    caller's transaction."""
    sent = Sent([], [])
    for row in rows:
        kind = row.notice_due(now)
        if kind is None or row.due_at is None:  # a notice is due only on a due date
            continue
        context: dict[str, Any] = {
            "reference": row.reference,
            "due_date": jst_date(row.due_at).isoformat(),
            "status": row.status,
            "ui_url": run_url(ui_url, row),
        }
        if kind == WARNING:
            elapsed = (now - row.received_at) / (row.due_at - row.received_at)
            key, context["percent_elapsed"] = f"{row.reference}:sla_warning", int(elapsed * 100)
            sent.warnings.append(row.reference)
        else:
            key, context["escalation"] = row.escalation_key, "overdue"
            sent.escalations.append(row.reference)
        enqueue(
            session,
            kind=kind,
            language="ja",
            recipient_email=settings.mail_privacy_officer_email,
            idempotency_key=key,
            context=context,
            request_id=row.id,
            now=now,
        )
        audit(
            session,
            settings,
            actor="monitor",
            action=f"sla.{'warning' if kind == WARNING else 'escalation'}",
            reference=row.reference,
            now=now,
            due_date=context["due_date"],
            status=row.status,
        )
    return sent


# --- contractors (docs/rules.md §7): reassessment and certification dates -----------------------

WATCHED_CONTRACTORS = (ContractorStatus.APPROVED, ContractorStatus.ACTIVE, ContractorStatus.SUSPENDED)
CERTIFICATE_NOTICE_DAYS = 30


@dataclass(frozen=True)
class ContractorDue:
    reference: str
    what: str  # reassessment | certification_expiry
    due_date: date

    @property
    def key(self) -> str:
        return f"{self.reference}:{self.what}:{self.due_date.isoformat()}"

    def as_dict(self) -> dict:
        return {"reference": self.reference, "what": self.what, "due_date": self.due_date.isoformat()}


def contractors_due(session: Session, *, now: datetime) -> list[ContractorDue]:
    """Reassessments due and certificates expiring within 30 days (or expired), by their
    date indexes."""
    horizon = now + timedelta(days=CERTIFICATE_NOTICE_DAYS)
    rows = session.execute(
        select(
            col(Contractor.reference),
            col(Contractor.next_reassessment_at),
            col(Contractor.certification_expires_at),
        )
        .where(
            or_(
                col(Contractor.next_reassessment_at) <= now,
                col(Contractor.certification_expires_at) <= horizon,
            ),
            col(Contractor.status).in_(WATCHED_CONTRACTORS),
        )
        .order_by(col(Contractor.reference))
    )
    due = []
    for reference, reassess, expires in rows:
        if reassess is not None and reassess <= now:
            due.append(ContractorDue(reference, "reassessment", jst_date(reassess)))
        if expires is not None and expires <= horizon:
            due.append(ContractorDue(reference, "certification_expiry", jst_date(expires)))
    return due


def notify_contractors(
    session: Session, settings: Settings, due: list[ContractorDue], *, now: datetime
) -> list[str]:
    """Tell the privacy officer once per contractor, kind and date; audited."""
    sent = []
    for item in due:
        if notice_exists(session, item.key):
            continue
        enqueue(
            session,
            kind="contractor_supervision",
            language="ja",
            recipient_email=settings.mail_privacy_officer_email,
            idempotency_key=item.key,
            context=item.as_dict(),
            now=now,
        )
        audit(
            session,
            settings,
            actor="monitor",
            action=f"contractor.{item.what}_due",
            reference=item.reference,
            now=now,
            due_date=item.due_date.isoformat(),
        )
        sent.append(item.key)
    return sent


def notice_exists(session: Session, key: str) -> bool:
    """Whether the outbox holds a notice with this key (by its unique index)."""
    return (
        session.execute(select(col(Notice.id)).where(col(Notice.idempotency_key) == key)).first() is not None
    )


# --- leak incidents (docs/rules.md §6): the PPC reports' deadlines --------------------------------

LEAK_REPORTS = ("preliminary", "final")


@dataclass(frozen=True)
class IncidentDue:
    reference: str
    report: str  # preliminary | final
    stage: str  # on_track | warning (before the deadline) | overdue (at it)
    due_date: date
    days_left: int  # calendar days to the deadline in Japan: 0 on the day, negative past it
    flow_run_id: str | None

    @property
    def key(self) -> str:
        return f"{self.reference}:leak_{self.report}_{self.stage}:{self.due_date.isoformat()}"

    def url(self, ui_url: str) -> str:
        """The incident's run (its forms and report drafts), else the work queue."""
        return (
            f"{ui_url}/runs/flow-run/{self.flow_run_id}"
            if self.flow_run_id
            else f"{ui_url}/artifacts/key/work-queue"
        )

    def as_dict(self) -> dict:
        return {
            "reference": self.reference,
            "report": self.report,
            "stage": self.stage,
            "due_date": self.due_date.isoformat(),
            "days_left": self.days_left,
        }


def incident_deadlines(session: Session, *, now: datetime) -> list[IncidentDue]:
    """Every PPC report of a reportable incident not filed yet, most urgent (earliest) first,
    with where its clock stands (``leaks.report_stage``): the work queue's and the digest's
    rows, and, from the warning day on, the officer's warnings."""
    today = jst_date(now)
    incidents = session.execute(
        select(Incident)
        .where(col(Incident.reportable).is_(True), col(Incident.status) != CLOSED)
        .order_by(col(Incident.id))
    ).scalars()
    due = []
    for incident in incidents:
        for report in LEAK_REPORTS:
            deadline, filed_on = getattr(incident, f"{report}_due"), getattr(incident, f"{report}_filed_on")
            if deadline is not None and filed_on is None:
                due.append(
                    IncidentDue(
                        incident.reference,
                        report,
                        str(report_stage(deadline, filed_on, today)),
                        deadline,
                        (deadline - today).days,
                        incident.flow_run_id,
                    )
                )
    return sorted(due, key=lambda d: d.due_date)


def notify_incidents(
    session: Session, settings: Settings, due: list[IncidentDue], *, now: datetime, ui_url: str
) -> list[str]:
    """Tell the privacy officer once per incident, report, stage and deadline (warned before
    it, escalated at it); audited."""
    sent = []
    for item in due:
        if item.stage == SlaStage.ON_TRACK or notice_exists(session, item.key):
            continue
        enqueue(
            session,
            kind="leak_report_deadline",
            language="ja",
            recipient_email=settings.mail_privacy_officer_email,
            idempotency_key=item.key,
            context={**item.as_dict(), "ui_url": item.url(ui_url)},
            now=now,
        )
        audit(
            session,
            settings,
            actor="monitor",
            action=f"incident.{item.report}_{item.stage}",
            reference=item.reference,
            now=now,
            due_date=item.due_date.isoformat(),
        )
        sent.append(item.key)
    return sent
