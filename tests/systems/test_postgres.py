import uuid

import psycopg
import pytest

from demo.fixture import load_fixture_into_systems
from demo.seed import seed_systems
from deployments.registry import build_registry
from models.settings import Settings
from systems import db
from systems.identity import expand_identity
from tests.systems.conftest import SUBJECT

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_systems(pg_server, tmp_path):
    """One PostgreSQL database per system, named through the settings' URL template."""
    prefix = f"sys_{uuid.uuid4().hex[:8]}"
    plain = pg_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        for key in (
            "customers",
            "orders",
            "billing",
            "marketing",
            "points",
            "support",
            "analytics",
            "delivery_contractor",
        ):
            conn.execute(f'CREATE DATABASE "{prefix}_{key}"')
    yield Settings(data_dir=tmp_path, systems_database_url=f"{pg_server}/{prefix}_{{system}}")
    db.dispose()


def test_systems_work_on_postgresql(pg_systems):
    seed_systems(pg_systems, customers=20, seed=1)
    seed_systems(pg_systems, customers=20, seed=1, keys=("orders",))  # drop and recreate
    load_fixture_into_systems({"customers": [SUBJECT]}, pg_systems)
    registry = build_registry(pg_systems)
    identity = expand_identity(SUBJECT["email"], registry)
    assert all(registry.connector(k).locate(identity).found for k in registry.keys())
    assert registry.database("customers").registered_emails(None, "(099) 8765 4321") == [SUBJECT["email"]]
    for key in registry.keys():
        connector = registry.connector(key)
        action = connector.erase if "erase" in registry.info(key).actions else connector.restrict
        first = action(identity, idempotency_key="pg-1")
        assert first.affected > 0 and action(identity, idempotency_key="pg-1").replayed
    assert not registry.connector("customers").locate(identity).found
