"""The SLA monitor (PRODUCT.md §6): one indexed query over the open requests, then per request
a warning at 70 % of the time and an escalation at the due date, each an email to the privacy
officer through the outbox (its idempotency key makes it once), audited; the operators' work
queue and the daily digest are built from the same rows (services/sla_report.py). References and dates only: nothing
here holds a name or an address, so it may go to Prefect artifacts.

Clock paused: a request awaiting the requester is neither warned nor escalated; its due date
moves when the requester answers (services/clock.py) and the monitor judges it again then."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlmodel import Session

from mail.outbox import enqueue
from models.contractors import Contractor, ContractorStatus
from models.fulfilment import Notice
from models.requests import OPEN_REQUEST, Request
from models.rules.deadlines import WARN_FRACTION, DecisionClock, SlaStage, jst_date
from models.rules.vocabulary import Status
from models.settings import Settings
from services.common import audit

WARNING, ESCALATION = "sla_warning", "privacy_officer_escalation"


@dataclass(frozen=True)
class OpenRequest:
    """One open request as the monitor sees it: references, codes and instants only."""

    id: int
    reference: str
    request_type: str
    status: str
    waiting_for: str | None
    received_at: datetime
    due_at: datetime | None
    flow_run_id: str | None
    warned: bool
    last_escalation: str | None  # the newest escalation key sent for it

    @property
    def paused(self) -> bool:
        return self.status == Status.AWAITING_REQUESTER

    def stage(self, now: datetime) -> SlaStage:
        """Where the clock stands; a paused clock is on track (it does not run)."""
        if self.due_at is None or self.paused:
            return SlaStage.ON_TRACK
        warn_at = self.received_at + (self.due_at - self.received_at) * WARN_FRACTION
        return DecisionClock(self.received_at, timedelta(0), self.due_at, warn_at).stage(now)

    @property
    def escalation_key(self) -> str:
        return f"{self.reference}:escalation:{jst_date(self.due_at).isoformat()}"

    def notice_due(self, now: datetime) -> str | None:
        """The notice this request needs now, if any: past due an escalation (once per due
        date, which a later pause moves), else past 70 % a warning (once)."""
        stage = self.stage(now)
        if stage is SlaStage.OVERDUE and self.last_escalation != self.escalation_key:
            return ESCALATION
        if stage is SlaStage.WARNING and not self.warned:
            return WARNING
        return None


def open_requests(session: Session) -> list[OpenRequest]:
    """The one query: open requests by due date through the partial index ix_request_open_due,
    with what the outbox already holds for each (two lookups by ix_notice_request_id)."""
    warned = exists().where(Notice.request_id == Request.id, Notice.kind == WARNING)
    escalated = (select(func.max(Notice.idempotency_key))
                 .where(Notice.request_id == Request.id, Notice.kind == ESCALATION,
                        Notice.idempotency_key.like("%:escalation:%"))
                 .scalar_subquery())
    rows = session.execute(
        select(Request.id, Request.reference, Request.request_type, Request.status,
               Request.waiting_for, Request.received_at, Request.due_at, Request.flow_run_id,
               warned.label("warned"), escalated.label("last_escalation"))
        .where(OPEN_REQUEST).order_by(Request.due_at)
    )
    return [OpenRequest(id, ref, str(kind), str(status), str(waiting) if waiting else None,
                        received, due, run, bool(warn), last)
            for id, ref, kind, status, waiting, received, due, run, warn, last in rows]


def run_url(ui_url: str, row: OpenRequest) -> str:
    """The waiting flow run's page (where the operator resumes it), else the work queue."""
    if row.flow_run_id:
        return f"{ui_url}/runs/flow-run/{row.flow_run_id}"
    return f"{ui_url}/artifacts/key/work-queue"


@dataclass
class Sent:
    warnings: list[str]
    escalations: list[str]


def notify_deadlines(session: Session, settings: Settings, rows: list[OpenRequest], *,
                     now: datetime, ui_url: str) -> Sent:
    """Warn and escalate what is due, each once (outbox key), audited, in the caller's
    transaction."""
    sent = Sent([], [])
    for row in rows:
        kind = row.notice_due(now)
        if kind is None:
            continue
        context = {"reference": row.reference, "due_date": jst_date(row.due_at).isoformat(),
                   "status": row.status, "ui_url": run_url(ui_url, row)}
        if kind == WARNING:
            elapsed = (now - row.received_at) / (row.due_at - row.received_at)
            key, context["percent_elapsed"] = f"{row.reference}:sla_warning", int(elapsed * 100)
            sent.warnings.append(row.reference)
        else:
            key, context["escalation"] = row.escalation_key, "overdue"
            sent.escalations.append(row.reference)
        enqueue(session, kind=kind, language="ja", recipient_email=settings.mail_privacy_officer_email,
                idempotency_key=key, context=context, request_id=row.id, now=now)
        audit(session, settings, actor="monitor", action=f"sla.{'warning' if kind == WARNING else 'escalation'}",
              reference=row.reference, now=now, due_date=context["due_date"], status=row.status)
    return sent


# --- contractors (RULES.md §7): reassessment and certification dates -----------------------

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
        select(Contractor.reference, Contractor.next_reassessment_at, Contractor.certification_expires_at)
        .where(or_(Contractor.next_reassessment_at <= now, Contractor.certification_expires_at <= horizon),
               Contractor.status.in_(WATCHED_CONTRACTORS))
        .order_by(Contractor.reference)
    )
    due = []
    for reference, reassess, expires in rows:
        if reassess is not None and reassess <= now:
            due.append(ContractorDue(reference, "reassessment", jst_date(reassess)))
        if expires is not None and expires <= horizon:
            due.append(ContractorDue(reference, "certification_expiry", jst_date(expires)))
    return due


def notify_contractors(session: Session, settings: Settings, due: list[ContractorDue], *,
                       now: datetime) -> list[str]:
    """Tell the privacy officer once per contractor, kind and date; audited."""
    sent = []
    for item in due:
        if notice_exists(session, item.key):
            continue
        enqueue(session, kind="contractor_supervision", language="ja",
                recipient_email=settings.mail_privacy_officer_email, idempotency_key=item.key,
                context=item.as_dict(), now=now)
        audit(session, settings, actor="monitor", action=f"contractor.{item.what}_due",
              reference=item.reference, now=now, due_date=item.due_date.isoformat())
        sent.append(item.key)
    return sent


def notice_exists(session: Session, key: str) -> bool:
    """Whether the outbox holds a notice with this key (by its unique index)."""
    return session.execute(select(Notice.id).where(Notice.idempotency_key == key)).first() is not None
