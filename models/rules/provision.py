"""Giving personal data to someone else (Arts. 27–30; docs/rules.md §5).

Prior consent is the rule; Art. 27(1) lists the exceptions, Art. 27(5) the cases that are not
third-party provision at all, and Art. 28 adds conditions for recipients abroad (foreign
contractors included). The provider keeps a record (Art. 29) except in Art. 27(1) and 27(5)
cases; that record is what Art. 33(5) lets the principal see.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from models.rules.deadlines import add_years
from models.rules.vocabulary import ProvisionBasis as B

EXCEPTIONS = {  # Art. 27(1) items
    B.LAW: "Art. 27(1)(i)",
    B.WARRANT: "Art. 27(1)(i); Code of Criminal Procedure Art. 218",
    B.POLICE_WRITTEN_INQUIRY: "Art. 27(1)(i); Code of Criminal Procedure Art. 197(2)",
    B.TAX_INVESTIGATION: "Art. 27(1)(i); Act on General Rules for National Taxes Art. 74-2",
    B.BAR_ASSOCIATION_INQUIRY: "Art. 27(1)(i); Attorney Act Art. 23-2",
    B.LIFE_BODY_PROPERTY: "Art. 27(1)(ii)",
    B.PUBLIC_HEALTH_CHILDREN: "Art. 27(1)(iii)",
    B.STATE_COOPERATION: "Art. 27(1)(iv)",
    B.ACADEMIC_RESEARCH: "Art. 27(1)(v)-(vii)",
}
NOT_THIRD_PARTY = {  # Art. 27(5) items
    B.OUTSOURCING: "Art. 27(5)(i)",
    B.BUSINESS_SUCCESSION: "Art. 27(5)(ii)",
    B.JOINT_USE: "Art. 27(5)(iii)",
}
NEEDS_WRITTEN_REQUEST = frozenset({B.WARRANT, B.POLICE_WRITTEN_INQUIRY, B.BAR_ASSOCIATION_INQUIRY})
NEEDS_CONSENT_HARD_TO_GET = frozenset({B.LIFE_BODY_PROPERTY, B.PUBLIC_HEALTH_CHILDREN})
_BASIS_VALUES = frozenset(b.value for b in B)
RECORD_YEARS = 3
CONTRACT_RECORD_YEARS = 1


class RecordItem(StrEnum):
    """What the provider's record must say for a consent-based provision (Rules Art. 20)."""

    CONSENT = "consent"  # that the principal consented
    RECIPIENT = "recipient"  # name or other details identifying the recipient
    PRINCIPAL = "principal"  # details identifying whose data it was
    DATA_ITEMS = "data_items"  # which items of personal data


class Problem(StrEnum):
    NO_CONSENT = "no_consent"
    NO_WRITTEN_REQUEST = "no_written_request"
    CONSENT_NOT_HARD_TO_GET = "consent_not_hard_to_get"
    WOULD_NOT_OBSTRUCT = "asking_would_not_obstruct_state_duty"
    OUTSIDE_ENTRUSTED_PURPOSE = "outside_entrusted_purpose"
    JOINT_USE_NOT_ANNOUNCED = "joint_use_not_announced"
    FOREIGN_WITHOUT_REGIME_CONSENT = "foreign_recipient_without_regime_consent"


@dataclass(frozen=True)
class ProvisionRequest:
    """A proposed provision, with the facts each basis depends on."""

    basis: B
    foreign_recipient: bool = False
    consent_on_record: bool = False
    written_request: bool = False  # warrant, written police inquiry, bar inquiry
    consent_hard_to_get: bool = False  # Art. 27(1)(ii), (iii)
    asking_would_obstruct: bool = False  # Art. 27(1)(iv)
    within_entrusted_purpose: bool = False  # Art. 27(5)(i)
    joint_use_announced: bool = False  # Art. 27(5)(iii)
    # Art. 28(1): consent given with information on the country's regime (Rules Art. 17)
    consent_with_regime_info: bool = False
    # Art. 28(1): the country is designated (EEA, UK) or the recipient has an equivalent system
    country_designated_or_equivalent_system: bool = False


