"""Seed the fides-like workload on PostgreSQL fast: COPY instead of INSERT, indexes after.

The registry has no way to leave systems out, so all eight systems are there: the customer
master with ``customers`` rows and the orders system with ``orders`` orders spread over those
customers (the fides workload), the six others small (``others`` customers each)."""

from __future__ import annotations

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.schema import CreateIndex, CreateTable

from demo.seed import seed_system
from demo.systems import DEFINITIONS
from demo.world import World, mix
from systems import db


class _OrdersWorld(World):
    """``orders`` rows of orders, owned by ``customers`` customers."""

    def __init__(self, orders: int, customers: int):
        super().__init__(orders)
        self.owners = customers

    def owner(self, j: int, salt: int) -> int:
        return mix(j, salt) % self.owners


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _copy_seed(url: str, key: str, world: World) -> dict[str, int]:
    definition = DEFINITIONS[key]
    engine = create_engine(url)
    with engine.begin() as conn:
        definition.metadata.drop_all(conn)
        for table in definition.metadata.sorted_tables:
            conn.execute(CreateTable(table))
    dialect = engine.dialect
    indexes = [
        str(CreateIndex(i).compile(dialect=dialect))
        for t in definition.metadata.sorted_tables
        for i in t.indexes
    ]
    engine.dispose()
    rows: dict[str, int] = {}
    with psycopg.connect(_plain(url)) as conn:
        for table, batch in definition.seed(world):
            columns = list(batch[0])
            with conn.cursor().copy(f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN') as copy:
                for row in batch:
                    copy.write_row([row[c] for c in columns])
            rows[table.name] = rows.get(table.name, 0) + len(batch)
        for statement in indexes:
            conn.execute(statement)
        for table in definition.metadata.sorted_tables:
            conn.execute(f'ANALYZE "{table.name}"')
    db.forget_schema(url)
    return rows


def seed_fides(settings, server_url: str, *, customers: int, orders: int, others: int) -> dict:
    with psycopg.connect(f"{_plain(server_url)}/postgres", autocommit=True) as conn:
        for key in DEFINITIONS:
            conn.execute(f'CREATE DATABASE "{key}"')
    sizes = {
        "customers": _copy_seed(settings.system_database_url("customers"), "customers", World(customers)),
        "orders": _copy_seed(
            settings.system_database_url("orders"), "orders", _OrdersWorld(orders, customers)
        ),
    }
    for key in DEFINITIONS:
        if key not in sizes:
            sizes[key] = seed_system(settings, key, others, 0)["rows"]
    return sizes
