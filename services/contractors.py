"""Contractor onboarding (docs/product.md §2, docs/rules.md §7): application → scored assessment and
contract checklist → the privacy officer's decision → registration in the system registry.
Supervision and offboarding are in ``services/contractor_supervision.py``.

No Prefect here. Every step is idempotent (a replayed step finds its row and returns what it
wrote) and audited with references and codes only; the contractor's ``status`` is always
where it stands."""

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from pydantic import BaseModel
from sqlmodel import Session, col, select

from models.contractor_application import ContractorApplication
from models.contractors import Contractor, ContractorAssessment
from models.contractors import ContractorStatus as S
from models.db import row_id, unit_of_work, utcnow
from models.rules.contractors import (
    Certificate,
    CertificationKind,
    ContractTerms,
    Questionnaire,
    Selection,
    assess_contractor,
    missing_clauses,
    supervision_status,
)
from models.rules.deadlines import JST, jst_date
from models.settings import Settings
from services.common import NotFound, audit, load_by_reference, remember_run
from systems.base import Category, SystemDef, SystemInfo
from systems.registry import Registry

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class ContractorNotFound(NotFound):
    """No contractor has that reference."""


class ApplicationInvalid(ValueError):
    """The application names systems or data categories the registry does not know."""


class ApprovalInvalid(ValueError):
    """An approval the rules do not allow (a clause is missing from the contract)."""


class Proposal(BaseModel):
    """The assessment and checklist as the flow and the officer see them: codes only."""

    reference: str
    status: str
    selection: str
    score: int
    blockers: list[str]
    weak_categories: list[str]
    missing_clauses: list[str]
    proposal: str  # approve | reject: what autopilot takes and the officer's form starts from


def load_contractor(session: Session, reference: str) -> Contractor:
    return load_by_reference(session, Contractor, reference, ContractorNotFound)


def system_key(reference: str) -> str:
    """The contractor's key in the system registry."""
    return reference.lower().replace("-", "_")


def at_day(day: date) -> datetime:
    return datetime.combine(day, time(0), JST)


def certificates_of(contractor: Contractor) -> tuple[Certificate, ...]:
    return tuple(
        Certificate(CertificationKind(c["kind"]), date.fromisoformat(c["expires_on"]))
        for c in contractor.certifications
    )


def set_status(
    session: Session,
    settings: Settings,
    contractor: Contractor,
    status: S,
    *,
    now: datetime,
    actor: str = "system",
    **details,
) -> None:
    """Move the contractor's status, audited; a no-op if unchanged."""
    if contractor.status == status:
        return
    audit(
        session,
        settings,
        actor=actor,
        action="contractor.status",
        reference=contractor.reference,
        now=now,
        status=str(status),
        previous=str(contractor.status),
        **details,
    )
    contractor.status, contractor.updated_at = status, now
    session.add(contractor)


# --- application ---------------------------------------------------------------------------


def category_catalogue(systems: Iterable[SystemInfo]) -> dict[str, Category]:
    """Every data category ``systems`` hold, by key."""
    return {c.key: c for info in systems for c in info.categories}


def _check_catalogue(data: ContractorApplication, registry: Registry) -> None:
    unknown = sorted(set(data.systems) - set(registry.keys()))
    if unknown:
        raise ApplicationInvalid(f"unknown systems: {', '.join(unknown)}")
    unknown = sorted(set(data.data_categories) - set(category_catalogue(registry)))
    if unknown:
        raise ApplicationInvalid(f"unknown data categories: {', '.join(unknown)}")


def apply(
    session: Session,
    settings: Settings,
    data: ContractorApplication,
    *,
    registry: Registry,
    now: datetime,
    actor: str = "applicant",
) -> str:
    """Record the application and its pending onboarding assessment; returns the reference.
    ``registry``: the systems and data categories it may name."""
    _check_catalogue(data, registry)
    reference = f"CT-{now:%y%m%d}-{''.join(secrets.choice(_ALPHABET) for _ in range(6))}"
    contractor = Contractor(
        reference=reference,
        name=data.name,
        services=data.services,
        data_categories=sorted(set(data.data_categories)),
        systems=sorted(set(data.systems)),
        locations=[loc.model_dump() for loc in data.locations],
        subcontractors=[s.model_dump() for s in data.subcontractors],
        certifications=[c.model_dump(mode="json") for c in data.certifications],
        status=S.APPLIED,
        created_at=now,
        updated_at=now,
    )
    session.add(contractor)
    session.flush()
    session.add(
        ContractorAssessment(
            contractor_id=row_id(contractor),
            kind="onboarding",
            assessed_at=now,
            answers={
                "questionnaire": data.questionnaire.model_dump(mode="json"),
                "contract": data.contract.model_dump(mode="json"),
                "countries": data.countries,
            },
        )
    )
    audit(
        session,
        settings,
        actor=actor,
        action="contractor.applied",
        reference=reference,
        now=now,
        systems=contractor.systems,
        data_categories=contractor.data_categories,
        countries=data.countries,
        subcontractors=len(data.subcontractors),
        certifications=sorted({str(c.kind) for c in data.certifications}),
    )
    return reference


