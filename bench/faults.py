"""The fault campaign on the path users run: `madoguchi up` (autopilot) under a load of N
requests through the HTTP API (bench/e2e.py), and one fault per scenario while they run:

- ``worker``            kill -9 the worker, a few seconds into the load;
- ``mid-fulfilment``    kill -9 the worker (which executes the runs) while a request is being
                        fulfilled (systems slowed to 0.3 s a call, so fulfilment takes seconds);
- ``server``            kill -9 the Prefect server;
- ``intake``            kill -9 the intake service while requesters use it;
- ``mail``              the SendGrid stub answers 503 for a minute;
- ``systems``           30 % of the systems' actions fail transiently.

For each it prints: requests lost (no 201) and stuck (not final at the end), side effects done
twice (a decision or acknowledgement mail received twice by the stub; a system action applied
twice for one request), the time from the fault until `up` had the part running again, and
the time from the fault until the last request was final.

    python -m bench.faults --requests 50 [--production] [--only worker,server]"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import httpx

from bench._procs import tree
from bench.e2e import Up, load

SCENARIOS = ("worker", "mid-fulfilment", "server", "intake", "mail", "systems")
ENV = {
    "mid-fulfilment": {"MADOGUCHI_SYSTEM_LATENCY_SECONDS": "0.3"},
    "systems": {"MADOGUCHI_SYSTEM_FAULT_RATE": "0.3", "MADOGUCHI_FULFILMENT_RETRY_BASE_SECONDS": "0.5"},
}
# a word of the command line of the part to kill (the server: `python -m
# deployments.prefect_server`, which serves in its own process)
MARKERS = {
    "worker": (b"deployments.worker",),
    "mid-fulfilment": (b"deployments.worker",),
    "server": (b"deployments.prefect_server",),
    "intake": (b"web",),
}


def pids_of(up: Up, markers: tuple[bytes, ...]) -> list[int]:
    """The processes under `up` whose command line has one of ``markers`` as a word."""
    found = []
    for pid in tree(up.proc.pid)[1:]:
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(m in words for m in markers) and (b"redis-server" not in words[0]):
            found.append(pid)
    return found


def back_again(
    up: Up, markers: tuple[bytes, ...], old: list[int], since: float, timeout: float = 180
) -> float | None:
    """Seconds from ``since`` until a new process with ``markers`` runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if [p for p in pids_of(up, markers) if p not in old]:
            return time.monotonic() - since
        time.sleep(0.2)
    return None


def database_urls(up: Up) -> tuple[str, list[str]]:
    """The app database's URL and the systems' (PostgreSQL in production mode, else SQLite)."""
    from deployments.production import SYSTEM_KEYS

    if "--production" in up.argv:
        server = f"postgresql+psycopg://postgres@127.0.0.1:{up.env['MADOGUCHI_POSTGRES_PORT']}"
        return f"{server}/madoguchi", [f"{server}/system_{key}" for key in SYSTEM_KEYS]
    data = up.folder / "data"
    return f"sqlite:///{data / 'madoguchi.sqlite'}", [f"sqlite:///{p}" for p in data.glob("systems/*.sqlite")]


def in_fulfilment(up: Up, timeout: float = 120) -> bool:
    """Wait until a request is being fulfilled (the app database says so)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_urls(up)[0])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM request WHERE status = 'fulfilment'")).scalar():
                    return True
            time.sleep(0.1)
    finally:
        engine.dispose()
    return False


def fault_for(scenario: str):
    def inject(up: Up) -> dict:
        time.sleep(3)
        if scenario == "mid-fulfilment" and not in_fulfilment(up):
            return {"fault": "no request reached fulfilment"}
        at = time.monotonic()
        if scenario in MARKERS:
            pids = pids_of(up, MARKERS[scenario])
            if not pids:  # a campaign that killed nothing must not read as a recovery
                return {"fault": f"no process of {scenario} found to kill"}
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            return {
                "fault_at": at,
                "killed": len(pids),
                "back_s": back_again(up, MARKERS[scenario], pids, at),
            }
        if scenario == "mail":
            httpx.post(
                f"{up.stub}/_faults", json={"status": 503, "seconds": 60}, timeout=5
            ).raise_for_status()
        return {"fault_at": at, "back_s": 0.0}

    return inject


def twice(up: Up, references: list[str]) -> dict:
    """Side effects done twice: mails received twice by the stub (a one-time code may be sent
    again by design, so only acknowledgements and decisions count), system actions applied
    twice for one request (the systems' idempotency ledgers)."""
    from sqlalchemy import create_engine, inspect, text

    from demo.inbox import kind_of, messages

    mails = 0
    for reference in references:
        kinds = collections.Counter(kind_of(m) for m in messages(up.stub, reference))
        mails += sum(n - 1 for kind, n in kinds.items() if kind in ("acknowledgement", "decision") and n > 1)
    actions = 0
    for url in database_urls(up)[1]:
        engine = create_engine(url)
        with engine.connect() as conn:
            if not inspect(conn).has_table("applied_actions"):  # a system that never acts (contractor API)
                continue
            keys = [row[0] for row in conn.execute(text("SELECT idempotency_key FROM applied_actions"))]
        engine.dispose()
        per = collections.Counter(next((r for r in references if r in key), key) for key in keys)
        actions += sum(n - 1 for ref, n in per.items() if ref in references and n > 1)
    return {"mail_twice": mails, "actions_twice": actions}


def scenario_run(scenario: str, args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-faults-{scenario}-"))
    try:
        with Up(folder, args, **ENV.get(scenario, {})) as up:
            figures = load(up, args.requests, args.timeout, fault=fault_for(scenario))
            figures.update(twice(up, figures.pop("references")))
            fault_at, last = figures.pop("fault_at", None), figures.pop("last_final_at")
            figures["drained_s"] = last - fault_at if fault_at and last else None
            figures["restarts_logged"] = up.log.read_text(errors="replace").count("starting it again")
        return {"scenario": scenario, "mode": "production" if args.production else "default", **figures}
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--production", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    for scenario in args.only.split(","):
        figures = scenario_run(scenario, args)
        print(json.dumps(figures, ensure_ascii=False), flush=True)
        if "fault" in figures:
            print(f"{scenario:15} {figures['mode']}: FAULT NOT INJECTED ({figures['fault']})", flush=True)
            continue
        print(
            f"{scenario:15} {figures['mode']}: lost {figures['lost']}, stuck {figures['stuck']}, "
            f"mail twice {figures['mail_twice']}, actions twice {figures['actions_twice']}; "
            f"back after {figures.get('back_s')} s, all final {figures['drained_s'] and round(figures['drained_s'], 1)} s "
            f"after the fault",
            flush=True,
        )


if __name__ == "__main__":
    main()
