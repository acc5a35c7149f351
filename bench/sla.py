"""How long does one SLA monitor run take over 100,000 open requests? Prints figures, not a test.

Seeds a fresh app database (bulk insert) with ``--requests`` open requests received over the
last 16 days (so some are in the warning stage, some overdue; a tenth wait for the requester
with the clock paused, a few past their deadline) beside ``--closed`` closed ones (the history
the partial index leaves out), then times, median of ``--runs``:

- the query (services/sla.open_requests) and the decisions for every row: the target, ≤ 1 s;
- the first full pass, which writes the backlog's warnings and escalations to the outbox
  (once), and then a steady-state pass that finds nothing new;
- the work queue and the digest built from the rows; close_overdue's query.

Run: ``python3 -m uv run python bench/sla.py [--requests N] [--postgres]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from models.db import captured_statements, get_engine, unit_of_work
from models.requests import ClockPause, Party, Request
from models.rules.deadlines import decision_clock, jst_date, requester_deadline
from models.rules.vocabulary import RequestType, Status, WaitingFor
from models.schema import upgrade
from models.settings import Settings
from services import sla, sla_report
from services.deadlines import close_overdue

NOW = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)  # a Thursday morning in Japan
OPEN = [
    Status.RECEIVED,
    Status.IDENTITY_VERIFICATION,
    Status.REVIEW,
    Status.AWAITING_APPROVAL,
    Status.FULFILMENT,
]


def seed(settings: Settings, requests: int, closed: int, seed: int = 7) -> dict[str, int]:
    """Open and closed requests and the open requests' clock pauses, in batches of 10,000."""
    rnd, engine = random.Random(seed), get_engine(settings)
    due_cache: dict[date, datetime] = {}  # the due date depends on the day of receipt only

    def due(received: datetime) -> datetime:
        day = jst_date(received)
        if day not in due_cache:
            due_cache[day] = decision_clock(received, now=received).due_at
        return due_cache[day]

    rows, pauses, parties, total = [], [], [], requests + closed
    for i in range(total):
        is_open = i < requests
        received = NOW - timedelta(seconds=rnd.uniform(0, 16 if is_open else 400) * 86400)
        paused = is_open and i % 10 == 0
        status = Status.AWAITING_REQUESTER if paused else rnd.choice(OPEN) if is_open else Status.COMPLETED
        rows.append(
            {
                "reference": f"R-BENCH-{i:07d}",
                "status_token_hash": "",
                "role": "principal",
                "details": {},
                "reason_codes": [],
                "received_at": received,
                "updated_at": received,
                "request_type": rnd.choice(list(RequestType)).value,
                "language": "ja",
                "status": status.value,
                "due_at": due(received),
                "waiting_for": WaitingFor.CLARIFICATION.value if paused else None,
                "flow_run_id": f"{i:08x}-0000-4000-8000-000000000000",
            }
        )
        if paused:
            asked = received + timedelta(days=1)
            pauses.append(
                {
                    "request_id": i + 1,
                    "waiting_for": WaitingFor.CLARIFICATION.value,
                    "started_at": asked,
                    "deadline_at": requester_deadline(asked),
                }
            )
            parties.append(
                {
                    "request_id": i + 1,
                    "role": "principal",
                    "is_requester": True,
                    "name": "ベンチ",
                    "email": f"bench{i}@example.invalid",
                }
            )
    with engine.begin() as conn:
        for start in range(0, total, 10_000):
            conn.execute(insert(Request.__table__), rows[start : start + 10_000])
        for table, batch in ((ClockPause, pauses), (Party, parties)):
            for start in range(0, len(batch), 10_000):
                conn.execute(insert(table.__table__), batch[start : start + 10_000])
        conn.execute(text("ANALYZE"))
    return {
        "open": requests,
        "closed": closed,
        "paused": len(pauses),
        "past_deadline": sum(p["deadline_at"] < NOW for p in pauses),
    }


