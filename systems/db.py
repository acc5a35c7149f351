"""Engines for the demo systems, created lazily and cached per URL.

Nothing connects at import time; :func:`dispose` closes every pool (tests, CLI exit).
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

_engines: dict[str, Engine] = {}
_schemas_ready: set[tuple[str, int]] = set()
_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create(url)
        return engine


def ensure_schema(url: str, metadata: MetaData) -> Engine:
    """The engine for ``url`` with the system's tables created once per process."""
    engine = engine_for(url)
    marker = (url, id(metadata))
    if marker not in _schemas_ready:
        metadata.create_all(engine, checkfirst=True)
        _add_new_columns(engine, metadata)
        with _lock:
            _schemas_ready.add(marker)
    return engine


def _add_new_columns(engine: Engine, metadata: MetaData) -> None:
    """A system seeded by an earlier version gains the nullable columns added since (e.g. the
    customer master's ``closed_on``): the demo systems are demo data, without migrations, and
    a system missing a column would fail every call on it."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            held = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in held and column.nullable:
                    conn.execute(
                        text(
                            f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" '
                            f"{column.type.compile(engine.dialect)}"
                        )
                    )


def forget_schema(url: str) -> None:
    """After seeding drops and recreates tables, the next use checks them again."""
    with _lock:
        for marker in [m for m in _schemas_ready if m[0] == url]:
            _schemas_ready.discard(marker)


def dispose() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _schemas_ready.clear()


def _create(url: str) -> Engine:
    """``hide_parameters``: an error's text (stored by Prefect) never carries the subject's data."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 5}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # WAL: readers do not block the writer
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def jsonable(value: Any) -> Any:
    """Row values as JSON: timestamps as ISO 8601, amounts as integers or strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    return value
