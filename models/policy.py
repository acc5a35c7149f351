"""The privacy policy's versions: those shipped in ``policy/`` (version 1, the seed's text) and
those proposed since, each published once the privacy officer approved it with its date in
force (docs/contract.md "Privacy policy"). Requests and notices record the version in force
when they were made (:func:`version_in_force`)."""

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Column, Date, Text
from sqlmodel import Field, Session, SQLModel, col, select

from models.columns import json_field, timestamp
from models.rules import policy as rules
from models.rules.deadlines import jst_date

SHIPPED = Path(__file__).parent.parent / "policy"
PROPOSED, PUBLISHED, REJECTED = "proposed", "published", "rejected"


class PolicyVersion(SQLModel, table=True):
    __tablename__ = "policy_version"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True, index=True)
    reference: str = Field(
        unique=True, index=True, max_length=32
    )  # policy-v<N>: its run's parameter, audit and notice keys
    status: str = Field(default=PROPOSED, max_length=16)  # proposed | published | rejected
    text: str = Field(sa_column=Column(Text, nullable=False))
    findings: list = json_field(list)  # models.rules.policy.Finding as dicts, against the version before
    needs_notice: bool = False
    proposed_at: datetime = timestamp()
    proposed_by: str = Field(max_length=64)
    flow_run_id: str | None = Field(default=None, max_length=64)
    published_at: datetime | None = timestamp(nullable=True)
    in_force_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    approved_by: str | None = Field(default=None, max_length=64)
    notified_at: datetime | None = timestamp(nullable=True)  # every customer's notice written


@dataclass(frozen=True)
class Shipped:
    version: int
    in_force_on: date
    text: str


def shipped() -> list[Shipped]:
    """The versions in ``policy/versions.toml``, with their texts."""
    listed = tomllib.loads((SHIPPED / "versions.toml").read_text("utf-8"))["version"]
    return [Shipped(v["version"], v["in_force_on"], (SHIPPED / v["file"]).read_text("utf-8")) for v in listed]


def version_in_force(session: Session, at: datetime) -> int | None:
    """The published version in force on ``at``'s day in Japan."""
    published = session.exec(
        select(PolicyVersion.version, col(PolicyVersion.in_force_on)).where(PolicyVersion.status == PUBLISHED)
    )
    return rules.version_in_force(published, jst_date(at))