def timed(fn, runs: int) -> tuple[float, object]:
    """Median seconds over ``runs`` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def plan(settings: Settings, fn) -> list[str]:
    """The query plan of the first statement ``fn`` runs."""
    engine = get_engine(settings)
    with captured_statements(engine) as seen, unit_of_work(settings) as session:
        fn(session)
        session.rollback()
    statement, params = seen[0]
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        return [" ".join(str(c) for c in row) for row in conn.exec_driver_sql(explain + statement, params)]


def bench(settings: Settings, args) -> None:
    upgrade(settings)
    started = time.perf_counter()
    sizes = seed(settings, args.requests, args.closed)
    print(f"seeded {sizes} in {time.perf_counter() - started:.1f} s ({get_engine(settings).dialect.name})")
    print("plan of the monitor's query:", *plan(settings, lambda s: sla.due_notices(s, now=NOW)), sep="\n  ")
    print(
        "plan of close_overdue:",
        *plan(settings, lambda s: close_overdue(s, settings, now=NOW - timedelta(days=30))),
        sep="\n  ",
    )

    def decide():
        with unit_of_work(settings) as session:
            rows = sla.due_notices(session, now=NOW)
        return rows, [row.notice_due(NOW) for row in rows]

    def monitor():
        """As tasks.monitor.check_deadlines does it, without Prefect."""
        with unit_of_work(settings) as session:
            due = sla.due_notices(session, now=NOW)
            queue = sla.open_requests(session, limit=sla_report.WORK_QUEUE_ROWS)
            total = sla.count_open(session)
        sent = sla.Sent([], [])
        for start in range(0, len(due), sla.NOTICE_BATCH):
            with unit_of_work(settings) as session:
                batch = sla.notify_deadlines(
                    session, settings, due[start : start + sla.NOTICE_BATCH], now=NOW, ui_url="http://ui"
                )
            sent.warnings += batch.warnings
            sent.escalations += batch.escalations
        return sent, sla_report.work_queue(queue, now=NOW, ui_url="http://ui"), total

    def day_digest():
        with unit_of_work(settings) as session:
            return sla_report.digest(sla.open_requests(session), [], now=NOW, ui_url="http://ui")

    backlog, (rows, due) = timed(decide, args.runs)
    first, (sent, _, total) = timed(monitor, 1)
    steady_decide, (rows_after, _) = timed(decide, args.runs)
    steady, (again, queue, _) = timed(monitor, args.runs)
    digest, summary = timed(day_digest, args.runs)
    close, closed = timed(lambda: _close(settings), 1)
    print(
        f"open requests: {total:,}; due now: {sum(k == sla.WARNING for k in due):,} warnings, "
        f"{sum(k == sla.ESCALATION for k in due):,} escalations (the backlog)"
    )
    print(f"query + decisions, backlog pending        median {backlog * 1000:7.0f} ms ({len(rows):,} rows)")
    print(
        f"first pass, writes the backlog                   {first:7.1f} s  "
        f"({len(sent.warnings):,} warnings + {len(sent.escalations):,} escalations)"
    )
    print(
        f"query + decisions, steady (target ≤ 1 s)  median {steady_decide * 1000:7.0f} ms "
        f"({len(rows_after):,} rows)"
    )
    print(
        f"monitor pass, steady (+ work queue of {len(queue)}) median {steady * 1000:7.0f} ms "
        f"({len(again.warnings) + len(again.escalations)} written)"
    )
    print(f"daily digest over all open requests       median {digest * 1000:7.0f} ms {summary.counts}")
    print(f"close_overdue ({closed:,} closed)                       {close * 1000:7.0f} ms")


def _close(settings: Settings) -> int:
    with unit_of_work(settings) as session:
        return len(close_overdue(session, settings, now=NOW))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--closed", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="the app database on a throwaway PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-sla-") as folder:
        if args.postgres:
            from tests.postgres import cluster, create_database, find_pg_bin

            server = cluster(find_pg_bin())
        else:
            server = nullcontext(None)
        with server as url:
            database_url = create_database(url, "app") if url else None
            bench(Settings(data_dir=Path(folder), secret_key="bench", database_url=database_url), args)


if __name__ == "__main__":
    main()
