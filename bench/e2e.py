"""The path users run, end to end: `madoguchi up` (autopilot) in a folder of its own, N
disclosure requests sent at once through `POST /api/requests`, and N simulated requesters who
each read their one-time code from the SendGrid stub's inbox and enter it through the API,
until every request is final or the time is up.

    python -m bench.e2e --requests 100                  # the default set-up (SQLite)
    python -m bench.e2e --requests 100 --production     # PostgreSQL + Redis, `up --production`
    python -m bench.e2e --requests 100 --production --workers 2

Prints requests/min (first submission → last decision), the median and p95 time from
submission to decision, CPU seconds per request summed over every process `up` started (its
PostgreSQL and Redis included), peak memory (sampled: the sum of PSS, shared pages counted once,
and the sum of RSS), and how many requests were
lost (no 201) or stuck (not final at the end). Loopback only; everything started is stopped."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench._procs import cpu_by_part, cpu_seconds, free_port, pss_bytes, rss_bytes, tree

PROJECT = Path(__file__).resolve().parent.parent
MADOGUCHI = [str(Path(sys.executable).parent / "madoguchi")]
FINAL = {"completed", "refused", "withdrawn", "closed"}
POLL_SECONDS = 2.0  # a requester's status page looks again every 2 s (the intake's CPU counts in the figures)
BODY = {
    "request_type": "disclosure",
    "language": "ja",
    "principal": {
        "name": "山田 太郎",
        "email": "taro@example.co.jp",
        "phone": "03-1234-5678",
        "company": "株式会社サンプル",
        "login_id": "A1234567",
    },
    "details": {"scope": "注文履歴", "delivery": "electronic"},
}


class Up:
    """`madoguchi up` as a user starts it, on free ports in a folder of its own."""

    def __init__(self, folder: Path, args, **env: str):
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MADOGUCHI_"))}
        self.env.update(
            {
                "MADOGUCHI_DATA_DIR": str(folder / "data"),
                "MADOGUCHI_AUTOPILOT": "1",
                "MADOGUCHI_PREFECT_PORT": str(free_port()),
                "MADOGUCHI_PREFECT_INTERNAL_PORT": str(free_port()),
                "MADOGUCHI_INTAKE_PORT": str(free_port()),
                "MADOGUCHI_MAIL_STUB_PORT": str(free_port()),
                "MADOGUCHI_POSTGRES_PORT": str(free_port()),
                "MADOGUCHI_REDIS_PORT": str(free_port()),
                "MADOGUCHI_INTAKE_RATE_PER_EMAIL": "100000",
                "MADOGUCHI_INTAKE_RATE_PER_CLIENT": "100000",
                "MADOGUCHI_WORKER_LIMIT": str(args.limit),
                **env,
            }
        )
        self.intake = f"http://127.0.0.1:{self.env['MADOGUCHI_INTAKE_PORT']}"
        self.stub = f"http://127.0.0.1:{self.env['MADOGUCHI_MAIL_STUB_PORT']}"
        self.argv = [
            *MADOGUCHI,
            "up",
            "--fixture",
            str(PROJECT / "tests" / "fixtures" / "contract_example.json"),
            "--workers",
            str(args.workers),
        ] + (["--production"] if args.production else [])
        self.log = folder / "up.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Up:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=PROJECT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 240
        while "madoguchi is up" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"up did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class Sampler(threading.Thread):
    """Peak memory of up's process tree (PSS and RSS sums), sampled every half second."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.peak_rss, self.stop = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = tree(self.pid)
            self.peak = max(self.peak, pss_bytes(pids))
            self.peak_rss = max(self.peak_rss, rss_bytes(pids))
            self.stop.wait(0.5)


def requester(client: httpx.Client, stub: str, ref: str, token: str, deadline: float) -> float | None:
    """Enter the code from the inbox when the request waits for it; the time it went final.
    A requester whose page does not answer (the intake restarting) tries again."""
    auth = {"Authorization": f"Bearer {token}"}
    entered = False
    while time.monotonic() < deadline:
        try:
            state = client.get(f"/api/requests/{ref}", headers=auth).json()
            if state["status"] in FINAL:
                return time.monotonic()
            if not entered and state.get("waiting_for") == "one_time_code":
                code = code_for(stub, ref)
                if code:
                    answer = client.post(
                        f"/api/requests/{ref}/identity-code", json={"code": code}, headers=auth
                    )
                    entered = answer.status_code < 300
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(POLL_SECONDS)
    return None


