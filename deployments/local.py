"""madoguchi on one machine: a Prefect server, the work pool, the deployments, a worker.

Plain functions, for `madoguchi up` and the tests. Every process started here runs in a
process group of its own and is stopped through that group (and by walking its children,
since Prefect puts each flow run in a group of its own too), so nothing lingers.

Registering the deployments runs `prefect deploy --all --prefect-file prefect.yaml` as a
subprocess rather than re-implementing it: prefect.yaml's semantics (anchors, templating,
schedules, pull steps) stay Prefect's own and identical to what an operator types by hand;
the deploy imports the flow code in a process of its own, not in the caller; and the only
in-process alternative reuses Prefect's private deploy internals, which change between
releases. The CLI's weak spot — it prints a warning and exits 0 when it skips a config it
cannot parse — is covered by reading every deployment back from the API afterwards.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PROJECT_DIR = Path(__file__).resolve().parent.parent
PREFECT_FILE = PROJECT_DIR / "prefect.yaml"
WORK_POOL = "madoguchi"
WORK_POOL_TYPE = "madoguchi-threads"  # deployments.worker: runs on threads of one process

QUIET = {  # offline: no telemetry, no analytics
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


# --- processes -----------------------------------------------------------------------------


@dataclass
class Managed:
    """A process started here, in its own process group, with its output in a log file."""

    name: str
    popen: subprocess.Popen
    log_path: Path | None = None
    url: str | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10) -> int | None:
        return stop_process(self, timeout=timeout)


def _spawn(name: str, argv: list[str], *, env: dict[str, str], cwd: Path, log_path: Path | None) -> Managed:
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed in stop
    popen = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL if log is None else log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own session and process group: stopped as a whole
        preexec_fn=_default_signals,
    )
    proc = Managed(name, popen, log_path, _log=log)
    _RUNNING.append(proc)
    return proc


_RUNNING: list[Managed] = []


def _default_signals() -> None:
    """In the child before exec: SIGINT/SIGTERM back to their defaults. A parent started with
    SIGINT ignored (`cmd &` from a script) would hand that on, and a Prefect worker with SIGINT
    ignored does not stop on SIGTERM (docs/prefect.md)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


@atexit.register
def _stop_all() -> None:
    """Nothing lingers when the starting process exits without stopping what it started."""
    for proc in reversed(_RUNNING):
        stop_process(proc, timeout=5)


def descendants(pid: int) -> list[int]:
    """Every living process below pid (Linux /proc), children first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_process(proc: Managed, timeout: float = 10) -> int | None:
    """SIGTERM to the process group (and to children that made groups of their own), then
    SIGKILL to whatever is left after timeout. Returns the exit code."""
    if proc.alive():
        below = descendants(proc.pid)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        _signal(below, signal.SIGTERM)
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            below += [p for p in descendants(proc.pid) if p not in below]
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            _signal(below, signal.SIGKILL)
            proc.popen.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(running(p) for p in below):
            time.sleep(0.1)
        _signal([p for p in below if running(p)], signal.SIGKILL)
    if proc._log is not None:
        proc._log.close()
        proc._log = None
    if proc in _RUNNING:
        _RUNNING.remove(proc)
    return proc.popen.returncode


# --- the environment -----------------------------------------------------------------------


def prefect_env(
    api_url: str, *, prefect_home: Path | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment for a Prefect client process (deploy, worker, flow runs)."""
    env = dict(os.environ)
    env.update(QUIET)
    env["PREFECT_API_URL"] = api_url
    env["PREFECT_RUNNER_AUTO_INSTALL_DEPENDENCIES"] = "false"  # no `uv run` syncing from a flow run
    env["MADOGUCHI_PROJECT_DIR"] = str(PROJECT_DIR)  # prefect.yaml's pull step moves here
    if prefect_home is not None:
        env["PREFECT_HOME"] = str(prefect_home)
    env.update(extra or {})
    return env


def _prefect_cli() -> list[str]:
    return [sys.executable, "-m", "prefect"]


