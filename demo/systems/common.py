"""Small helpers the demo system modules share."""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, select

BATCH = 20_000


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
