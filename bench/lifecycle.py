"""What does Prefect cost a request? Prints figures, not a test.

On a local Prefect server (started here, loopback, its own PREFECT_HOME, stopped at the end),
requests go through the autopilot path: the requester enters the one-time code half a second
after its email is sent (in both modes) and wakes the run as the intake API does; the eight
demo systems answer after 200 ms.

(a) wall time per request under Prefect against the same steps made directly (``_drive.direct``)
(b) task runs per request (from the Prefect API) and Prefect server CPU per request
(c) fulfilment across the eight systems: the fulfilment tasks at once against one after another
(d) throughput with several flow runs in flight (threads of this process, as in a worker)
(e) the fides-like workload: PostgreSQL systems, 100,000 customers and 1,000,000 orders,
    access (disclosure) requests only; requests per minute, CPU per request, peak memory.

Run: ``python3 -m uv run python bench/lifecycle.py`` (full, ~6-10 min)
     ``... --requests 4 --in-flight 4 --throughput-requests 8 --fides-requests 10`` (smoke)
     ``... --skip-fides``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _procs import QUIET, PrefectServer, Sampler, cpu_seconds, postgres_pids  # noqa: E402

SYSTEMS = 8


def _env(**values) -> None:
    os.environ.update({k: str(v) for k, v in values.items()})
    from models.settings import get_settings

    get_settings.cache_clear()


def _median(xs):
    return statistics.median(xs) if xs else float("nan")


def _task_runs(flow_run_ids: list[str], settle: float = 3.0) -> dict[str, int]:
    """Task runs per flow run, read back from the API (task-run history is written through
    the server's event pipeline: give it a moment)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    time.sleep(settle)
    counts = dict.fromkeys(flow_run_ids, 0)
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in flow_run_ids])),
                limit=200,
                offset=offset,
            )
            for run in page:
                counts[str(run.flow_run_id)] += 1
            if len(page) < 200:
                return counts
            offset += 200


# --- the desk: app database, eight demo systems, demo subjects ------------------------------


class Subjects:
    """Fresh demo subjects, one per request (a principal asking again would count as a
    repeated request in the pre-screen)."""

    def __init__(self, settings, count: int, mailed_after_opt_out: bool, start: int):
        from _drive import fixture_subject

        from demo.fixture import load_fixture_into_systems

        self.items = [
            fixture_subject(start + i, mailed_after_opt_out=mailed_after_opt_out) for i in range(count)
        ]
        load_fixture_into_systems({"customers": self.items}, settings)

    def take(self) -> dict:
        from _drive import principal

        return principal(self.items.pop())


class Desk:
    def __init__(self, root: Path, args):
        from demo.seed import seed_systems
        from models.schema import upgrade
        from models.settings import get_settings

        _env(
            MADOGUCHI_DATA_DIR=root / "desk",
            MADOGUCHI_AUTOPILOT=1,
            MADOGUCHI_SYSTEM_LATENCY_SECONDS=args.latency,
            MADOGUCHI_SECRET_KEY="bench-lifecycle",
        )
        self.settings = settings = get_settings()
        upgrade(settings)
        t = time.perf_counter()
        seed_systems(settings, customers=args.population)
        # (a): warm-up + requests, twice (direct, Prefect); (c): warm-up + two per rep; (d)
        n_erasure = (
            2 * (1 + args.requests) + 1 + 2 * args.fulfil_reps + (args.throughput_requests + 1) // 2 + 2
        )
        n_disclosure = 2 * (1 + args.requests) + args.throughput_requests // 2 + 2
        self.erasure = Subjects(settings, n_erasure, True, 0)
        self.disclosure = Subjects(settings, n_disclosure, False, 100_000)
        print(
            f"desk: {args.population} customers per system seeded, {n_erasure + n_disclosure} "
            f"request subjects loaded in {time.perf_counter() - t:.1f} s",
            flush=True,
        )

    def submit(self, kind: str) -> str:
        from _drive import submit

        if kind == "erasure":
            # advertising mail after an opt-out is on record: the marketing list is erased,
            # the rest refused (no_statutory_ground) and signed off: a partial grant
            return submit(self.settings, "erasure", self.erasure.take(), {"ground_codes": ["rights_harmed"]})
        return submit(self.settings, "disclosure", self.disclosure.take())


