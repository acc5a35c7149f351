"""Intake under load: 50 submissions/s for 60 s against the stack `madoguchi up` runs, once
with Prefect up and once with the Prefect server stopped during the load and restarted after
it. Prints figures, not a test.

    python3 -m uv run python bench/intake.py                       # both runs, 50/s for 60 s
    python3 -m uv run python bench/intake.py --seconds 10 --rate 20   # quick
    python3 -m uv run python bench/intake.py --only outage

Each run starts a fresh stack with ``deployments.stack.start_stack`` in a temporary folder on
free ports (Prefect server on SQLite, work pool, deployments, SendGrid stub, intake service as
``python -m web``), and runs the dispatcher loop of `madoguchi up` (``stack._round``: one
dispatch round and one mail delivery round, every ``--interval`` seconds) in a thread of this
process. The worker is stopped before the load: the target is that every request reaches a
flow run exactly once, not that the runs finish, and 3,000 lifecycle runs on a 2-core machine
would only measure the worker. The runs stay Scheduled.

The load is open-loop: submission i is due at start + i/rate whatever happened to the ones
before (a scheduler thread hands each to a pool of 64 threads sharing one HTTP/1.1 client
pool), every one with an address of its own. Latency is from the moment it was due to the
answer, so a client or server that falls behind shows in the figures (no coordinated
omission). The intake rate limits are raised through MADOGUCHI_INTAKE_RATE_* for the run.

Exactly once is checked in Prefect: every flow run of the request-lifecycle deployment, read
back page by page, counted per reference (its ``reference`` parameter and its idempotency key;
the run name becomes the reference only when a worker starts it), against the app database:
each request has ``flow_run_id`` set, to the one run Prefect holds for its reference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlmodel import select

from deployments import dispatch, local
from deployments import stack as stack_mod
from models.db import unit_of_work
from models.requests import Request
from models.schema import upgrade
from models.settings import Settings

SECRET = "bench-intake"
PRINCIPAL = {"name": "負荷 試験", "phone": "03-1234-5678", "company": "株式会社ベンチ"}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class Load:
    """Open-loop submissions at a fixed rate; latency from the due time to the answer."""

    def __init__(self, url: str, rate: float, seconds: float, tag: str):
        self.url, self.rate, self.seconds, self.tag = url, rate, seconds, tag
        self.latencies: list[float] = []
        self.late: list[float] = []  # how late a submission left (scheduler or pool behind)
        self.errors: Counter[str] = Counter()
        self.references: list[str] = []
        self._lock = threading.Lock()

    def _one(self, client: httpx.Client, i: int, due: float) -> None:
        left = time.perf_counter()
        body = {
            "request_type": "disclosure",
            "language": "ja",
            "principal": {**PRINCIPAL, "email": f"bench-{self.tag}-{i}@example.jp"},
            "details": {"scope": "注文履歴", "delivery": "electronic"},
        }
        try:
            answer = client.post(f"{self.url}/api/requests", json=body)
            outcome = answer.status_code
            reference = answer.json().get("reference") if outcome == 201 else None
        except httpx.HTTPError as exc:
            outcome, reference = type(exc).__name__, None
        done = time.perf_counter()
        with self._lock:
            self.latencies.append((done - due) * 1000)
            self.late.append((left - due) * 1000)
            if reference:
                self.references.append(reference)
            else:
                self.errors[str(outcome)] += 1

    def run(self, on_tick=None) -> float:
        total = int(self.rate * self.seconds)
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        with httpx.Client(timeout=30, limits=limits) as client, ThreadPoolExecutor(64) as pool:
            start = time.perf_counter() + 0.2
            for i in range(total):
                due = start + i / self.rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                pool.submit(self._one, client, i, due)
                if on_tick is not None:
                    on_tick(due - start)
        return time.perf_counter() - start


class Dispatcher:
    """`madoguchi up`'s loop in a thread: dispatch, deliver mail, every interval seconds."""

    def __init__(self, stack, interval: float):
        self.stack, self.interval = stack, interval
        self.stop = threading.Event()
        self.said: list[str] = []
        self.thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)

    def _say(self, line: str) -> None:
        if not line.startswith("dispatched "):
            self.said.append(line)

    def _run(self) -> None:
        outage = False
        while not self.stop.is_set():
            outage = stack_mod._round(self.stack, self._say, outage)
            self.stop.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(120)


