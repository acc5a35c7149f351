"""Records the law asks the company to keep: third-party provisions, marketing consent,
inquiries. Personal data stays here, in the app database."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import json_field, timestamp


class ProvisionRecord(SQLModel, table=True):
    """A third-party provision (Art. 29 record items), disclosable under Art. 33(5)."""

    __tablename__ = "provision_record"

    id: int | None = Field(default=None, primary_key=True)
    subject_email: str = Field(index=True)
    subject_name: str | None = None
    recipient: str
    recipient_address: str | None = None
    items: list = json_field(list)
    basis: str | None = None  # none: a provision without consent (a fixture's, docs/contract.md)
    consent_ref: str | None = None
    is_foreign: bool = False
    provided_at: datetime = timestamp()
    keep_until: datetime = timestamp(index=True)
    source_ref: str | None = Field(default=None, description="the review or request behind it")


class ConsentEvent(SQLModel, table=True):
    """Marketing-mail consent ledger (特定電子メール法): kept a month after sending stops."""

    __tablename__ = "consent_event"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True)
    purpose: str = "marketing"
    event: str  # consented | opted_out | resubscribed
    source: str
    at: datetime = timestamp()
    keep_until: datetime | None = timestamp(nullable=True)


class Inquiry(SQLModel, table=True):
    __tablename__ = "inquiry"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)
    kind: str = "inquiry"  # inquiry | complaint
    language: str = "ja"
    name: str
    email: str
    body: str
    status: str = Field(default="open", index=True)
    answer: str | None = None
    answered_by: str | None = None
    created_at: datetime = timestamp()
    answered_at: datetime | None = timestamp(nullable=True)
    details: dict = json_field(dict)
    request_reference: str | None = Field(default=None, max_length=32)
    flow_run_id: str | None = Field(default=None, max_length=64)


class ProvisionReview(SQLModel, table=True):
    """A third party's request for personal data (police, court, tax office, partner) and its
    review against Arts. 27-28; a provision it allows becomes a ProvisionRecord."""

    __tablename__ = "provision_review"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)
    requester_kind: str  # police | court | tax_office | bar_association | business_partner | other
    recipient: str
    recipient_address: str | None = None
    basis: str
    document_ref: str | None = None  # the written request (照会書) the basis needs
    facts: dict = json_field(dict)  # what the basis depends on (models.rules.provision)
    subject_email: str = Field(index=True)
    subject_name: str | None = None
    items: list = json_field(list)
    status: str = Field(default="received", index=True)  # received | review | provided | refused
    proposal: dict = json_field(dict)
    consent_ref: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = timestamp(nullable=True)
    note: str | None = None
    received_at: datetime = timestamp()
    flow_run_id: str | None = Field(default=None, max_length=64)
