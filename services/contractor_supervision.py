"""Supervising a registered contractor (GL 3-4-4, docs/rules.md §7): the periodic reassessment on
an audit report, and offboarding (access revoked, data returned or deleted, the deletion
certificate recorded). No Prefect here; each step idempotent and audited."""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel
from sqlmodel import Session

from models.contractor_application import CertificateIn, QuestionnaireIn
from models.contractors import ContractorAssessment, ContractorStatus
from models.db import row_id, unit_of_work, utcnow
from models.rules.contractors import Selection
from models.rules.deadlines import jst_date
from models.settings import Settings
from services.common import audit
from services.contractors import latest, load_contractor, schedule_supervision, score, set_status, system_key

SUPERVISED = frozenset({ContractorStatus.ACTIVE, ContractorStatus.SUSPENDED})
Disposition = Literal["returned", "deleted"]


class NotSupervised(ValueError):
    """The contractor is not (or no longer) registered: nothing to reassess or offboard."""


class Reassessment(BaseModel):
    reference: str
    status: str
    reassessed: bool
    score: int | None = None
    selection: str | None = None
    blockers: list[str] = []


def _last_answers(session: Session, contractor) -> dict:
    """The answers the last scored assessment rests on (questionnaire and countries)."""
    rows = [
        r
        for r in (latest(session, contractor, "reassessment"), latest(session, contractor, "onboarding"))
        if r is not None and r.verdict
    ]
    answers = max(rows, key=row_id).answers
    return {"questionnaire": answers["questionnaire"], "countries": answers["countries"]}


def _pending(session: Session, contractor) -> ContractorAssessment | None:
    row = latest(session, contractor, "reassessment")
    return row if row is not None and row.verdict is None else None


def request_reassessment(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    now: datetime,
    actor: str,
    report: QuestionnaireIn | None = None,
    certifications: list[CertificateIn] | None = None,
) -> int:
    """Record the contractor's audit report (its answers now; without one, the last answers)
    and renewed certificates, for the reassessment run to score. One pending at a time."""
    contractor = load_contractor(session, reference)
    if contractor.status not in SUPERVISED:
        raise NotSupervised(reference)
    answers = _last_answers(session, contractor)
    if report is not None:
        answers["questionnaire"] = report.model_dump(mode="json")
    row = _pending(session, contractor) or ContractorAssessment(
        contractor_id=row_id(contractor), kind="reassessment"
    )
    row.answers, row.assessed_at = answers, now
    session.add(row)
    if certifications is not None:
        contractor.certifications = [c.model_dump(mode="json") for c in certifications]
        session.add(contractor)
    session.flush()
    audit(
        session,
        settings,
        actor=actor,
        action="contractor.audit_report",
        reference=reference,
        now=now,
        assessment=row.id,
        new_answers=report is not None,
        certifications=None if certifications is None else sorted({str(c.kind) for c in certifications}),
    )
    return row_id(row)


def needs_reassessment(session: Session, reference: str, *, now: datetime) -> bool:
    """An audit report waits to be scored, or the annual date has come."""
    contractor = load_contractor(session, reference)
    if contractor.status not in SUPERVISED:
        return False
    due = contractor.next_reassessment_at is not None and contractor.next_reassessment_at <= now
    return due or _pending(session, contractor) is not None


def reassess(session: Session, settings: Settings, reference: str, *, now: datetime) -> Reassessment:
    """Score the pending audit report, or the last answers once the annual date has come;
    otherwise nothing. A reject suspends the contractor (out of the registry); a pass keeps
    or brings it back in and sets the next date a year on."""
    contractor = load_contractor(session, reference)
    if not needs_reassessment(session, reference, now=now):
        return Reassessment(reference=reference, status=str(contractor.status), reassessed=False)
    row = _pending(session, contractor)
    if row is None:
        row = ContractorAssessment(
            contractor_id=row_id(contractor), kind="reassessment", answers=_last_answers(session, contractor)
        )
    score(session, contractor, row, now=now)
    session.flush()
    next_day = schedule_supervision(contractor, last_assessed=jst_date(now))
    session.add(contractor)
    audit(
        session,
        settings,
        actor="system",
        action="contractor.reassessed",
        reference=reference,
        now=now,
        assessment=row.id,
        score=row.score,
        selection=row.verdict,
        blockers=row.blockers,
        next_reassessment=next_day.isoformat(),
    )
    failed = row.verdict == Selection.REJECT
    set_status(
        session,
        settings,
        contractor,
        ContractorStatus.SUSPENDED if failed else ContractorStatus.ACTIVE,
        now=now,
    )
    return Reassessment(
        reference=reference,
        status=str(contractor.status),
        reassessed=True,
        score=row.score,
        selection=row.verdict,
        blockers=list(row.blockers),
    )


