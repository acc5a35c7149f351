"""Fill the demo systems with a deterministic fake population.

Every system is dropped and recreated, filled in batches (``executemany``) with indexes
built after the load, which is several times faster than maintaining them row by row.
Systems are independent (see ``world.py``), so ``workers`` > 1 seeds them in parallel
processes.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateTable

from demo.systems import DEFINITIONS
from demo.world import World
from models.settings import Settings
from systems import db


def seed_systems(
    settings: Settings,
    customers: int = 200,
    seed: int = 0,
    *,
    keys: tuple[str, ...] | None = None,
    workers: int = 1,
) -> dict[str, dict]:
    """Seed ``customers`` subjects into each system; returns rows and seconds per system."""
    keys = keys or tuple(DEFINITIONS)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {k: pool.submit(seed_system, settings, k, customers, seed) for k in keys}
            reports = {k: f.result() for k, f in futures.items()}
    else:
        reports = {k: seed_system(settings, k, customers, seed) for k in keys}
    return reports


def seed_system(settings: Settings, key: str, customers: int, seed: int) -> dict:
    started = time.perf_counter()
    definition = DEFINITIONS[key]
    url = settings.system_database_url(key)
    _drop(url, definition.metadata)
    engine = _bulk_engine(url)
    rows: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            for table in definition.metadata.sorted_tables:
                conn.execute(CreateTable(table))
            for table, batch in definition.seed(World(customers, seed)):
                conn.execute(table.insert(), batch)
                rows[table.name] = rows.get(table.name, 0) + len(batch)
            for table in definition.metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn)
    finally:
        engine.dispose()
    db.forget_schema(url)
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}


def _drop(url: str, metadata) -> None:
    """Start from nothing: remove a SQLite file outright, drop the tables elsewhere."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db.dispose()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return
    engine = db.engine_for(url)
    metadata.drop_all(engine)
    db.forget_schema(url)


def _bulk_engine(url: str):
    """A throwaway engine tuned for one big load (no fsync on SQLite: it is rebuilt anyway)."""
    engine = create_engine(url, hide_parameters=True)  # an error's text carries no customer data
    if make_url(url).get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-200000")
            cursor.close()

    return engine
