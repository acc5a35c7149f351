import os

import pytest

from models.settings import Settings
from tests.postgres import cluster, create_database, find_pg_bin


@pytest.fixture
def settings(tmp_path) -> Settings:
    """An embedded-default configuration in a folder of its own."""
    return Settings(data_dir=tmp_path, secret_key="test-secret")


@pytest.fixture(scope="session")
def pg_server():
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries missing: .ci/run installs them")
        pytest.skip("no PostgreSQL binaries on this machine")
    with cluster(bin_dir) as url:
        yield url


@pytest.fixture
def pg_settings(pg_server, tmp_path) -> Settings:
    """Production mode: the app database on PostgreSQL."""
    return Settings(
        data_dir=tmp_path, secret_key="test-secret", database_url=create_database(pg_server, "app")
    )


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect server for the session (Prefect's own test harness), quiet and offline."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from prefect.settings import PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings({PREFECT_SERVER_ANALYTICS_ENABLED: False}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


@pytest.fixture
def mail_stub():
    """The SendGrid-compatible stub the project ships, on a free port: mail goes through the
    real `sendgrid` client to it."""
    from demo.stub import SendGridStub

    with SendGridStub() as stub:
        yield stub


_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


def pytest_unconfigure(config):
    """Prefect drains its log and event services at interpreter exit, retrying without end
    when their server is gone. Drain them now, for a bounded time; if anything is still queued
    (for a server some test stopped), say so and exit with pytest's own status instead of
    hanging."""
    import sys

    from tests.prefect_api import drain_services

    left = drain_services(timeout=20)
    if left:
        sys.stderr.write(f"Prefect services still held items for a stopped server: {left}\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash.get(_EXIT_STATUS, 1))
