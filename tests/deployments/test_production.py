"""Production mode, one flag away: `madoguchi up --production --workers 2` runs PostgreSQL
(the app, the demo systems and the Prefect server) and Redis (Prefect's messaging) itself,
two workers take requests, and a worker killed with SIGKILL is started again by `up` while
a request goes through. SIGTERM leaves nothing behind."""

import os
import signal
from pathlib import Path
from uuid import UUID

import pytest

from models.settings import Settings
from tests.deployments.up import Up

pytestmark = pytest.mark.deployment


def worker_pid(up: Up, n: int) -> int | None:
    for pid in up.below_now():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"deployments.worker" in cmdline and f"madoguchi-worker-{n}".encode() in cmdline:
            return pid
    return None


def test_production_mode_with_two_workers_survives_a_killed_worker(tmp_path):
    import redis
    from prefect.client.orchestration import get_client

    pg_port, redis_port = (str(p) for p in (_free(), _free()))
    with Up(
        tmp_path,
        "production-test",
        "--production",
        "--workers",
        "2",
        MADOGUCHI_AUTOPILOT="1",
        MADOGUCHI_POSTGRES_PORT=pg_port,
        MADOGUCHI_REDIS_PORT=redis_port,
    ) as up:
        assert "starting PostgreSQL" in up.log() and "starting Redis" in up.log()
        up.settings = Settings(
            data_dir=up.settings.data_dir,
            secret_key="production-test",
            autopilot=True,
            database_url=f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/madoguchi",
        )
        assert not (up.settings.data_dir / "madoguchi.sqlite").exists()  # the app is on PostgreSQL

        first = worker_pid(up, 1)
        assert first and worker_pid(up, 2)
        os.kill(first, signal.SIGKILL)
        up.until(lambda: "madoguchi-worker-1 exited" in up.log() and worker_pid(up, 1), "worker 1 again", 30)
        assert worker_pid(up, 1) != first

        reference, _, run_id = up.submit_and_verify()
        up.until(lambda: up.request(reference).status == "completed", "completion", 90)
        with up.client(), get_client(sync_client=True) as client:
            workers = {w.name for w in client.read_workers_for_work_pool("madoguchi")}
            assert client.read_flow_run(UUID(run_id)).state.is_final()
        assert {"madoguchi-worker-1", "madoguchi-worker-2"} <= workers
        assert redis.Redis(port=int(redis_port)).dbsize() > 0  # Prefect's messaging went through Redis
    assert up.left_behind() == []


def _free() -> int:
    from deployments.local import free_port

    return free_port()
