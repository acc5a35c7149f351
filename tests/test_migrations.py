"""Every table comes from Alembic, from an empty database, on both backends."""

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from models import tables
from models.schema import alembic_config, upgrade

EXPECTED = {
    "request",
    "party",
    "identity_check",
    "document",
    "clock_pause",
    "decision_item",
    "fee",
    "payment",
    "fulfilment_action",
    "notice",
    "audit_event",
    "audit_head",
    "contractor",
    "contractor_assessment",
    "provision_record",
    "consent_event",
    "inquiry",
    "disclosure_package",
    "provision_review",
    "operator_account",
    "run_restart",
    "policy_version",
    "incident",
    "incident_subject",
    "letter",
}


def _migrated_tables(settings) -> set[str]:
    upgrade(settings)
    engine = create_engine(settings.app_database_url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_from_empty_on_sqlite(settings):
    assert _migrated_tables(settings) == EXPECTED == set(tables.metadata.tables)


@pytest.mark.postgres
def test_migrations_from_empty_on_postgresql(pg_settings):
    assert _migrated_tables(pg_settings) == EXPECTED


def test_models_and_migrations_agree(settings):
    """No table change without a migration: autogenerate against the head finds nothing."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    upgrade(settings)
    engine = create_engine(settings.app_database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    engine.dispose()
    assert diff == []


def test_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_upgrade_is_repeatable_and_lands_on_head(settings):
    upgrade(settings)
    upgrade(settings)
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    engine = create_engine(settings.app_database_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == head
    engine.dispose()
