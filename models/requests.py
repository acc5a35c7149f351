"""Personal-information requests: the request, its parties, identity checks, documents,
decision items, fees and payments, and the clock pauses while waiting for the requester.

``RequestCreate`` is the validated public input (docs/contract.md request body); the ``table=True``
classes are only ever built from it or from the database, never from raw input.
"""

import secrets
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError, model_validator
from pydantic import Field as PField
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.columns import enum_field, json_field, timestamp
from models.rules.deadlines import jst_date
from models.rules.states import FeeState, IdentityState
from models.rules.vocabulary import (
    FINAL_STATUSES,
    Delivery,
    GroundCode,
    Outcome,
    RequestType,
    Role,
    Status,
    WaitingFor,
)

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone


def new_reference(now: datetime) -> str:
    """``R-YYMMDD-XXXXXX``: sortable by day (Japan's, as the desk and the requester read it),
    unguessable within it."""
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"R-{jst_date(now):%y%m%d}-{suffix}"


# --- public input -------------------------------------------------------------------------


def _refuse(model: BaseModel, problems: list[tuple[tuple, str]]):
    """``model`` when there are no problems, else a validation error next to each field a
    problem names (a ``ValueError`` would land on the model as a whole)."""
    if not problems:
        return model
    raise ValidationError.from_exception_data(
        type(model).__name__,
        [
            InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=None)
            for loc, message in problems
        ],
    )


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = PField(min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = PField(default=None, max_length=40, pattern=r"^[0-9+\-() ]{6,40}$")
    company: str | None = PField(default=None, max_length=200)
    login_id: str | None = PField(default=None, max_length=64)


class RequesterIn(PartyIn):
    role: Role = Role.PRINCIPAL


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = PField(min_length=1, max_length=64)
    current: str | None = PField(default=None, max_length=500)
    requested: str = PField(max_length=500)


class DetailsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str | None = PField(default=None, max_length=2000)
    include_third_party_records: bool = False
    delivery: Delivery = Delivery.ELECTRONIC
    postal_address: str | None = PField(default=None, max_length=300)
    corrections: list[CorrectionIn] = PField(default_factory=list, max_length=50)
    grounds: str | None = PField(default=None, max_length=4000)
    ground_codes: list[GroundCode] = PField(default_factory=list)

    @model_validator(mode="after")
    def _deliverable_once_each(self) -> "DetailsIn":
        """Post needs an address to post to; a field corrected twice in one request would be
        two decision items under one key, which the review can never store."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.delivery is Delivery.POSTAL and not (self.postal_address or "").strip():
            problems.append((("postal_address",), "postal_address is required when delivery is postal"))
        fields = [c.field for c in self.corrections]
        problems += [
            (("corrections", i, "field"), "this field is already corrected by an earlier entry")
            for i, name in enumerate(fields)
            if name in fields[:i]
        ]
        return _refuse(self, problems)


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_type: RequestType
    language: str = PField(default="ja", pattern="^(ja|en)$")
    principal: PartyIn
    requester: RequesterIn | None = None
    details: DetailsIn = PField(default_factory=DetailsIn)

    @model_validator(mode="after")
    def _principal_asks_for_themself(self) -> "RequestCreate":
        """``requester.role = principal`` is the principal asking for themself (docs/contract.md):
        no agent, as when ``requester`` is left out (kept, it made a second principal party)."""
        if self.requester is not None and self.requester.role is Role.PRINCIPAL:
            self.requester = None
        return self

    @model_validator(mode="after")
    def _type_specific(self) -> "RequestCreate":
        if self.request_type is RequestType.CORRECTION and not self.details.corrections:
            return _refuse(
                self,
                [
                    (
                        ("details", "corrections"),
                        "a correction request needs at least one entry in details.corrections",
                    )
                ],
            )
        return self

    @property
    def role(self) -> Role:
        return self.requester.role if self.requester else Role.PRINCIPAL


# --- tables -------------------------------------------------------------------------------

# The SLA monitor's partial indexes (services/sla.py, services/deadlines.py) hold only what is
# still open. SQLite uses a partial index only when the query repeats its condition word for
# word, so the queries use these very texts.
OPEN_REQUEST = text("status NOT IN (" + ", ".join(f"'{s}'" for s in sorted(FINAL_STATUSES)) + ")")
OPEN_PAUSE = text("ended_at IS NULL")


class RequestBase(SQLModel):
    request_type: RequestType = enum_field(RequestType, index=True)
    language: str = "ja"
    status: Status = enum_field(Status, Status.RECEIVED, index=True)
    waiting_for: WaitingFor | None = enum_field(WaitingFor, None)
    outcome: Outcome | None = enum_field(Outcome, None)


class Request(RequestBase, table=True):
    __tablename__ = "request"
    __table_args__ = (
        Index("ix_request_open_due", "due_at", sqlite_where=OPEN_REQUEST, postgresql_where=OPEN_REQUEST),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)
    status_token_hash: str = Field(max_length=128)
    role: Role = enum_field(Role, Role.PRINCIPAL)
    details: dict = json_field(dict)
    reason_codes: list = json_field(list)
    received_at: datetime = timestamp(index=True)
    due_at: datetime | None = timestamp(nullable=True, index=True)
    closed_at: datetime | None = timestamp(nullable=True)
    updated_at: datetime = timestamp()
    subject: dict = json_field(dict)  # the subject's ids in each system, found once at identity
    flow_run_id: str | None = Field(default=None, max_length=64)
    approved_by: str | None = None  # the privacy officer who signed off a (partial) refusal
    approved_at: datetime | None = timestamp(nullable=True)
    policy_version: int | None = None  # the privacy policy in force when it was received (models/policy.py)


class RequestPublic(RequestBase):
    """What the requester's status page shows: no personal data of anyone."""

    reference: str
    received_at: datetime
    due_at: datetime | None
    reason_codes: list[str]


class Party(SQLModel, table=True):
    """A person on a request: the principal, and the agent when someone acts for them."""

    __tablename__ = "party"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    role: Role = enum_field(Role)
    is_requester: bool
    name: str
    email: str = Field(index=True)
    phone: str | None = None
    company: str | None = None
    login_id: str | None = None
    customer_ref: str | None = Field(default=None, description="customer id once matched")


class IdentityCheck(SQLModel, table=True):
    """One identity check of one party: one-time code state or an operator's document review."""

    __tablename__ = "identity_check"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    party_id: int = Field(foreign_key="party.id")
    method: str  # one_time_code | documents
    state: IdentityState = enum_field(IdentityState, IdentityState.PENDING)
    code_hash: str | None = None
    codes_issued: int = 0
    attempts: int = 0
    expires_at: datetime | None = timestamp(nullable=True)
    decided_by: str | None = None
    decided_at: datetime | None = timestamp(nullable=True)


class Document(SQLModel, table=True):
    """An uploaded identity or authority document; the file lives outside the web root. Once
    purged (after the request closed), the file is gone and only what the audit needs stays."""

    __tablename__ = "document"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    kind: str
    stored_path: str | None  # None once purged
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime = timestamp()
    purged_at: datetime | None = timestamp(nullable=True)


class ClockPause(SQLModel, table=True):
    """Time spent awaiting the requester, which extends the decision's due date."""

    __tablename__ = "clock_pause"
    __table_args__ = (
        Index(
            "ix_clock_pause_open_deadline",
            "deadline_at",
            sqlite_where=OPEN_PAUSE,
            postgresql_where=OPEN_PAUSE,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    waiting_for: WaitingFor = enum_field(WaitingFor)
    started_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True)
    deadline_at: datetime = timestamp()


class DecisionItem(SQLModel, table=True):
    """One item of the feasibility decision: the pre-screen's proposal and the final word."""

    __tablename__ = "decision_item"
    __table_args__ = (UniqueConstraint("request_id", "item_key"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    item_key: str = Field(max_length=128)
    system_key: str | None = None
    proposed_action: str
    proposed_reasons: list = json_field(list)
    system_action: str | None = None  # what fulfilment would ask of the system (SystemAction)
    record_count: int = 0  # records located, for the operator's summary
    paper_instead: bool = False  # disclosure on paper although electronic was asked for
    final_action: str | None = None
    final_reasons: list = json_field(list)
    final_system_action: str | None = None  # what fulfilment asks, once decided
    decided_by: str | None = None
    decided_at: datetime | None = timestamp(nullable=True)


class Fee(SQLModel, table=True):
    __tablename__ = "fee"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", unique=True)
    amount_yen: int
    postage_yen: int = 0
    state: FeeState = enum_field(FeeState, FeeState.REQUESTED)
    requested_at: datetime = timestamp()
    due_at: datetime = timestamp()


class Payment(SQLModel, table=True):
    __tablename__ = "payment"

    id: int | None = Field(default=None, primary_key=True)
    fee_id: int = Field(foreign_key="fee.id", index=True)
    amount_yen: int
    method: str
    provider_ref: str | None = Field(default=None, unique=True)
    confirmed_by: str
    paid_at: datetime = timestamp()
