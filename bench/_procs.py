"""Processes for the lifecycle benchmark: a local Prefect server, and CPU / memory readings
from /proc (no psutil). Loopback only; every process started here is stopped by its id."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from deployments.local import descendants, free_port

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
QUIET = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def tree(pid: int) -> list[int]:
    """pid and every living process below it."""
    return [pid, *descendants(pid)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the given processes (and of their waited-for children)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


PARTS = (
    (
        "prefect server",
        ("prefect.server", "deployments.prefect_server", "prefect server start", "uvicorn --app-dir"),
    ),
    ("gate", ("web.gate",)),
    ("worker", ("deployments.worker",)),
    ("intake", ("-m web",)),
    ("mail stub", ("demo.stub",)),
    ("postgres", ("postgres",)),
    ("redis", ("redis-server",)),
    ("up (dispatcher, recovery, mail)", ("madoguchi up",)),
)


def part_of(pid: int) -> str:
    """Which part of `up` a process is, by its command line."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    return next((name for name, markers in PARTS if any(m in cmdline for m in markers)), "other")


def cpu_by_part(pids: list[int]) -> dict[str, float]:
    """CPU seconds of the given processes, summed by :func:`part_of`."""
    parts: dict[str, float] = {}
    for pid in pids:
        name = part_of(pid)
        parts[name] = parts.get(name, 0.0) + cpu_seconds([pid])
    return parts


def pss_bytes(pids: list[int]) -> int:
    """Proportional set size: each shared page counted once over the processes sharing it.
    The sum of RSS counts PostgreSQL's shared buffers once per backend that touched them."""
    total = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in lines if line.startswith("Pss:")), 0)
    return total


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
    return total


def pids_named(marker: str) -> list[int]:
    """Processes whose command line contains marker (used for our own PostgreSQL cluster,
    found by its data directory, never to stop anything)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Sampler:
    """Peak of the summed RSS of some process groups, sampled every ``every`` seconds."""

    def __init__(self, groups, every: float = 0.25):
        self.groups, self.every = groups, every  # callable -> {name: [pids]}
        self.peak, self.peak_parts = 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            parts = {name: rss_bytes(pids) for name, pids in self.groups().items()}
            if sum(parts.values()) > self.peak:
                self.peak, self.peak_parts = sum(parts.values()), parts
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def postgres_pids(port: int | str) -> list[int]:
    """The postmaster of a throwaway cluster (found by its port) and its backends."""
    masters = [p for p in pids_named(f"-p {port}") if "postgres" in Path(f"/proc/{p}/comm").read_text()]
    return [q for m in masters for q in tree(m)]


class PrefectServer:
    """`prefect server start` on loopback with a PREFECT_HOME of its own: on SQLite there, or
    on PostgreSQL with ``database_url`` (``postgresql+asyncpg://…``; then ``pids`` counts the
    cluster's processes too, ``db_port``)."""

    def __init__(
        self, home: Path, port: int | None = None, database_url: str | None = None, db_port: int | None = None
    ):
        self.database_url, self.db_port = database_url, db_port
        self.home, self.port = home, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.popen: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> float:
        from deployments.local import wait_until_ready

        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            QUIET,
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_UI_ENABLED="false",
        )
        if self.database_url:
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = self.database_url
        self._log = open(self.home / "server.log", "ab")  # noqa: SIM115 - closed in stop
        started = time.monotonic()
        self.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deployments.prefect_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-ui",
                "--analytics-off",
            ],
            cwd=self.home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_ready(self.url, timeout=timeout)
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"prefect server not ready; see {self.home / 'server.log'}") from None
        return time.monotonic() - started

    @property
    def pids(self) -> list[int]:
        own = tree(self.popen.pid) if self.popen and self.popen.poll() is None else []
        return own + (postgres_pids(self.db_port) if self.db_port else [])

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        below = tree(self.popen.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            for pid in below:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.popen.wait(5)
        self._log.close()