@contextmanager
def _api(api_url: str | None):
    """A synchronous client for api_url (or the current profile's API)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if api_url is None:
        with get_client(sync_client=True) as client:
            yield client
        return
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        yield client


# --- server --------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_server(
    prefect_home: Path,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    ui: bool = True,
    log_path: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Managed:
    """`prefect server start` on SQLite under prefect_home; wait_until_ready() before use."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    env = dict(os.environ)
    env.update(QUIET)
    env.pop("PREFECT_API_URL", None)
    env.update(
        {
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_API_HOST": host,
            "PREFECT_SERVER_API_PORT": str(port),
        }
    )
    env.update(extra_env or {})
    argv = [
        sys.executable,
        "-m",
        "deployments.prefect_server",
        "--host",
        host,
        "--port",
        str(port),
        "--ui" if ui else "--no-ui",
        "--analytics-off",
    ]
    proc = _spawn(
        "prefect-server", argv, env=env, cwd=prefect_home, log_path=log_path or prefect_home / "server.log"
    )
    proc.url = f"http://{host}:{port}/api"
    return proc


def wait_until_ready(api_url: str, *, timeout: float = 60, proc: Managed | None = None) -> float:
    """Seconds until GET /health answers 200; raises with the server's log on timeout."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.log_tail()}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(
        f"Prefect API at {api_url} not ready after {timeout} s" + (f":\n{proc.log_tail()}" if proc else "")
    )


# --- (a) work pool -------------------------------------------------------------------------


def ensure_work_pool(api_url: str | None = None, name: str = WORK_POOL) -> bool:
    """Create the work pool when it is missing; True when it was created. A pool of another
    type (a data folder from before the thread worker) is replaced: `deploy_all` attaches the
    deployments to the new one right after."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    from deployments.worker import ThreadWorker

    with _api(api_url) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            pass
        else:
            if pool.type == WORK_POOL_TYPE:
                return False
            client.delete_work_pool(name)
        try:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type=WORK_POOL_TYPE,
                    description="madoguchi: flow runs on threads of a long-lived worker process",
                    base_job_template=ThreadWorker.get_default_base_job_template(),
                )
            )
        except ObjectAlreadyExists:  # created meanwhile by someone else
            return False
        return True


# --- (b) deployments -----------------------------------------------------------------------


def deployment_names(prefect_file: Path = PREFECT_FILE) -> list[str]:
    """The name of every deployment in prefect_file."""
    import yaml

    config = yaml.safe_load(prefect_file.read_text())
    return [d["name"] for d in config.get("deployments") or []]


def deploy_all(
    api_url: str,
    *,
    prefect_file: Path = PREFECT_FILE,
    prefect_home: Path | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 180,
) -> dict[str, str]:
    """Register every deployment in prefect_file against api_url; {name: deployment id}.

    Runs `prefect --no-prompt deploy --all --prefect-file …` from the project folder (the
    entrypoints are relative to it), then reads each deployment back from the API."""
    argv = [*_prefect_cli(), "--no-prompt", "deploy", "--all", "--prefect-file", str(prefect_file)]
    env = prefect_env(api_url, prefect_home=prefect_home, extra=extra_env)
    env["PREFECT_CLI_PROMPT"] = "false"
    done = subprocess.run(
        argv,
        cwd=prefect_file.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"prefect deploy failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    ids = {}
    with _api(api_url) as client:
        for name in deployment_names(prefect_file):
            found = client.read_deployments(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name]))
            )
            if not found:
                raise RuntimeError(f"prefect deploy did not register {name!r}:\n{done.stdout}\n{done.stderr}")
            ids[name] = str(found[0].id)
    return ids


# --- (c) worker ----------------------------------------------------------------------------


def start_worker(
    api_url: str,
    *,
    pool: str = WORK_POOL,
    prefect_home: Path | None = None,
    extra_env: dict[str, str] | None = None,
    log_path: Path | None = None,
    query_seconds: int = 1,
    name: str | None = None,
    limit: int | None = None,
) -> Managed:
    """madoguchi's thread worker (`deployments.worker`) in a process group of its own.

    Flow runs share the worker's environment: pass the app's settings (MADOGUCHI_DATA_DIR,
    MADOGUCHI_SECRET_KEY, …) in extra_env. Polls every query_seconds (Prefect's default is
    10 s, which makes a trigger take 8-12 s to start)."""
    env = prefect_env(
        api_url,
        prefect_home=prefect_home,
        extra={
            "PREFECT_WORKER_QUERY_SECONDS": str(query_seconds),
            **(extra_env or {}),
        },
    )
    argv = [sys.executable, "-m", "deployments.worker", "--pool", pool]
    if name:
        argv += ["--name", name]
    if limit:
        argv += ["--limit", str(limit)]
    return _spawn(name or "prefect-worker", argv, env=env, cwd=PROJECT_DIR, log_path=log_path)


def stop_worker(worker: Managed, timeout: float = 15) -> int | None:
    """Stop the worker and any flow-run process it still has."""
    return stop_process(worker, timeout=timeout)
