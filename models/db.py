"""Engines, sessions and the unit of work around the app database (the system of record).

SQLite is the embedded default, PostgreSQL the production mode; both through one URL.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol, TypeVar, cast

from sqlalchemy import DateTime, Engine, Table, event
from sqlalchemy.orm import Mapped
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, col, create_engine

from models.settings import Settings, get_settings

_T = TypeVar("_T")


class UTCDateTime(TypeDecorator):
    """Timezone-aware timestamps on every backend: stored as UTC, read back as aware UTC.

    SQLite keeps no offset, so without this a value read back would be naive and compare
    wrongly with the aware "now" the rules are given.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine with the settings every caller needs; creates the SQLite folder if missing.
    ``hide_parameters``: a database error's text (which Prefect stores when a task fails)
    must not carry the bound values, i.e. emails, names, codes. ``pool_size`` connections
    stay open on a server database, as many again for a burst."""
    if url.startswith("sqlite"):
        from pathlib import Path

        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size
    )


@lru_cache
def _engine_for(url: str, pool_size: int) -> Engine:
    return make_engine(url, pool_size)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    return _engine_for(settings.app_database_url, settings.database_pool_size)


@contextmanager
def unit_of_work(settings: Settings | None = None) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(get_engine(settings), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def row_id(row: _Row) -> int:
    """A stored row's primary key: the tables declare ``id`` optional because it is None until
    the row is flushed, as it is wherever this is asked."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


def non_null(column: _T | None) -> Mapped[_T]:
    """A nullable column to select where no NULL comes back: a table's ``id`` (None only on a
    row not yet flushed), or one the query filters with ``is_not(None)``."""
    return cast(Mapped[_T], col(column))


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, for the statements made on it (an insert that skips a
    conflict, an update through an alias); SQLModel sets ``__table__`` without typing it."""
    return model.__table__  # type: ignore[attr-defined]


def utcnow() -> datetime:
    """The one clock read of the I/O layer; rules and models are given the time instead."""
    return datetime.now(UTC)


@contextmanager
def captured_statements(engine: Engine) -> Iterator[list[tuple[str, object]]]:
    """The SQL statements run on ``engine`` inside the block, with their parameters: for
    checking a query's plan (tests, benchmarks)."""
    seen: list[tuple[str, object]] = []

    def listen(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)