# --- assessment and contract ---------------------------------------------------------------


def latest(session: Session, contractor: Contractor, kind: str) -> ContractorAssessment | None:
    return session.exec(
        select(ContractorAssessment)
        .where(ContractorAssessment.contractor_id == contractor.id, ContractorAssessment.kind == kind)
        .order_by(col(ContractorAssessment.id).desc())
    ).first()


def onboarding(session: Session, contractor: Contractor) -> ContractorAssessment:
    """The assessment of the application, made with it (:func:`apply`)."""
    row = latest(session, contractor, "onboarding")
    if row is None:
        raise LookupError(f"{contractor.reference} has no onboarding assessment")
    return row


def assessments(session: Session, contractor: Contractor) -> list[ContractorAssessment]:
    return list(
        session.exec(
            select(ContractorAssessment)
            .where(ContractorAssessment.contractor_id == contractor.id)
            .order_by(col(ContractorAssessment.id))
        )
    )


def questionnaire_of(answers: dict) -> Questionnaire:
    q = answers["questionnaire"]
    return Questionnaire(
        answers=q["answers"],
        accepts_breach_notice=q["accepts_breach_notice"],
        accepts_audit=q["accepts_audit"],
        subcontracts_without_approval=q["subcontracts_without_approval"],
        returns_or_deletes_at_end=q["returns_or_deletes_at_end"],
        storage_countries=frozenset(answers["countries"]),
    )


def score(session: Session, contractor: Contractor, row: ContractorAssessment, *, now: datetime) -> None:
    """Score the row's answers with the certificates valid today; the contract checklist too
    when the row has a contract (onboarding)."""
    q = replace(questionnaire_of(row.answers), certificates=certificates_of(contractor))
    result = assess_contractor(q, today=jst_date(now))
    row.score, row.verdict = result.score, str(result.selection)
    row.blockers = [str(b) for b in result.blockers]
    row.answers = {**row.answers, "weak_categories": [str(c) for c in result.weak_categories]}
    contract = row.answers.get("contract")
    if contract is not None:
        terms = ContractTerms(
            frozenset(contract["clauses"]),
            contract["breach_notice_days"],
            frozenset(contract["stated_countries"]),
        )
        row.missing_clauses = [str(c) for c in missing_clauses(terms, q.storage_countries)]
    row.assessed_at = now
    session.add(row)


def proposal_of(contractor: Contractor, row: ContractorAssessment) -> Proposal:
    clean = row.verdict == Selection.APPROVE and not row.missing_clauses
    return Proposal(
        reference=contractor.reference,
        status=str(contractor.status),
        selection=row.verdict or "",
        score=row.score or 0,
        blockers=list(row.blockers),
        weak_categories=list(row.answers.get("weak_categories", [])),
        missing_clauses=list(row.missing_clauses),
        proposal="approve" if clean else "reject",
    )


def assess(session: Session, settings: Settings, reference: str, *, now: datetime) -> Proposal:
    """Score the application and check the contract clause by clause. A hard blocker or a
    score below the bar rejects here; anything else waits for the privacy officer."""
    contractor = load_contractor(session, reference)
    row = onboarding(session, contractor)
    if contractor.status == S.APPLIED:
        score(session, contractor, row, now=now)
        audit(
            session,
            settings,
            actor="system",
            action="contractor.assessed",
            reference=reference,
            now=now,
            score=row.score,
            selection=row.verdict,
            blockers=row.blockers,
            weak_categories=row.answers["weak_categories"],
            missing_clauses=row.missing_clauses,
        )
        if row.verdict == Selection.REJECT:
            set_status(
                session, settings, contractor, S.REJECTED, now=now, blockers=row.blockers, score=row.score
            )
        else:
            set_status(session, settings, contractor, S.AWAITING_APPROVAL, now=now)
    return proposal_of(contractor, row)


# --- the officer's decision and registration -----------------------------------------------


