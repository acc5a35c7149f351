"""One real Prefect server for the session (`prefect server start` on a free port, SQLite in
a temporary PREFECT_HOME), reachable from worker and flow-run subprocesses; the app's settings
and a worker for the tests that run deployments."""

import pytest

from deployments import local
from models.settings import get_settings
from systems import db as systems_db
from tests.flows.conftest import prepare_example


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-server")
    server = local.start_server(home, ui=False)
    try:
        local.wait_until_ready(server.url, timeout=90, proc=server)
        yield server
    finally:
        local.stop_process(server)


@pytest.fixture
def app_env(tmp_path, monkeypatch, mail_stub):
    """The app's settings, in this process and for the worker: a data folder, migrated,
    the example subject seeded; autopilot for the steps a person would take at the desk;
    mail through the SendGrid adapter to the stub."""
    env = {
        "MADOGUCHI_SENDGRID_HOST": mail_stub.url,
        "MADOGUCHI_SENDGRID_API_KEY": "SG.test",
        "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "MADOGUCHI_SECRET_KEY": "deployment-test",
        "MADOGUCHI_AUTOPILOT": "1",
        "MADOGUCHI_FULFILMENT_RETRY_BASE_SECONDS": "0.05",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = prepare_example(get_settings())
    yield settings, env
    systems_db.dispose()
    get_settings.cache_clear()


@pytest.fixture
def worker_limit() -> int:
    """Flow runs the worker executes at once (a test module may override it)."""
    return 4


@pytest.fixture
def worker(prefect_server, app_env, tmp_path, worker_limit):
    """The work pool, the deployments from prefect.yaml and a worker polling every second."""
    _, env = app_env
    home = tmp_path / "prefect-client"
    home.mkdir()
    local.ensure_work_pool(prefect_server.url)
    assert local.ensure_work_pool(prefect_server.url) is False  # there already: left alone
    assert set(local.deploy_all(prefect_server.url, prefect_home=home)) == set(local.deployment_names())
    proc = local.start_worker(
        prefect_server.url,
        prefect_home=home,
        extra_env=env,
        log_path=tmp_path / "worker.log",
        limit=worker_limit,
    )
    try:
        yield proc
    finally:
        below = local.descendants(proc.pid)
        local.stop_worker(proc)
        assert not proc.alive()
        assert not [p for p in below if local.running(p)], "processes left behind"