# --- (a) + (b) -----------------------------------------------------------------------------


def part_ab(desk: Desk, server: PrefectServer, args) -> dict:
    from _drive import FlowRequest, direct

    kinds = ["erasure", "disclosure"] * args.requests
    kinds = kinds[: args.requests * 2]
    # warm-up: imports, connections, the flow's registration; not counted
    for kind in ("erasure", "disclosure"):
        direct(desk.settings, desk.submit(kind))
        run = FlowRequest(desk.settings, desk.submit(kind)).run()
        assert run.error is None, run.error
    out = {
        "direct": {"erasure": [], "disclosure": []},
        "prefect": {"erasure": [], "disclosure": []},
        "waits": [],
        "runs": [],
    }
    returned = []
    own0 = cpu_seconds([os.getpid()])
    for kind in kinds:
        ref = desk.submit(kind)
        t = time.perf_counter()
        status = direct(desk.settings, ref)
        out["direct"][kind].append(time.perf_counter() - t)
        assert status == "completed", (ref, status)
    out["direct_cpu_per_request"] = (cpu_seconds([os.getpid()]) - own0) / len(kinds)
    t, idle0 = time.perf_counter(), cpu_seconds(server.pids)
    time.sleep(5)
    out["server_idle_cpu_per_s"] = (cpu_seconds(server.pids) - idle0) / (time.perf_counter() - t)
    cpu0, t, own0 = cpu_seconds(server.pids), time.perf_counter(), cpu_seconds([os.getpid()])
    for kind in kinds:
        run = FlowRequest(desk.settings, desk.submit(kind)).run()
        if run.error or run.result != "completed":
            raise RuntimeError(f"{run.reference}: {run.result} {run.error!r}")
        out["prefect"][kind].append(run.seconds)
        out["waits"].append((run.code_at, run.woken_at))
        out["runs"].append(run.flow_run_id)
        returned.append(run.returned_at)
    out["server_cpu_per_request"] = (cpu_seconds(server.pids) - cpu0) / len(kinds)
    out["flow_cpu_per_request"] = (cpu_seconds([os.getpid()]) - own0) / len(kinds)
    out["server_idle_per_request"] = out["server_idle_cpu_per_s"] * (time.perf_counter() - t) / len(kinds)
    out["task_runs"] = _task_runs(out["runs"])
    out["teardown"] = _teardown(out["runs"], returned)
    return out