def pending(settings: Settings, references: list[str]) -> int:
    with unit_of_work(settings) as session:
        rows = session.exec(select(Request.reference, Request.flow_run_id)).all()
    runs = dict(rows)
    return sum(1 for r in references if not runs.get(r))


def prefect_runs(api_url: str) -> list:
    """Every flow run of the lifecycle deployment."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    runs, offset = [], 0
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(dispatch.DEPLOYMENT)
        only = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        while True:
            page = client.read_flow_runs(deployment_filter=only, limit=200, offset=offset)
            runs.extend(page)
            if len(page) < 200:
                return runs
            offset += len(page)


def exactly_once(settings: Settings, api_url: str, references: list[str]) -> dict:
    runs = prefect_runs(api_url)
    per_reference: dict[str, list[str]] = {}
    for run in runs:
        reference = (run.parameters or {}).get("reference")
        assert run.idempotency_key in (None, reference), (run.idempotency_key, reference)
        per_reference.setdefault(reference, []).append(str(run.id))
    with unit_of_work(settings) as session:
        stored = dict(session.exec(select(Request.reference, Request.flow_run_id)).all())
    once = [
        r for r in references if len(per_reference.get(r, [])) == 1 and stored.get(r) == per_reference[r][0]
    ]
    return {
        "runs": len(runs),
        "once": len(once),
        "none": sum(1 for r in references if r not in per_reference),
        "several": sum(1 for r in references if len(per_reference.get(r, [])) > 1),
        "unset": sum(1 for r in references if not stored.get(r)),
    }


def start(folder: Path, interval: float):
    settings = Settings(
        data_dir=folder,
        secret_key=SECRET,
        prefect_port=local.free_port(),
        intake_port=local.free_port(),
        mail_stub_port=local.free_port(),
        dispatch_interval_seconds=interval,
    )
    upgrade(settings)
    started = time.monotonic()
    running = stack_mod.start_stack(settings, say=lambda _line: None)
    for worker in running.workers:  # no worker: the runs stay Scheduled (see the docstring)
        local.stop_worker(worker)
    running.workers = []
    return running, time.monotonic() - started


def run_once(kind: str, args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-intake-{kind}-"))
    stack, ready = start(folder, args.interval)
    settings = stack.settings
    figures = {"kind": kind, "ready_s": ready}
    try:
        load = Load(stack.intake_url, args.rate, args.seconds, kind)
        down_at = args.seconds * args.outage_start
        state = {"stopped": None}

        def maybe_stop(elapsed: float) -> None:
            if kind == "outage" and state["stopped"] is None and elapsed >= down_at:
                state["stopped"] = time.monotonic()
                threading.Thread(
                    target=local.stop_process, args=(stack.server,), kwargs={"timeout": 15}
                ).start()

        with Dispatcher(stack, args.interval) as dispatcher:
            wall = load.run(on_tick=maybe_stop)
            load_end = time.monotonic()
            time.sleep(1)  # the last answers
            figures["pending_at_end"] = pending(settings, load.references)
            print(
                f"[{kind}] load done: {len(load.references)} accepted, p50/p95/p99 "
                f"{percentile(load.latencies, 50):.0f}/{percentile(load.latencies, 95):.0f}/"
                f"{percentile(load.latencies, 99):.0f} ms; {figures['pending_at_end']} pending",
                flush=True,
            )
            if kind == "outage":
                assert not stack_mod.reachable(f"{stack.api_url}/health"), "the server is still up"
                home = stack.data_dir / "prefect"
                port = int(stack.api_url.rsplit(":", 1)[1].split("/")[0])
                restarted = time.monotonic()
                stack.server = local.start_server(
                    home,
                    port=port,
                    host="127.0.0.1",
                    ui=False,
                    log_path=stack.data_dir / "logs" / "prefect-server.log",
                )
                local.wait_until_ready(stack.api_url, timeout=120, proc=stack.server)
                figures["restart_s"] = time.monotonic() - restarted
                figures["down_s"] = time.monotonic() - state["stopped"]
            deadline = time.monotonic() + args.drain_timeout
            while pending(settings, load.references) and time.monotonic() < deadline:
                time.sleep(0.5)
            figures["all_dispatched_after_load_s"] = time.monotonic() - load_end
            figures["left_pending"] = pending(settings, load.references)
            figures["dispatcher_said"] = sorted({line.split(":")[0] for line in dispatcher.said})[:5]
        figures.update(
            submitted=int(args.rate * args.seconds),
            accepted=len(load.references),
            errors=dict(load.errors),
            wall_s=wall,
            p50=percentile(load.latencies, 50),
            p95=percentile(load.latencies, 95),
            p99=percentile(load.latencies, 99),
            max=max(load.latencies),
            mean=statistics.fmean(load.latencies),
            late_p99=percentile(load.late, 99),
        )
        figures.update(exactly_once(settings, stack.api_url, load.references))
    finally:
        stack.stop()
        if args.keep:
            print(f"kept {folder} (logs in {folder / 'logs'})")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return figures


def report(f: dict) -> None:
    title = {"up": "(a) Prefect up", "outage": "(b) Prefect server stopped during the load, restarted after"}
    print(f"\n{title[f['kind']]}")
    print(
        f"  stack ready in {f['ready_s']:.1f} s; {f['submitted']} submissions in {f['wall_s']:.1f} s "
        f"({f['submitted'] / f['wall_s']:.1f}/s)"
    )
    print(f"  accepted (201) {f['accepted']}, errors {sum(f['errors'].values())} {f['errors'] or ''}")
    print(
        f"  latency ms  p50 {f['p50']:.1f}  p95 {f['p95']:.1f}  p99 {f['p99']:.1f}  max {f['max']:.1f}  "
        f"(mean {f['mean']:.1f}; sends late by p99 {f['late_p99']:.1f})"
    )
    if f["kind"] == "outage":
        print(
            f"  server down {f['down_s']:.1f} s (restart took {f['restart_s']:.1f} s); "
            f"pending when the load ended: {f['pending_at_end']}"
        )
    else:
        print(f"  pending when the load ended: {f['pending_at_end']}")
    print(
        f"  all dispatched {f['all_dispatched_after_load_s']:.1f} s after the load; left pending {f['left_pending']}"
    )
    print(
        f"  flow runs {f['runs']}; requests with exactly one run, stored as theirs: {f['once']} of "
        f"{f['accepted']} (none {f['none']}, several {f['several']}, flow_run_id unset {f['unset']})"
    )
    if f["dispatcher_said"]:
        print(f"  dispatcher: {'; '.join(f['dispatcher_said'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="submissions per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--only", choices=["up", "outage"], help="one run only")
    parser.add_argument("--interval", type=float, default=1.0, help="dispatcher interval (s)")
    parser.add_argument(
        "--outage-start",
        type=float,
        default=0.2,
        help="when in the load the server is stopped, as a fraction of it",
    )
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (logs, databases)")
    args = parser.parse_args(argv)

    for key in [k for k in os.environ if k.startswith("PREFECT_")]:
        os.environ.pop(key)
    os.environ.update(
        {
            "MADOGUCHI_INTAKE_RATE_PER_CLIENT": "1000000",
            "MADOGUCHI_INTAKE_RATE_PER_EMAIL": "1000000",
            "MADOGUCHI_SECRET_KEY": SECRET,
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )
    print(
        f"intake bench: {args.rate:g} submissions/s for {args.seconds:g} s, open loop, "
        f"dispatcher every {args.interval:g} s, no worker; {os.cpu_count()} cores"
    )
    results = [run_once(kind, args) for kind in ("up", "outage") if args.only in (None, kind)]
    for figures in results:
        report(figures)
    ok = all(f["once"] == f["accepted"] == f["submitted"] for f in results)
    print("\nexactly one flow run per request:", "all" if ok else "NOT all")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