def revoke(
    session: Session, settings: Settings, reference: str, *, now: datetime, actor: str
) -> ContractorStatus:
    """Offboarding begins: the contractor leaves the registry at once (no request reaches it
    any more); its deletion certificate is awaited."""
    contractor = load_contractor(session, reference)
    if contractor.status in (ContractorStatus.OFFBOARDING, ContractorStatus.OFFBOARDED):
        return ContractorStatus(contractor.status)
    if contractor.status not in SUPERVISED | {ContractorStatus.APPROVED}:
        raise NotSupervised(reference)
    audit(
        session,
        settings,
        actor=actor,
        action="contractor.access_revoked",
        reference=reference,
        now=now,
        system_key=system_key(reference),
    )
    set_status(session, settings, contractor, ContractorStatus.OFFBOARDING, now=now, actor=actor)
    return ContractorStatus.OFFBOARDING


def record_disposal(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    disposition: Disposition,
    certificate: str,
    actor: str,
    now: datetime,
) -> ContractorStatus:
    """The contractor returned or deleted the data: its certificate is kept (in the
    offboarding row; the audit trail points at the row) and offboarding ends."""
    contractor = load_contractor(session, reference)
    if contractor.status != ContractorStatus.OFFBOARDING:
        return ContractorStatus(contractor.status)
    row = ContractorAssessment(
        contractor_id=row_id(contractor),
        kind="offboarding",
        approved_by=actor,
        answers={"disposition": disposition, "certificate": certificate},
        verdict=disposition,
        assessed_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        settings,
        actor=actor,
        action="contractor.data_disposed",
        reference=reference,
        now=now,
        disposition=disposition,
        assessment=row.id,
    )
    contractor.next_reassessment_at = contractor.certification_expires_at = None
    set_status(session, settings, contractor, ContractorStatus.OFFBOARDED, now=now, actor=actor)
    return ContractorStatus.OFFBOARDED


# --- the contractor's run (flows/contractors.py): each step its own transaction -----------------


class ContractorNext(StrEnum):
    SELECT = "select"  # the assessment, then the officer's approval
    REGISTER = "register"  # approved: into the system registry
    REASSESS = "reassess"  # an audit report waits, or the annual date has come
    CERTIFICATE = "certificate"  # offboarding: the deletion certificate is awaited
    DONE = "done"


def next_step(settings: Settings, reference: str) -> ContractorNext:
    """What the contractor's run does now, from where the contractor stands."""
    with unit_of_work(settings) as session:
        status = load_contractor(session, reference).status
        if status in (ContractorStatus.APPLIED, ContractorStatus.AWAITING_APPROVAL):
            return ContractorNext.SELECT
        if status == ContractorStatus.APPROVED:
            return ContractorNext.REGISTER
        if needs_reassessment(session, reference, now=utcnow()):
            return ContractorNext.REASSESS
        return ContractorNext.CERTIFICATE if status == ContractorStatus.OFFBOARDING else ContractorNext.DONE


def certificate_received(
    settings: Settings, reference: str, *, disposition: Disposition, certificate: str, actor: str
) -> None:
    with unit_of_work(settings) as session:
        record_disposal(
            session,
            settings,
            reference,
            disposition=disposition,
            certificate=certificate,
            actor=actor,
            now=utcnow(),
        )
