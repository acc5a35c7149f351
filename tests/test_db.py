"""A database error's text never carries the values bound to its statement: Prefect stores the
text of whatever a task raises, and those values are emails, names and codes. On PostgreSQL the
app keeps its connections open across a burst instead of opening one per session."""

import threading

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from deployments.registry import build_registry
from models.db import get_engine, unit_of_work
from models.requests import Party
from models.schema import upgrade
from systems import db as systems_db

EMAIL, NAME = "taro.hidden@example.co.jp", "秘密 太郎"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_settings(request):
    return request.getfixturevalue("settings" if request.param == "sqlite" else "pg_settings")


def test_an_app_database_error_hides_the_bound_values(any_settings):
    upgrade(any_settings)
    with (
        pytest.raises(IntegrityError) as raised,  # no request 999999: a foreign-key violation
        unit_of_work(any_settings) as session,
    ):
        session.add(Party(request_id=999_999, role="principal", is_requester=True, name=NAME, email=EMAIL))
    text = f"{raised.value}\n{raised.value!r}"
    assert "parameters hidden" in text
    assert EMAIL not in text and NAME not in text


def test_a_demo_system_error_hides_the_bound_values(settings):
    registry = build_registry(settings)
    try:
        definition = registry.definition("customers")
        engine = systems_db.ensure_schema(registry.url("customers"), definition.metadata)
        row = {"customer_id": "C0000001", "email": EMAIL, "contact_name": NAME}
        with engine.begin() as conn:
            conn.execute(insert(definition.metadata.tables["customers"]).values(row))
        with pytest.raises(IntegrityError) as raised, engine.begin() as conn:  # the same key again
            conn.execute(insert(definition.metadata.tables["customers"]).values(row))
        text = f"{raised.value}\n{raised.value!r}"
        assert "parameters hidden" in text
        assert EMAIL not in text and NAME not in text
    finally:
        registry.dispose()
        systems_db.dispose()


def _backends_started(settings) -> int:
    """Sessions PostgreSQL has started on the app database so far (pg_stat_database)."""
    with unit_of_work(settings) as session:
        return (
            session.connection()
            .exec_driver_sql("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            .scalar_one()
        )


@pytest.mark.postgres
def test_a_burst_of_concurrent_sessions_reuses_the_connections_it_opened(pg_settings):
    """Twelve sessions at once, twice: the second burst starts no PostgreSQL backend. With
    SQLAlchemy's default pool (5 kept) every burst opened and closed seven more."""
    settings = pg_settings.model_copy(update={"database_pool_size": 12})
    assert get_engine(settings).pool.size() == 12

    def burst() -> None:
        barrier = threading.Barrier(12)

        def one() -> None:
            with unit_of_work(settings) as session:
                barrier.wait(timeout=30)  # all twelve hold a connection at the same moment
                session.connection().exec_driver_sql("SELECT 1")

        threads = [threading.Thread(target=one) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    burst()
    before = _backends_started(settings)
    burst()
    assert _backends_started(settings) == before
