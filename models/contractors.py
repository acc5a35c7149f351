"""Contractors (業務委託先) and their assessments; the rules that score them are in models.rules."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.columns import json_field, timestamp


class ContractorBase(SQLModel):
    name: str = Field(max_length=200)
    services: str = Field(max_length=2000)
    data_categories: list = json_field(list)
    locations: list = json_field(list)
    subcontractors: list = json_field(list)


class Contractor(ContractorBase, table=True):
    __tablename__ = "contractor"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)
    status: str = Field(default="applied", index=True)
    systems: list = json_field(list)
    certifications: list = json_field(list)
    next_reassessment_at: datetime | None = timestamp(nullable=True, index=True)
    certification_expires_at: datetime | None = timestamp(nullable=True, index=True)
    flow_run_id: str | None = Field(default=None, max_length=64)  # the run that waits for the officer
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class ContractorAssessment(SQLModel, table=True):
    __tablename__ = "contractor_assessment"

    id: int | None = Field(default=None, primary_key=True)
    contractor_id: int = Field(foreign_key="contractor.id", index=True)
    kind: str  # onboarding | reassessment | offboarding
    answers: dict = json_field(dict)
    score: int | None = None
    verdict: str | None = None
    blockers: list = json_field(list)
    missing_clauses: list = json_field(list)
    approved_by: str | None = None
    assessed_at: datetime = timestamp()


class ContractorStatus(StrEnum):
    APPLIED = "applied"
    AWAITING_APPROVAL = "awaiting_approval"  # assessed and contract checked: the officer decides
    APPROVED = "approved"  # approved, not yet registered
    ACTIVE = "active"  # in the system registry: fulfilment reaches it
    SUSPENDED = "suspended"  # failed a reassessment: out of the registry
    REJECTED = "rejected"
    OFFBOARDING = "offboarding"  # access revoked, waiting for the deletion certificate
    OFFBOARDED = "offboarded"