def _teardown(flow_run_ids: list[str], returned: list) -> list[float]:
    """Seconds from the run's Completed state (set by the engine once the flow function
    returned) to the flow call returning in its thread: the engine's own teardown."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [
            (at - client.read_flow_run(UUID(run_id)).state.timestamp).total_seconds()
            for run_id, at in zip(flow_run_ids, returned, strict=False)
        ]


def print_ab(r: dict) -> None:
    from _drive import READING_SECONDS

    print("\n(a) wall time per request, autopilot, systems at 200 ms (median)")
    print(f"    {'':12} {'direct':>9} {'Prefect':>9} {'extra':>9}   n")
    for kind in ("erasure", "disclosure"):
        d, p = _median(r["direct"][kind]), _median(r["prefect"][kind])
        print(f"    {kind:12} {d:8.2f}s {p:8.2f}s {p - d:+8.2f}s   {len(r['prefect'][kind])}")
    alld = _median(r["direct"]["erasure"] + r["direct"]["disclosure"])
    allp = _median(r["prefect"]["erasure"] + r["prefect"]["disclosure"])
    print(f"    {'all':12} {alld:8.2f}s {allp:8.2f}s {allp - alld:+8.2f}s   (target: extra <= 1 s)")
    print(
        f"    both modes: the code entered {READING_SECONDS:.1f}s after its email is sent; under "
        f"Prefect that was {_median([c for c, _ in r['waits'] if c]):.2f}s after the start and the "
        f"wake took {_median([w - c for c, w in r['waits'] if w]) * 1000:.0f} ms (medians); a woken run "
        "notices at its next poll (MADOGUCHI_PAUSE_POLL_SECONDS)"
    )
    print(
        f"    of the Prefect wall time, {_median(r['teardown']) * 1000:.0f} ms (median) come after the run is "
        "Completed on the server: the engine's teardown (a sync flow's engine spends ~1 s here joining "
        "its heartbeat thread; the lifecycle flow is async)"
    )
    counts = list(r["task_runs"].values())
    print(
        "(b) task runs per request: "
        f"median {_median(counts):.0f}, min {min(counts)}, max {max(counts)}; "
        f"Prefect server CPU per request (sequential runs): {r['server_cpu_per_request'] * 1000:.0f} ms, "
        f"of which {r['server_idle_per_request'] * 1000:.0f} ms its idle background "
        f"({r['server_idle_cpu_per_s'] * 1000:.0f} ms/s with nothing running); CPU of the "
        f"requesting process per request: {r['flow_cpu_per_request'] * 1000:.0f} ms under Prefect, "
        f"{r['direct_cpu_per_request'] * 1000:.0f} ms direct"
    )


# --- (c) -----------------------------------------------------------------------------------


def _to_fulfilment(desk: Desk) -> str:
    """An erasure request decided for action on all eight systems (operator overrides the
    refusals: erase where the system can, restriction where it cannot or must retain),
    signed off and paid, standing at fulfilment. Steps made directly: only (c) is timed."""
    from _drive import enter_code

    from deployments.registry import registry_for
    from models.rules.vocabulary import SystemAction
    from services import lifecycle as stages
    from services.lifecycle import ReviewNext
    from tasks.request import propose_review, start_identity

    settings = desk.settings
    ref = desk.submit("erasure")
    start_identity.fn(ref)
    enter_code(settings, ref)
    propose_review.fn(ref)
    registry = registry_for(settings)
    decisions = {}
    for item in stages.review_step(settings, ref).pending:
        key = item["item_key"]
        if key not in registry.keys():
            continue
        info = registry.info(key)
        if info.retention is not None:
            decisions[key] = ("alternative", ["legal_retention_duty"])
        elif SystemAction.ERASE in {SystemAction(a) for a in info.actions}:
            decisions[key] = ("grant", [])
        else:
            decisions[key] = ("alternative", ["alternative_measure"])
    stages.decide_review(settings, ref, decisions, registry=registry, actor="bench")
    if stages.review_step(settings, ref).next is ReviewNext.SIGN_OFF:
        stages.review_signed_off(settings, ref, approved=True, actor="bench")
    outcome, _ = stages.review_outcome(settings, ref)
    if stages.fee_due(settings, ref, outcome) is not None:
        stages.confirm_payment(settings, ref, actor="bench", method="bench")
    stages.start_fulfilment(settings, ref)
    return ref


def part_c(desk: Desk, args) -> dict:
    from _drive import perform_all
    from prefect import flow

    from tasks.fulfilment import act_on_system, fulfil

    timings: dict[str, list[float]] = {"concurrent": [], "sequential": []}
    actions: list[int] = []

    @flow(name="bench-fulfil-concurrent")
    def concurrent(reference: str) -> tuple[float, int]:
        t = time.perf_counter()
        outcomes = fulfil(reference)  # the lifecycle's own: one task per (system, action), at once
        return time.perf_counter() - t, len(outcomes)

    @flow(name="bench-fulfil-sequential")
    def sequential(reference: str) -> tuple[float, int]:
        t = time.perf_counter()
        outcomes = perform_all(desk.settings, reference, concurrent=False, act=act_on_system)
        return time.perf_counter() - t, len(outcomes)

    concurrent(_to_fulfilment(desk))  # warm-up
    for _ in range(args.fulfil_reps):
        for mode, fn in (("concurrent", concurrent), ("sequential", sequential)):
            seconds, n = fn(_to_fulfilment(desk))
            timings[mode].append(seconds)
            actions.append(n)
    return {**timings, "actions": actions}


def print_c(r: dict) -> None:
    c, s = _median(r["concurrent"]), _median(r["sequential"])
    print(
        f"(c) fulfilment, {max(r['actions'])} actions on {SYSTEMS} systems, tasks inside a flow "
        f"(median of {len(r['concurrent'])}): concurrent {c:.2f}s, one after another {s:.2f}s, "
        f"ratio {c / s:.2f}x (target <= 0.3x)"
    )


# --- (d) -----------------------------------------------------------------------------------


def part_d(desk: Desk, server: PrefectServer, args) -> dict:
    """With the Prefect server on SQLite, concurrent runs meet its "database is locked" answers
    (503; the client backs off 2, 4, 8 s …): the tail, not the CPU, limits the rate."""
    from concurrent.futures import ThreadPoolExecutor

    from _drive import FlowRequest

    refs = [desk.submit("erasure" if i % 2 == 0 else "disclosure") for i in range(args.throughput_requests)]
    cpu0, own0 = cpu_seconds(server.pids), cpu_seconds([os.getpid()])
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.in_flight) as pool:
        runs = list(pool.map(lambda ref: FlowRequest(desk.settings, ref).run(), refs))
    wall = time.perf_counter() - t
    failed = [(r.reference, r.result, repr(r.error)) for r in runs if r.error or r.result != "completed"]
    n = len(refs)
    return {
        "n": n,
        "in_flight": args.in_flight,
        "wall": wall,
        "per_minute": n / wall * 60,
        "latency": _median([r.seconds for r in runs]),
        "failed": failed,
        "p95": sorted(r.seconds for r in runs)[int(0.95 * (n - 1))],
        "lost_wakes": sum(r.woke is False for r in runs),
        "server_cpu": (cpu_seconds(server.pids) - cpu0) / n,
        "own_cpu": (cpu_seconds([os.getpid()]) - own0) / n,
        "task_runs": _median(list(_task_runs([r.flow_run_id for r in runs if r.flow_run_id]).values())),
    }


def print_d(r: dict) -> None:
    print(
        f"(d) throughput, {r['n']} requests (erasure/disclosure alternating), {r['in_flight']} flow "
        f"runs in flight: {r['per_minute']:.0f} requests/min ({r['wall']:.1f}s wall; median "
        f"{r['latency']:.1f}s, p95 {r['p95']:.1f}s per request; goal >= 60/min; wakes that found no "
        f"waiting run: {r['lost_wakes']}). CPU per request: Prefect server "
        f"{r['server_cpu'] * 1000:.0f} ms, flow process {r['own_cpu'] * 1000:.0f} ms; "
        f"task runs per request {r['task_runs']:.0f}"
        + (f"; FAILED {len(r['failed'])}: {r['failed'][:3]}" if r["failed"] else "")
    )


# --- (e) the fides-like workload, in a process of its own ---------------------------------


def part_e(args) -> dict:
    """Runs in a child process: PostgreSQL for the systems and the app database."""
    from concurrent.futures import ThreadPoolExecutor

    from _drive import FlowRequest, submit
    from _pg import seed_fides

    from tests.postgres import cluster, create_database, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        return {"skipped": "no PostgreSQL binaries"}
    root = Path(args.root)
    with cluster(bin_dir) as server_url:
        port = server_url.rsplit(":", 1)[1]
        app_url = create_database(server_url, "app")
        _env(
            MADOGUCHI_DATA_DIR=root / "fides",
            MADOGUCHI_AUTOPILOT=1,
            MADOGUCHI_SYSTEM_LATENCY_SECONDS=args.fides_latency,
            MADOGUCHI_SECRET_KEY="bench-lifecycle",
            MADOGUCHI_DATABASE_URL=app_url,
            MADOGUCHI_SYSTEMS_DATABASE_URL=f"{server_url}/{{system}}",
        )
        from models.schema import upgrade
        from models.settings import get_settings

        settings = get_settings()
        upgrade(settings)
        t = time.perf_counter()
        sizes = seed_fides(
            settings,
            server_url,
            customers=args.fides_customers,
            orders=args.fides_orders,
            others=args.fides_others,
        )
        seed_seconds = time.perf_counter() - t
        print(f"(e) seeded in {seed_seconds:.0f} s: {sizes}", flush=True)
        from demo.world import World

        world = World(args.fides_customers)
        rng = random.Random(7)
        picks = rng.sample(range(args.fides_others, args.fides_customers), args.fides_requests + 2)

        def who(i):
            c = world.customer(i)
            return {
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "company": c.company,
                "login_id": c.login_id,
            }

        for i in picks[:2]:  # warm-up
            run = FlowRequest(settings, submit(settings, "disclosure", who(i))).run()
            assert run.error is None and run.result == "completed", (run.result, run.error)
        refs = [submit(settings, "disclosure", who(i)) for i in picks[2:]]

        def server_pids():
            return _tree(args.server_pid) + (
                postgres_pids(args.server_db_port) if args.server_db_port else []
            )

        def groups():
            return {"madoguchi": [os.getpid()], "prefect": server_pids(), "postgres": postgres_pids(port)}

        before = {k: cpu_seconds(v) for k, v in groups().items()}
        with Sampler(groups) as sampler:
            t = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.fides_in_flight) as pool:
                runs = list(pool.map(lambda ref: FlowRequest(settings, ref).run(), refs))
            wall = time.perf_counter() - t
        after = {k: cpu_seconds(v) for k, v in groups().items()}
        n = len(refs)
        failed = [(r.reference, r.result, repr(r.error)) for r in runs if r.error or r.result != "completed"]
        return {
            "n": n,
            "in_flight": args.fides_in_flight,
            "wall": wall,
            "per_minute": n / wall * 60,
            "latency": _median([r.seconds for r in runs]),
            "failed": failed,
            "cpu_per_request": {k: (after[k] - before[k]) / n for k in after},
            "peak_rss": sampler.peak,
            "peak_parts": sampler.peak_parts,
            "seed_seconds": seed_seconds,
            "sizes": sizes,
        }


def _tree(pid):
    from _procs import tree

    return tree(pid)


def print_e(r: dict) -> None:
    if "skipped" in r:
        print(f"(e) skipped: {r['skipped']}")
        return
    cpu = r["cpu_per_request"]
    total = cpu["madoguchi"] + cpu["prefect"]
    parts = ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in r["peak_parts"].items())
    print(
        f"(e) fides-like workload, {r['n']} access requests, {r['in_flight']} in flight: "
        f"{r['per_minute']:.0f} requests/min (fides ~300), median {r['latency']:.1f}s per request; "
        f"CPU per request {total * 1000:.0f} ms madoguchi + Prefect server (flow process "
        f"{cpu['madoguchi'] * 1000:.0f}, server {cpu['prefect'] * 1000:.0f}; PostgreSQL "
        f"{cpu['postgres'] * 1000:.0f} more) (fides ~250 ms); peak resident "
        f"{r['peak_rss'] / 2**20:.0f} MB ({parts}) (fides ~1.2 GB)"
        + (f"; FAILED {len(r['failed'])}: {r['failed'][:3]}" if r["failed"] else "")
    )


# --- main ----------------------------------------------------------------------------------


def arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--requests", type=int, default=5, help="(a) requests per type and mode (default 5: 10 per mode)"
    )
    p.add_argument("--fulfil-reps", type=int, default=3, help="(c) requests per mode")
    p.add_argument("--throughput-requests", type=int, default=20, help="(d) requests")
    p.add_argument("--in-flight", type=int, default=8, help="(d) flow runs at once")
    p.add_argument("--population", type=int, default=2000, help="demo customers per system for (a)-(d)")
    p.add_argument("--latency", type=float, default=0.2, help="simulated latency of every system call")
    p.add_argument("--skip-fides", action="store_true", help="leave out (e)")
    p.add_argument("--fides-requests", type=int, default=60)
    p.add_argument("--fides-in-flight", type=int, default=10)
    p.add_argument("--fides-customers", type=int, default=100_000)
    p.add_argument("--fides-orders", type=int, default=1_000_000)
    p.add_argument("--fides-others", type=int, default=1000, help="customers in the six other systems")
    p.add_argument(
        "--fides-latency", type=float, default=0.0, help="(e): real PostgreSQL, no simulated latency"
    )
    p.add_argument(
        "--pause-poll",
        type=float,
        default=None,
        help="set MADOGUCHI_PAUSE_POLL_SECONDS (default 0.25 s) to "
        "see what the identity wait's polling costs",
    )
    p.add_argument(
        "--prefect-db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="the Prefect server's database: SQLite (the embedded default) or a "
        "throwaway PostgreSQL 15 cluster (production mode)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    # internal: the child process that runs (e)
    p.add_argument("--part", choices=["e"], help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    p.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    p.add_argument("--server-db-port", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _pause_poll(args) -> None:
    if args.pause_poll is not None:
        import os

        from models.settings import get_settings

        os.environ["MADOGUCHI_PAUSE_POLL_SECONDS"] = str(args.pause_poll)
        get_settings.cache_clear()
        print(f"identity wait polls every {args.pause_poll} s (default 0.25 s)", flush=True)


def _prefect_server(root: Path, args, stack: contextlib.ExitStack) -> PrefectServer:
    """On SQLite in its home, or on a throwaway PostgreSQL cluster (stopped with the stack)."""
    if args.prefect_db == "sqlite":
        return PrefectServer(root / "prefect")
    from tests.postgres import cluster, create_database, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("--prefect-db postgres: no PostgreSQL binaries on this machine")
    server_url = stack.enter_context(cluster(bin_dir))
    url = create_database(server_url, "prefect").replace("+psycopg://", "+asyncpg://")
    return PrefectServer(root / "prefect", database_url=url, db_port=int(server_url.rsplit(":", 1)[1]))


def main(argv=None) -> None:
    args = arguments(argv)
    if args.part == "e":
        _pause_poll(args)
        print("RESULT " + json.dumps(part_e(args)), flush=True)
        return
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    with contextlib.ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, root, ignore_errors=True)
        server = _prefect_server(root, args, stack)
        print(
            f"Prefect server on {args.prefect_db}: ready in {server.start():.1f} s at {server.url}",
            flush=True,
        )
        stack.callback(server.stop)
        os.environ.update(QUIET, PREFECT_API_URL=server.url, PREFECT_HOME=str(root / "prefect"))
        _pause_poll(args)  # prefect is imported only now, with its API URL set
        desk = Desk(root, args)
        ab = part_ab(desk, server, args)
        print_ab(ab)
        c = part_c(desk, args)
        print_c(c)
        d = part_d(desk, server, args)
        print_d(d)
        if not args.skip_fides:
            print("(e) starting PostgreSQL and seeding ...", flush=True)
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--part",
                    "e",
                    "--root",
                    str(root),
                    "--server-pid",
                    str(server.popen.pid),
                    *(["--server-db-port", str(server.db_port)] if server.db_port else []),
                    *list(argv or sys.argv[1:]),
                ],
                capture_output=True,
                text=True,
                env=os.environ,
                timeout=900,
            )
            lines = [x for x in child.stdout.splitlines() if x.startswith("RESULT ")]
            for x in child.stdout.splitlines():
                if not x.startswith("RESULT "):
                    print("    " + x)
            if not lines:
                print(f"(e) failed:\n{child.stderr[-3000:]}")
            else:
                print_e(json.loads(lines[-1][7:]))
    print(f"\ntotal {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
