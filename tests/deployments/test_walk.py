"""The README's walk, for real: `madoguchi up` as an operator starts it (server, pool,
deployments, worker, dispatcher, SendGrid stub, intake service); a request submitted through
the intake API, its one-time code read from the stub's inbox and entered there; the review
and the fee answered with `madoguchi operator` (the same resume API the Prefect UI's Resume
form uses) after checking that the run is Suspended with a form; the request completed.
Then `madoguchi demo` walks one more and `madoguchi monitor run` runs the SLA monitor; SIGTERM
to `up` leaves no process behind.

Prints how long up → ready and submit → waiting for the code take."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

import httpx

from deployments import local, stack
from mail import inbox
from models.db import unit_of_work
from models.settings import Settings
from services.common import load_request

pytestmark = pytest.mark.deployment

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "examples" / "request.json"
FIXTURE = PROJECT / "tests" / "fixtures" / "contract_example.json"
MADOGUCHI = [str(Path(sys.executable).parent / "madoguchi")]


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MADOGUCHI_"))}
    env.update({"MADOGUCHI_DATA_DIR": str(tmp_path / "data"), "MADOGUCHI_SECRET_KEY": "walk-test",
                "MADOGUCHI_PREFECT_PORT": str(local.free_port()),
                "MADOGUCHI_INTAKE_PORT": str(local.free_port()),
                "MADOGUCHI_MAIL_STUB_PORT": str(local.free_port()),
                "MADOGUCHI_DISPATCH_INTERVAL_SECONDS": "1"})
    return env


def cli(env, *args, check=True) -> str:
    done = subprocess.run([*MADOGUCHI, *args], env=env, cwd=PROJECT, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError(f"madoguchi {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def test_walk_a_request_through_by_hand(env, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    settings = Settings(data_dir=Path(env["MADOGUCHI_DATA_DIR"]), secret_key="walk-test")
    api_url = f"http://127.0.0.1:{env['MADOGUCHI_PREFECT_PORT']}/api"
    intake = f"http://127.0.0.1:{env['MADOGUCHI_INTAKE_PORT']}"
    stub = f"http://127.0.0.1:{env['MADOGUCHI_MAIL_STUB_PORT']}"
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        up = subprocess.Popen([*MADOGUCHI, "up", "--fixture", str(FIXTURE)], env=env, cwd=PROJECT,
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    below: list[int] = []

    def up_log() -> str:
        return log_path.read_text(errors="replace")

    def request():
        with unit_of_work(settings) as session:
            r = load_request(session, reference)
            session.expunge(r)
            return r

    def until(predicate, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            assert up.poll() is None, f"up exited while waiting for {what}:\n{up_log()}"
            time.sleep(0.25)
        raise AssertionError(f"no {what} after {timeout} s\n{up_log()}\n"
                             f"{(settings.data_dir / 'logs' / 'worker.log').read_text(errors='replace')[-3000:]}")

    def suspended_with_form(run_id, form_prefix):
        """The run is Suspended and shows a form whose schema is stored (what Resume renders)."""
        def check():
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(UUID(run_id)).state
                keyset = state.state_details.run_input_keyset if state else None
                if not (state and state.name == "Suspended" and keyset
                        and keyset["schema"].startswith(form_prefix)):
                    return None
                found = client.filter_flow_run_input(UUID(run_id), key_prefix=keyset["schema"],
                                                     limit=1, exclude_keys=set())
            return json.loads(found[0].value)["properties"] if found else None
        return until(check, f"suspended run with the {form_prefix} form", 30)

    started = time.monotonic()
    try:
        until(lambda: "madoguchi is up" in up_log(), "ready", 90)
        to_ready = time.monotonic() - started
        assert f"http://127.0.0.1:{env['MADOGUCHI_PREFECT_PORT']}" in up_log()
        below = local.descendants(up.pid)
        assert len(below) >= 4, below  # the server, the worker, the stub and intake
        assert f"{intake}/" in up_log() and f"{stub}/messages" in up_log()

        submitted = time.monotonic()
        answer = httpx.post(f"{intake}/api/requests", json=json.loads(EXAMPLE.read_text(encoding="utf-8")))
        assert answer.status_code == 201, answer.text
        reference = answer.json()["reference"]
        bearer = {"Authorization": f"Bearer {answer.json()['status_token']}"}
        until(lambda: request().waiting_for == "one_time_code" and request().flow_run_id, "code wait", 45)
        to_code = time.monotonic() - submitted
        run_id = request().flow_run_id
        code = until(lambda: inbox.latest_code(stub, reference), "code mail", 15)
        entered = httpx.post(f"{intake}/api/requests/{reference}/identity-code", json={"code": code},
                             headers=bearer)
        assert entered.json()["result"] == "verified", entered.text

        with temporary_settings({PREFECT_API_URL: api_url}):
            assert suspended_with_form(run_id, "suspended-review")
            assert "answered" in cli(env, "operator", "review", reference)
            assert {"paid", "method", "operator"} <= set(suspended_with_form(run_id, "suspended-payment"))
            assert "answered" in cli(env, "operator", "payment", reference)
            until(lambda: request().status == "completed", "completion", 45)

            def finished():
                with get_client(sync_client=True) as client:
                    run = client.read_flow_run(UUID(run_id))
                return run if run.state and run.state.is_final() else None
            run = until(finished, "final run state", 20)
        assert run.name == reference and run.state.is_completed()
        status = httpx.get(f"{intake}/api/requests/{reference}", headers=bearer).json()
        assert status["status"] == "completed" and status["outcome"] == "granted", status
        until(lambda: {inbox.kind_of(m) for m in inbox.messages(stub, reference)}
              >= {"acknowledgement", "one_time_code", "decision"}, "acknowledgement, code and decision mail", 15)
        assert f"dispatched {reference}" in up_log()

        demo = subprocess.run([*MADOGUCHI, "demo"], env=env, cwd=PROJECT, capture_output=True, text=True,
                              timeout=180, stdin=subprocess.DEVNULL)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "completed: outcome granted" in demo.stdout and "決定のお知らせ" in demo.stdout, demo.stdout
        assert {"closed", "warnings", "escalations"} <= set(json.loads(cli(env, "monitor", "run")))
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                for pid in below:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                raise
    assert up.returncode == 0, up_log()
    assert "stopped" in up_log()
    assert not [p for p in below if local.running(p)], "up left processes behind"
    assert not stack.reachable(f"{api_url}/health") and not stack.reachable(f"{intake}/healthz")
    print(f"\nwalk {reference}: up → ready {to_ready:.1f} s, submit → waiting for code {to_code:.1f} s, "
          f"whole walk {time.monotonic() - started:.1f} s")
