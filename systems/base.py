"""How a system describes itself: what it holds, where, and how to find a subject.

Each module in ``demo/systems`` builds one :class:`SystemDef` from plain data: the tables,
the :class:`Part` that says how each table is matched to a :class:`SubjectIdentity`, what
erasure does to it, and which contract fields a correction may change there. The generic
connector (``connector.py``) turns that description into the protocol's six calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Column, ColumnElement, DateTime, Integer, MetaData, String, Table, Text

from models.rules.vocabulary import Origin, SystemAction

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from systems.identity import SubjectIdentity


@dataclass(frozen=True)
class Category:
    """A kind of data a system holds, named for the disclosure package and the CLI."""

    key: str
    name_ja: str
    name_en: str
    items_ja: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetentionDuty:
    """A law obliging the system to keep the data; the domain decides what that changes."""

    law_ja: str
    law_en: str
    years: int
    basis: str


@dataclass(frozen=True)
class SystemInfo:
    key: str
    name_ja: str
    name_en: str
    categories: tuple[Category, ...]
    actions: frozenset[SystemAction]
    retention: RetentionDuty | None = None
    contractor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name_ja": self.name_ja,
            "name_en": self.name_en,
            "categories": [c.key for c in self.categories],
            "actions": sorted(self.actions),
            "retention": None
            if self.retention is None
            else {
                "law_ja": self.retention.law_ja,
                "law_en": self.retention.law_en,
                "years": self.retention.years,
                "basis": self.retention.basis,
            },
            "contractor": self.contractor,
        }


Erasure = Literal["anonymise", "delete", "keep"]
Match = Callable[["SubjectIdentity"], ColumnElement[bool] | None]


@dataclass(frozen=True)
class Part:
    """One table's share of a subject's data.

    ``erase``: ``anonymise`` nulls the ``anonymise`` columns (which must include the match
    key, so the row no longer leads back to the person); ``delete`` removes the rows;
    ``keep`` is for rows with nothing identifying once their parent is anonymised.

    ``active`` names the columns that date the subject's use of the service (an order, an
    invoice, a payment) and ``closed`` the one that dates the closing of the account a row
    is: the facts that decide whether the data is still needed (docs/rules.md §1).
    """

    category: str
    table: Table
    match: Match
    ref: str
    erase: Erasure
    anonymise: tuple[str, ...] = ()
    rectify: Mapping[str, str] = field(default_factory=dict)
    active: tuple[str, ...] = ()
    closed: str | None = None

    def has(self, column: str) -> bool:
        return column in self.table.c


Discover = Callable[["Connection", "SubjectIdentity"], dict[str, set[str]]]
# (connection, login ID, phone) -> the email of each record holding every detail given
RegisteredEmail = Callable[["Connection", str | None, str | None], list[str]]


@dataclass(frozen=True)
class SystemDef:
    info: SystemInfo
    metadata: MetaData
    parts: tuple[Part, ...]
    applied: Table
    discover: Discover | None = None
    registered_email: RegisteredEmail | None = None

    @property
    def key(self) -> str:
        return self.info.key


def by(column: Column, attribute: str) -> Match:
    """Match rows whose ``column`` is one of the identity's ``attribute`` values."""

    def match(identity: SubjectIdentity) -> ColumnElement[bool] | None:
        values = getattr(identity, attribute)
        return column.in_(values) if values else None

    return match


def applied_actions(metadata: MetaData, name: str = "applied_actions") -> Table:
    """The idempotency ledger: one row per key, written with the effect it records."""
    return Table(
        name,
        metadata,
        Column("idempotency_key", String(200), primary_key=True),
        Column("action", String(32), nullable=False),
        Column("affected", Integer, nullable=False),
        Column("result", Text, nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False),
    )


def record_columns(*, provision: bool = False) -> list[Column]:
    """Provenance and processing flags every subject table carries."""
    columns: list[Column[Any]] = [
        Column(
            "origin",
            String(32),
            nullable=False,
            default=Origin.COLLECTED.value,
            server_default=Origin.COLLECTED.value,
        ),
        Column("restricted_at", DateTime(timezone=True)),
        Column("erased_at", DateTime(timezone=True)),
    ]
    if provision:
        columns.append(Column("provision_stopped_at", DateTime(timezone=True)))
    return columns


def now() -> datetime:
    return datetime.now(UTC)
