"""Production mode for Prefect itself: the server `up` starts keeps its runs in PostgreSQL
when MADOGUCHI_PREFECT_DATABASE_URL names one (on SQLite it answers 503 to concurrent runs)."""

from deployments import local
from deployments.stack import server_environment
from models.settings import Settings
from tests.postgres import create_database
from tests.prefect_api import prefect_at


def test_without_a_database_url_the_server_keeps_sqlite_in_its_home_and_requires_the_service_credential(
    tmp_path,
):
    settings = Settings(data_dir=tmp_path)
    assert server_environment(settings) == {"PREFECT_SERVER_API_AUTH_STRING": settings.service_auth()}
    assert settings.service_auth() == Settings(data_dir=tmp_path).service_auth()  # made once, then read
    assert (tmp_path / "prefect-service.key").stat().st_mode & 0o077 == 0


def test_the_prefect_server_runs_on_postgresql_and_records_flow_runs(pg_server, tmp_path):
    import asyncpg  # noqa: F401 - Prefect's PostgreSQL driver, installed with prefect
    import psycopg

    url = create_database(pg_server, "prefect").replace("+psycopg://", "+asyncpg://")
    settings = Settings(data_dir=tmp_path, prefect_database_url=url)
    env = server_environment(settings)
    assert env["PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE"] == str(settings.database_pool_size)
    server = local.start_server(tmp_path / "prefect", ui=False, extra_env=env)
    try:
        local.wait_until_ready(server.url, timeout=120, proc=server)
        from prefect import flow
        from prefect.settings import PREFECT_API_AUTH_STRING

        @flow(name="on-postgres")
        def on_postgres() -> int:
            return 7

        with prefect_at(server.url, {PREFECT_API_AUTH_STRING: settings.service_auth()}):
            assert on_postgres() == 7
    finally:
        local.stop_process(server)
    assert not (tmp_path / "prefect" / "prefect.db").exists()  # nothing went to SQLite
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        names = [
            row[0] for row in conn.execute("SELECT f.name FROM flow_run r JOIN flow f ON f.id = r.flow_id")
        ]
    assert names == ["on-postgres"]