@dataclass(frozen=True)
class ProvisionDecision:
    allowed: bool
    basis: B
    article: str
    third_party_provision: bool
    record_required: bool
    record_items: tuple[RecordItem, ...]
    problems: tuple[Problem, ...]


def article_of(basis: B) -> str:
    return EXCEPTIONS.get(basis) or NOT_THIRD_PARTY.get(basis) or "Art. 27(1) (consent)"


def record_required(basis: B) -> bool:
    """Art. 29(1) proviso: no record for Art. 27(1) exceptions nor Art. 27(5) cases."""
    return B(basis) is B.CONSENT


def is_disclosable_record(basis: str | None, foreign: bool) -> bool:
    """Whether a recorded provision is one Art. 33(5) lets the principal see: the records the
    law requires (Art. 29(1)). None for an Art. 27(1) exception, nor for outsourcing,
    succession or joint use at home (Art. 27(5)); abroad those need a record (Art. 28). A basis
    outside the vocabulary is a provision without consent, which the principal must be able
    to see. The one rule for the pre-screen and the disclosure package."""
    if basis in EXCEPTIONS:
        return False
    return foreign or basis not in NOT_THIRD_PARTY


def is_lawful_record(basis: str | None) -> bool:
    """A recorded provision is lawful when it has consent or a statutory ground (a fixture's
    ``third_party_provisions.basis``); anything else is a provision without consent, which
    grounds a stop-of-provision request (Art. 35(3))."""
    return basis in _BASIS_VALUES


def assess_provision(req: ProvisionRequest) -> ProvisionDecision:
    """Whether the provision may go ahead, on which basis, and what must be recorded."""
    basis = B(req.basis)
    problems: list[Problem] = []
    if basis is B.CONSENT and not req.consent_on_record:
        problems.append(Problem.NO_CONSENT)
    if basis in NEEDS_WRITTEN_REQUEST and not req.written_request:
        problems.append(Problem.NO_WRITTEN_REQUEST)
    if basis in NEEDS_CONSENT_HARD_TO_GET and not req.consent_hard_to_get:
        problems.append(Problem.CONSENT_NOT_HARD_TO_GET)
    if basis is B.STATE_COOPERATION and not req.asking_would_obstruct:
        problems.append(Problem.WOULD_NOT_OBSTRUCT)
    if basis is B.OUTSOURCING and not req.within_entrusted_purpose:
        problems.append(Problem.OUTSIDE_ENTRUSTED_PURPOSE)
    if basis is B.JOINT_USE and not req.joint_use_announced:
        problems.append(Problem.JOINT_USE_NOT_ANNOUNCED)

    third_party = basis not in NOT_THIRD_PARTY
    needs_record = record_required(basis)
    # Art. 28(1): abroad, Art. 27(5) does not apply and consent must come with information on
    # the regime, unless the country is designated or the recipient has an equivalent system.
    # Art. 27(1) exceptions apply abroad too.
    if req.foreign_recipient and basis not in EXCEPTIONS and not req.country_designated_or_equivalent_system:
        if not (req.consent_on_record and req.consent_with_regime_info):
            problems.append(Problem.FOREIGN_WITHOUT_REGIME_CONSENT)
        third_party, needs_record = True, True

    return ProvisionDecision(
        allowed=not problems,
        basis=basis,
        article=article_of(basis),
        third_party_provision=third_party,
        record_required=needs_record,
        record_items=tuple(RecordItem) if needs_record else (),
        problems=tuple(problems),
    )


def record_retention_until(
    recorded_on: date, *, contract_is_record: bool = False, last_provision_on: date | None = None
) -> date:
    """Rules Art. 21: keep the record 3 years; when the contract serves as the record of a
    continuing provision, 1 year from the last provision."""
    if contract_is_record:
        return add_years(last_provision_on or recorded_on, CONTRACT_RECORD_YEARS)
    return add_years(recorded_on, RECORD_YEARS)
