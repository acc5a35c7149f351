"""Leak incidents (Art. 26, docs/rules.md §6) and the customers each one affected.

The incident holds facts about systems and data items, never personal data; an affected
subject is a customer id of the customer master (the email is read from there when the
notice is written), so a later request of that customer finds the incident (Art. 35(5))."""

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import json_field, timestamp


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)  # L-YYMMDD-XXXXXX
    status: str = Field(default="reported", index=True, max_length=20)  # services/incidents.py
    discovered_on: date
    systems: list = json_field(list)  # registry keys
    data_items: list = json_field(list)  # e.g. email, card_number
    cause: str
    encrypted: bool = False  # strongly encrypted, key not compromised
    improper_purpose: bool = False  # attack, insider theft, skimming
    sensitive_data: bool = False
    financial_loss_risk: bool = False
    affected_people: int = 0  # the subjects listed, or more when only estimated
    # the rules' triage, then the privacy officer's confirmation or correction of it
    triage_cases: list = json_field(list)
    reportable: bool | None = None
    confirmed_by: str | None = Field(default=None, max_length=64)
    confirmed_at: datetime | None = timestamp(nullable=True)
    preliminary_due: date | None = None
    final_due: date | None = None
    preliminary_filed_on: date | None = None
    final_filed_on: date | None = None
    notice_method: str | None = Field(default=None, max_length=20)  # individual | public_notice
    public_notice: str | None = None  # where and how, when people cannot be reached
    reports: dict = json_field(dict)  # report kind → {pdf, csv}: files in the data folder
    reported_by: str = Field(max_length=64)
    created_at: datetime = timestamp()
    flow_run_id: str | None = Field(default=None, max_length=64)


class IncidentSubject(SQLModel, table=True):
    """One affected customer: the incident's notice to them is keyed (incident, customer)."""

    __tablename__ = "incident_subject"
    __table_args__ = (UniqueConstraint("incident_id", "customer_id", name="uq_incident_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    customer_id: str = Field(index=True, max_length=16)
    language: str = Field(default="ja", max_length=2)
    noticed_at: datetime | None = timestamp(nullable=True)  # its notice is in the outbox