def code_for(stub: str, ref: str) -> str | None:
    from demo.inbox import latest_code

    try:
        return latest_code(stub, ref)
    except (LookupError, AssertionError, httpx.HTTPError):
        return None


def submit(client: httpx.Client, body: dict, tries: int = 20) -> httpx.Response | None:
    """One submission, tried again while the intake does not answer (None: never accepted)."""
    for _ in range(tries):
        try:
            return client.post("/api/requests", json=body)
        except httpx.HTTPError:
            time.sleep(1)
    return None


def load(up: Up, requests: int, timeout: float, fault=None) -> dict:
    """N requests at once, their requesters, until all are final or the time is up; ``fault``
    is called once the submissions are in (its figures join the result)."""
    pids = tree(up.proc.pid)
    cpu_before = cpu_seconds(pids)
    parts_before = cpu_by_part(pids)
    sampler = Sampler(up.proc.pid)
    sampler.start()
    client = httpx.Client(base_url=up.intake, timeout=60)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=min(requests, 32)) as pool:
        answers = list(pool.map(lambda _: submit(client, BODY), range(requests)))
    submitted = {
        a.json()["reference"]: (a.json()["status_token"], time.monotonic())
        for a in answers
        if a is not None and a.status_code == 201
    }
    deadline = started + timeout
    extra = {}
    with ThreadPoolExecutor(max_workers=len(submitted) + 1) as pool:
        if fault is not None:
            extra_future = pool.submit(fault, up)
        done = dict(
            zip(
                submitted,
                pool.map(lambda ref: requester(client, up.stub, ref, submitted[ref][0], deadline), submitted),
                strict=False,
            )
        )
        if fault is not None:
            extra = extra_future.result()
    ended = [t for t in done.values() if t is not None]
    sampler.stop.set()
    cpu = cpu_seconds(tree(up.proc.pid)) - cpu_before
    parts = {
        name: round((spent - parts_before.get(name, 0.0)) / max(len(ended), 1), 3)
        for name, spent in cpu_by_part(tree(up.proc.pid)).items()
    }
    waits = sorted(t - submitted[ref][1] for ref, t in done.items() if t is not None)
    return {
        "requests": requests,
        "lost": requests - len(submitted),
        "final": len(ended),
        "stuck": len(submitted) - len(ended),
        "per_min": len(ended) / ((max(ended) - started) / 60) if ended else 0.0,
        "median_s": waits[len(waits) // 2] if waits else None,
        "p95_s": waits[max(int(len(waits) * 0.95) - 1, 0)] if waits else None,
        "cpu_per_request_s": cpu / max(len(ended), 1),
        "cpu_per_request_by_part_s": parts,
        "peak_pss_mb": sampler.peak / 2**20,
        "peak_rss_mb": sampler.peak_rss / 2**20,
        "references": sorted(submitted),
        "last_final_at": max(ended) if ended else None,
        **extra,
    }


def run(args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    try:
        with Up(folder, args) as up:
            figures = load(up, args.requests, args.timeout)
        figures.pop("references")
        figures.pop("last_final_at")
        return {"mode": "production" if args.production else "default", "workers": args.workers, **figures}
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--production", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=int, default=8, help="flow runs per worker at once")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the folder (logs) afterwards")
    figures = run(parser.parse_args(argv))
    print(json.dumps(figures, ensure_ascii=False))
    print(
        f"{figures['mode']}, {figures['workers']} worker(s): {figures['final']}/{figures['requests']} final, "
        f"{figures['lost']} lost, {figures['stuck']} stuck; {figures['per_min']:.1f} requests/min; "
        f"submission → decision median {figures['median_s'] or 0:.1f} s, p95 {figures['p95_s'] or 0:.1f} s; "
        f"{figures['cpu_per_request_s']:.2f} s CPU per request; peak memory {figures['peak_pss_mb']:.0f} MB PSS "
        f"({figures['peak_rss_mb']:.0f} MB RSS summed)"
    )


if __name__ == "__main__":
    main()
