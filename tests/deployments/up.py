"""`madoguchi up` as a test runs it: a subprocess on free ports in a folder of its own, the
example request submitted through intake with its code read from the stub's inbox, and a
SIGTERM at the end that must leave no process behind."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import httpx

from demo import inbox
from deployments import local
from models.db import unit_of_work
from models.settings import Settings
from services.common import load_request
from tests.prefect_api import prefect_at

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "examples" / "request.json"
FIXTURE = PROJECT / "tests" / "fixtures" / "contract_example.json"
MADOGUCHI = [str(Path(sys.executable).parent / "madoguchi")]


class Up:
    def __init__(self, tmp_path: Path, secret: str, *args: str, **env: str):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MADOGUCHI_"))}
        self.env.update(
            {
                "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
                "MADOGUCHI_SECRET_KEY": secret,
                "MADOGUCHI_PREFECT_PORT": str(local.free_port()),
                "MADOGUCHI_PREFECT_INTERNAL_PORT": str(local.free_port()),
                "MADOGUCHI_INTAKE_PORT": str(local.free_port()),
                "MADOGUCHI_MAIL_STUB_PORT": str(local.free_port()),
                "MADOGUCHI_DISPATCH_INTERVAL_SECONDS": "1",
                **env,
            }
        )
        self.args = args
        self.settings = Settings(data_dir=tmp_path / "data", secret_key=secret)
        self.ui = f"http://127.0.0.1:{self.env['MADOGUCHI_PREFECT_PORT']}"  # the gate: people log in
        self.api_url = f"http://127.0.0.1:{self.env['MADOGUCHI_PREFECT_INTERNAL_PORT']}/api"  # the server
        self.intake = f"http://127.0.0.1:{self.env['MADOGUCHI_INTAKE_PORT']}"
        self.stub = f"http://127.0.0.1:{self.env['MADOGUCHI_MAIL_STUB_PORT']}"
        self.log_path = tmp_path / "up.log"
        self.proc: subprocess.Popen | None = None
        self.below: list[int] = []

    def __enter__(self) -> "Up":
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*MADOGUCHI, "up", "--fixture", str(FIXTURE), *self.args],
                env=self.env,
                cwd=PROJECT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self.until(lambda: "madoguchi is up" in self.log(), "ready", 180)
        except BaseException:
            self.stop()
            raise
        self.below = local.descendants(self.proc.pid)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C would; everything killed if it does not stop in time."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            for pid in self.below:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def add_account(self, name: str, role: str) -> tuple[str, str]:
        """An account made the way an administrator makes it; (name, password)."""
        password = f"pw-{os.getpid()}-correct-horse-battery"
        secret = self.log_path.parent / f"{name}.password"
        secret.write_text(password + "\n")
        self.cli("operator", "add", name, "--role", role, "--password-file", str(secret))
        return name, password

    def client(self):
        """This process's Prefect client at up's server, with the service credential."""
        from prefect.settings import PREFECT_API_AUTH_STRING

        return prefect_at(self.api_url, {PREFECT_API_AUTH_STRING: self.settings.service_auth()})

    def below_now(self) -> list[int]:
        """up's processes now (those started again after a death included in left_behind)."""
        now = local.descendants(self.proc.pid)
        self.below += [p for p in now if p not in self.below]
        return now

    def left_behind(self) -> list[int]:
        return [p for p in self.below if local.running(p)]

    def until(self, predicate, what: str, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            assert self.proc.poll() is None, f"up exited while waiting for {what}:\n{self.log()}"
            time.sleep(0.25)
        worker_log = (self.settings.data_dir / "logs" / "worker-1.log").read_text(errors="replace")[-3000:]
        raise AssertionError(f"no {what} after {timeout} s\n{self.log()}\n{worker_log}")

    def cli(
        self, *args: str, timeout: float = 60, as_: tuple[str, str] | None = None, check: bool = True
    ) -> str:
        """``madoguchi ARGS`` beside up; ``as_``: logged in as (name, password)."""
        env = {**self.env, **({"MADOGUCHI_USER": as_[0], "MADOGUCHI_PASSWORD": as_[1]} if as_ else {})}
        done = subprocess.run(
            [*MADOGUCHI, *args],
            env=env,
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if not check:
            return done.stdout + done.stderr
        if done.returncode != 0:
            raise AssertionError(
                f"madoguchi {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def request(self, reference: str):
        with unit_of_work(self.settings) as session:
            found = load_request(session, reference)
            session.expunge(found)
            return found

    def submit_and_verify(self) -> tuple[str, dict, str]:
        """The example request through the intake API, its code from the inbox entered there:
        ``(reference, bearer header, flow run id)``."""
        answer = httpx.post(
            f"{self.intake}/api/requests", json=json.loads(EXAMPLE.read_text(encoding="utf-8"))
        )
        assert answer.status_code == 201, answer.text
        reference = answer.json()["reference"]
        bearer = {"Authorization": f"Bearer {answer.json()['status_token']}"}
        self.until(
            lambda: (
                self.request(reference).waiting_for == "one_time_code" and self.request(reference).flow_run_id
            ),
            "code wait",
            45,
        )
        code = self.until(lambda: inbox.latest_code(self.stub, reference), "code mail", 15)
        entered = httpx.post(
            f"{self.intake}/api/requests/{reference}/identity-code", json={"code": code}, headers=bearer
        )
        assert entered.json()["result"] == "verified", entered.text
        return reference, bearer, self.request(reference).flow_run_id

    def suspended_with(self, run_id: str, form_prefix: str) -> dict:
        """The run is Suspended and shows a form whose schema is stored (what Resume renders):
        the form's properties. Inside :meth:`client`."""
        from prefect.client.orchestration import get_client

        def check():
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(UUID(run_id)).state
                keyset = state.state_details.run_input_keyset if state else None
                if not (
                    state
                    and state.name == "Suspended"
                    and keyset
                    and keyset["schema"].startswith(form_prefix)
                ):
                    return None
                found = client.filter_flow_run_input(
                    UUID(run_id), key_prefix=keyset["schema"], limit=1, exclude_keys=set()
                )
            return json.loads(found[0].value)["properties"] if found else None

        return self.until(check, f"suspended run with the {form_prefix} form", 30)
