"""What the demo system modules share: a demo system's definition and small helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, select

from demo.world import SubjectData, World
from models.rules.vocabulary import Origin
from systems.base import SystemDef

BATCH = 20_000
Batches = Iterator[tuple[Table, list[dict[str, Any]]]]


@dataclass(frozen=True, kw_only=True)
class DemoSystem(SystemDef):
    """A demo system's definition, and how its database is filled: with the fake world
    (``seed``) or with one fixture subject (``load_subject``)."""

    seed: Callable[[World], Batches]
    load_subject: Callable[[Connection, SubjectData, int, Origin, World], None]


def next_number(conn: Connection, table: Table, column: str, prefix: str, width: int) -> int:
    """The next free number behind ``prefix`` for ids written outside seeding (fixtures)."""
    col = table.c[column]
    top = conn.execute(select(func.max(col)).where(col.like(f"{prefix}%"))).scalar()
    digits = top[len(prefix) :] if top else ""
    return int(digits) + 1 if digits.isdigit() and len(digits) == width else 10 ** (width - 1)


def chunks(rows, size: int = BATCH):
    """Yield lists of at most ``size`` rows from an iterator of rows."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
