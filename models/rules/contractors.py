"""Choosing and supervising contractors that handle personal data (Art. 25; GL 3-4-4;
docs/rules.md §7 and §9; policy §3.1).

Selection: a scored security questionnaire over the GL 10 categories, certifications as
extra points, and hard blockers that no score can outweigh. Contract: a clause-by-clause
checklist. Supervision: an annual reassessment and certification expiry warnings.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from models.rules.deadlines import add_years

HOME_COUNTRY = "JP"
MAX_ANSWER = 3  # 0 nothing, 1 partly, 2 documented, 3 documented and checked (audit, test)


class SecurityCategory(StrEnum):
    """Security measures of GL 10."""

    BASIC_POLICY = "basic_policy"
    HANDLING_RULES = "handling_rules"
    ORGANISATIONAL = "organisational"  # responsible person, logs, incident response
    HUMAN = "human"  # training, confidentiality undertakings
    PHYSICAL = "physical"  # areas, devices, media
    TECHNICAL = "technical"  # access control, authentication, leak prevention
    FOREIGN_REGIME = "foreign_regime"  # knowing the regime where data is handled abroad


class CertificationKind(StrEnum):
    ISMS = "isms"  # ISO/IEC 27001
    PRIVACY_MARK = "privacy_mark"  # JIS Q 15001


@dataclass(frozen=True)
class Certificate:
    kind: CertificationKind
    expires_on: date


class Blocker(StrEnum):
    NO_BREACH_NOTICE_DUTY = "no_breach_notice_duty"
    UNAPPROVED_FOREIGN_STORAGE = "unapproved_foreign_storage"
    REFUSES_AUDIT = "refuses_audit"
    SUBCONTRACTS_WITHOUT_APPROVAL = "subcontracts_without_approval"
    NO_RETURN_OR_DELETION = "no_return_or_deletion"


class Selection(StrEnum):
    APPROVE = "approve"
    CONDITIONAL = "conditional"  # approve once the weak points are fixed, privacy officer decides
    REJECT = "reject"


@dataclass(frozen=True)
class ContractorPolicy:
    approve_score: int = 70
    conditional_score: int = 50
    certificate_points: Mapping[CertificationKind, int] = field(
        default_factory=lambda: {CertificationKind.ISMS: 10, CertificationKind.PRIVACY_MARK: 10}
    )
    approved_countries: frozenset[str] = frozenset({HOME_COUNTRY})
    max_breach_notice_days: int = 5  # docs/rules.md §7: about 3–5 days
    certificate_warning_days: int = 60


@dataclass(frozen=True)
class Questionnaire:
    answers: Mapping[SecurityCategory, int]  # 0..3 per category
    certificates: tuple[Certificate, ...] = ()
    accepts_breach_notice: bool = True
    accepts_audit: bool = True
    storage_countries: frozenset[str] = frozenset({HOME_COUNTRY})
    subcontracts_without_approval: bool = False
    returns_or_deletes_at_end: bool = True


@dataclass(frozen=True)
class Assessment:
    selection: Selection
    score: int  # 0..100
    blockers: tuple[Blocker, ...]
    weak_categories: tuple[SecurityCategory, ...]  # answered 0 (or not at all)


def applicable_categories(storage_countries: Iterable[str]) -> tuple[SecurityCategory, ...]:
    """Knowledge of a foreign regime only matters when data is handled abroad (Art. 28, GL 10-7)."""
    abroad = any(c != HOME_COUNTRY for c in storage_countries)
    return tuple(c for c in SecurityCategory if abroad or c is not SecurityCategory.FOREIGN_REGIME)


def blockers_of(q: Questionnaire, policy: ContractorPolicy) -> tuple[Blocker, ...]:
    flags = {
        Blocker.NO_BREACH_NOTICE_DUTY: not q.accepts_breach_notice,
        Blocker.UNAPPROVED_FOREIGN_STORAGE: not set(q.storage_countries) <= policy.approved_countries,
        Blocker.REFUSES_AUDIT: not q.accepts_audit,
        Blocker.SUBCONTRACTS_WITHOUT_APPROVAL: q.subcontracts_without_approval,
        Blocker.NO_RETURN_OR_DELETION: not q.returns_or_deletes_at_end,
    }
    return tuple(b for b, on in flags.items() if on)


def security_score(q: Questionnaire, *, today: date, policy: ContractorPolicy) -> int:
    """80 points for the questionnaire over the applicable categories, plus the points of
    certifications still valid ``today``; at most 100."""
    categories = applicable_categories(q.storage_countries)
    answered = sum(min(max(q.answers.get(c, 0), 0), MAX_ANSWER) for c in categories)
    base = 80 * answered / (MAX_ANSWER * len(categories))
    kinds = {c.kind for c in q.certificates if c.expires_on >= today}
    return min(100, round(base) + sum(policy.certificate_points.get(k, 0) for k in kinds))


def assess_contractor(
    q: Questionnaire, *, today: date, policy: ContractorPolicy = ContractorPolicy()
) -> Assessment:
    """Art. 25 and GL 3-4-4: measures at least at the Art. 23 level, verified before signing.
    Any blocker or a low score rejects; a category with nothing in place keeps it conditional."""
    blockers = blockers_of(q, policy)
    score = security_score(q, today=today, policy=policy)
    weak = tuple(c for c in applicable_categories(q.storage_countries) if q.answers.get(c, 0) <= 0)
    if blockers or score < policy.conditional_score:
        selection = Selection.REJECT
    elif weak or score < policy.approve_score:
        selection = Selection.CONDITIONAL
    else:
        selection = Selection.APPROVE
    return Assessment(selection, score, blockers, weak)


# --- the contract --------------------------------------------------------------------------


class Clause(StrEnum):
    CONFIDENTIALITY = "confidentiality"
    PURPOSE_LIMITATION = "purpose_limitation"  # use only for the entrusted work
    SUBCONTRACTING_BY_APPROVAL = "subcontracting_by_approval"
    SECURITY_MEASURES = "security_measures"
    BREACH_NOTICE = "breach_notice"  # within the policy's maximum of days
    AUDIT_RIGHTS = "audit_rights"  # the company may know how data is handled
    DATA_LOCATION = "data_location"  # where data is stored and handled (Art. 28)
    RETURN_OR_DELETION = "return_or_deletion"  # at the end of the contract


@dataclass(frozen=True)
class ContractTerms:
    clauses: frozenset[Clause]
    breach_notice_days: int | None = None
    stated_countries: frozenset[str] = frozenset()


def missing_clauses(
    terms: ContractTerms, storage_countries: Iterable[str], policy: ContractorPolicy = ContractorPolicy()
) -> tuple[Clause, ...]:
    """Clauses the contract lacks (GL 3-4-4). A breach notice slower than the policy's maximum,
    or a location clause that leaves out a country where data is handled, counts as missing."""
    missing = []
    for clause in Clause:
        present = clause in terms.clauses
        if clause is Clause.BREACH_NOTICE:
            present = (
                present
                and terms.breach_notice_days is not None
                and terms.breach_notice_days <= policy.max_breach_notice_days
            )
        elif clause is Clause.DATA_LOCATION:
            present = present and set(storage_countries) <= terms.stated_countries
        if not present:
            missing.append(clause)
    return tuple(missing)


# --- supervision ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Supervision:
    reassessment_due: date
    reassessment_overdue: bool
    expiring: tuple[Certificate, ...]
    expired: tuple[Certificate, ...]


def supervision_status(
    last_assessed: date,
    certificates: Iterable[Certificate],
    *,
    today: date,
    policy: ContractorPolicy = ContractorPolicy(),
) -> Supervision:
    """Periodic supervision (GL 3-4-4): reassess every year; warn before a certificate expires."""
    due = add_years(last_assessed, 1)
    horizon = today + timedelta(days=policy.certificate_warning_days)
    certificates = tuple(certificates)
    return Supervision(
        reassessment_due=due,
        reassessment_overdue=today > due,
        expiring=tuple(c for c in certificates if today <= c.expires_on <= horizon),
        expired=tuple(c for c in certificates if c.expires_on < today),
    )