def decide(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    approve: bool,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> S:
    """The privacy officer approves or rejects. No approval while a clause is missing: the
    contract must fix them before signing (Art. 25). Deciding again changes nothing."""
    contractor = load_contractor(session, reference)
    if contractor.status != S.AWAITING_APPROVAL:
        return S(contractor.status)
    row = onboarding(session, contractor)
    if approve and row.missing_clauses:
        raise ApprovalInvalid(f"{reference}: clauses missing: {', '.join(row.missing_clauses)}")
    row.approved_by = actor
    session.add(row)
    audit(
        session,
        settings,
        actor=actor,
        action="contractor.approval",
        reference=reference,
        now=now,
        approved=approve,
        reason=reason,
        selection=row.verdict,
        score=row.score,
    )
    if not approve:
        set_status(session, settings, contractor, S.REJECTED, now=now, actor=actor)
        return S.REJECTED
    schedule_supervision(contractor, last_assessed=jst_date(now))
    set_status(session, settings, contractor, S.APPROVED, now=now, actor=actor)
    return S.APPROVED


def schedule_supervision(contractor: Contractor, *, last_assessed: date) -> date:
    """The annual reassessment and the first certificate to expire (GL 3-4-4); the day of the
    reassessment."""
    certificates = certificates_of(contractor)
    due = supervision_status(last_assessed, certificates, today=last_assessed).reassessment_due
    contractor.next_reassessment_at = at_day(due)
    contractor.certification_expires_at = (
        at_day(min(c.expires_on for c in certificates)) if certificates else None
    )
    return due


def register(session: Session, settings: Settings, reference: str, *, now: datetime) -> S:
    """An approved contractor enters the system registry: from now on the request lifecycle
    locates and acts on the data it holds."""
    contractor = load_contractor(session, reference)
    if contractor.status == S.APPROVED:
        audit(
            session,
            settings,
            actor="system",
            action="contractor.registered",
            reference=reference,
            now=now,
            system_key=system_key(reference),
            systems=contractor.systems,
            data_categories=contractor.data_categories,
            next_reassessment=_iso_day(contractor.next_reassessment_at),
        )
        set_status(session, settings, contractor, S.ACTIVE, now=now)
    return S(contractor.status)


# --- the contractor's run (flows/contractors.py): each step its own transaction -----------------


def start_run(settings: Settings, reference: str, flow_run_id: str) -> None:
    """Note the run that may wait for the officer: the command line answers it through this id."""
    with unit_of_work(settings) as session:
        remember_run(session, load_contractor(session, reference), flow_run_id)


def status(settings: Settings, reference: str) -> S:
    with unit_of_work(settings) as session:
        return S(load_contractor(session, reference).status)


def officer_decided(
    settings: Settings, reference: str, *, approve: bool, reason: str | None, actor: str
) -> S:
    """:func:`decide` on the officer's answer; :class:`ApprovalInvalid` while a clause is missing."""
    with unit_of_work(settings) as session:
        return decide(session, settings, reference, approve=approve, reason=reason, actor=actor, now=utcnow())


# --- the registry's view -------------------------------------------------------------------


def system_def(contractor: Contractor, template: SystemDef, catalogue: Mapping[str, Category]) -> SystemDef:
    """A registered contractor as a system: reached like ``template`` (in the demo, the
    delivery partner's consignment API over a store of its own), holding the data categories
    of ``catalogue`` it was approved for."""
    info = SystemInfo(
        key=system_key(contractor.reference),
        name_ja=contractor.name,
        name_en=contractor.name,
        actions=template.info.actions,
        contractor=contractor.name,
        categories=tuple(catalogue[k] for k in contractor.data_categories if k in catalogue),
    )
    return replace(template, info=info)


def registered_systems(
    settings: Settings, template: SystemDef, catalogue: Mapping[str, Category]
) -> dict[str, SystemDef]:
    """The active contractors' systems (:func:`system_def`), read afresh: offboarding removes
    one at once."""
    with unit_of_work(settings) as session:
        active = session.exec(
            select(Contractor).where(Contractor.status == S.ACTIVE).order_by(col(Contractor.id))
        ).all()
    return {d.key: d for d in (system_def(c, template, catalogue) for c in active)}


@dataclass(frozen=True)
class Summary:
    """One contractor for listings: references and codes, the company name."""

    reference: str
    name: str
    status: str
    system_key: str
    next_reassessment: str | None
    certification_expires: str | None


def _iso_day(value: datetime | None) -> str | None:
    return jst_date(value).isoformat() if value else None


def summaries(session: Session) -> list[Summary]:
    return [
        Summary(
            c.reference,
            c.name,
            str(c.status),
            system_key(c.reference),
            _iso_day(c.next_reassessment_at),
            _iso_day(c.certification_expires_at),
        )
        for c in session.exec(select(Contractor).order_by(col(Contractor.id)))
    ]
