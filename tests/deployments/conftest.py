"""One real Prefect server for the session (`prefect server start` on a free port, SQLite in
a temporary PREFECT_HOME), reachable from worker and flow-run subprocesses."""

import pytest

from deployments import local


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-server")
    server = local.start_server(home, ui=False)
    try:
        local.wait_until_ready(server.url, timeout=90, proc=server)
        yield server
    finally:
        local.stop_process(server)
