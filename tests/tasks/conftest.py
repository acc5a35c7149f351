"""Task tests: real task runs on Prefect's test server, settings read from the environment as
a worker reads them, the docs/contract.md example subject in the app and demo systems."""

import pytest

from demo.fixture import Fixture, load_fixture_into_systems
from deployments.registry import build_registry
from models.audit import audit_key
from models.db import unit_of_work
from models.fixtures import load_fixture_into_app
from models.schema import upgrade
from models.settings import get_settings
from systems import db as systems_db
from tests.services.conftest import REVIEW_NOW, contract_subject


@pytest.fixture
def task_env(tmp_path, monkeypatch, prefect_api):
    """``configure(**env)`` sets ``MADOGUCHI_*`` variables and returns fresh settings; retry
    delays are tiny and flow heartbeats off (they cost ~1 s per sync flow run)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "task-test")
    monkeypatch.setenv("MADOGUCHI_FULFILMENT_RETRY_BASE_SECONDS", "0.01")

    def configure(**env) -> object:
        for name, value in env.items():
            monkeypatch.setenv(f"MADOGUCHI_{name.upper()}", value)
        get_settings.cache_clear()
        return get_settings()

    settings = configure()
    upgrade(settings)
    fixture = Fixture.model_validate({"customers": [contract_subject()]})
    load_fixture_into_systems(fixture, settings)
    with unit_of_work(settings) as session:
        load_fixture_into_app(session, fixture, now=REVIEW_NOW, audit_key=audit_key("k"))
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield configure, build_registry(settings)
    systems_db.dispose()
    get_settings.cache_clear()
