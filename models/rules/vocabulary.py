"""The words of the public contract (docs/contract.md): request types, statuses, roles, codes.

Every value is the exact string the HTTP API, the CLI and the fixtures use.
"""

from enum import StrEnum


class RequestType(StrEnum):
    PURPOSE_NOTIFICATION = "purpose_notification"
    DISCLOSURE = "disclosure"
    CORRECTION = "correction"
    SUSPENSION = "suspension"
    ERASURE = "erasure"
    STOP_THIRD_PARTY_PROVISION = "stop_third_party_provision"


class Status(StrEnum):
    RECEIVED = "received"
    IDENTITY_VERIFICATION = "identity_verification"
    AWAITING_REQUESTER = "awaiting_requester"
    REVIEW = "review"
    AWAITING_APPROVAL = "awaiting_approval"
    FULFILMENT = "fulfilment"
    COMPLETED = "completed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.COMPLETED, Status.REFUSED, Status.WITHDRAWN, Status.CLOSED})


class WaitingFor(StrEnum):
    ONE_TIME_CODE = "one_time_code"
    DOCUMENTS = "documents"
    IDENTITY_DOCUMENT = "identity_document"  # post: the copy of an identity document, by post
    CLARIFICATION = "clarification"
    PAYMENT = "payment"


class Outcome(StrEnum):
    GRANTED = "granted"
    PARTIALLY_GRANTED = "partially_granted"
    REFUSED = "refused"


class Role(StrEnum):
    PRINCIPAL = "principal"
    LEGAL_REPRESENTATIVE = "legal_representative"
    APPOINTED_AGENT = "appointed_agent"


class ReasonCode(StrEnum):
    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    AGENT_AUTHORITY_NOT_SHOWN = "agent_authority_not_shown"
    POSTAL_IDENTITY_NOT_VERIFIED = "postal_identity_not_verified"
    PHONE_IDENTITY_NOT_VERIFIED = "phone_identity_not_verified"
    NO_RETAINED_PERSONAL_DATA = "no_retained_personal_data"
    HARM_TO_LIFE_OR_PROPERTY = "harm_to_life_or_property"
    BUSINESS_INTERFERENCE = "business_interference"
    OTHER_LAW_VIOLATION = "other_law_violation"
    OTHER_LAW_PROCEDURE = "other_law_procedure"
    CONTENT_ACCURATE = "content_accurate"
    NO_STATUTORY_GROUND = "no_statutory_ground"
    ALTERNATIVE_MEASURE = "alternative_measure"
    LEGAL_RETENTION_DUTY = "legal_retention_duty"
    UNPAID_FEE = "unpaid_fee"
    CLARIFICATION_NOT_RECEIVED = "clarification_not_received"
    REQUEST_WITHDRAWN = "request_withdrawn"


class GroundCode(StrEnum):
    """Grounds a requester may state for suspension, erasure or stop of provision (Art. 35)."""

    UNLAWFUL_USE = "unlawful_use"
    IMPROPER_ACQUISITION = "improper_acquisition"
    NO_LONGER_NEEDED = "no_longer_needed"
    LEAK_OCCURRED = "leak_occurred"
    RIGHTS_HARMED = "rights_harmed"
    PROVISION_WITHOUT_CONSENT = "provision_without_consent"


class Delivery(StrEnum):
    ELECTRONIC = "electronic"
    POSTAL = "postal"


class Origin(StrEnum):
    """How a system came to hold a subject's data (fixture ``provenance.origin``)."""

    COLLECTED = "collected"
    AUTHORITY_INQUIRY = "authority_inquiry"
    HELD_FOR_OTHER_COMPANY = "held_for_other_company"


class SystemAction(StrEnum):
    """What fulfilment asks of a system that holds personal data."""

    EXPORT = "export"
    RECTIFY = "rectify"
    ERASE = "erase"
    RESTRICT = "restrict"
    STOP_PROVISION = "stop_provision"


class ProvisionBasis(StrEnum):
    """Why personal data went to someone else (fixture ``third_party_provisions.basis``).

    ``consent`` or a statutory exception of Art. 27(1); the last three are not third-party
    provision at all (Art. 27(5)). There is deliberately no "protect our rights" value: the
    policy's broader wording counts only within these grounds (docs/rules.md §5).
    """

    CONSENT = "consent"
    LAW = "law"
    WARRANT = "warrant"
    POLICE_WRITTEN_INQUIRY = "police_written_inquiry"
    TAX_INVESTIGATION = "tax_investigation"
    BAR_ASSOCIATION_INQUIRY = "bar_association_inquiry"
    LIFE_BODY_PROPERTY = "life_body_property"
    PUBLIC_HEALTH_CHILDREN = "public_health_children"
    STATE_COOPERATION = "state_cooperation"
    ACADEMIC_RESEARCH = "academic_research"
    OUTSOURCING = "outsourcing"
    BUSINESS_SUCCESSION = "business_succession"
    JOINT_USE = "joint_use"
