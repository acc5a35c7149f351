"""How fast is finding one subject across all eight systems? Prints figures, not a test.

Seeds 8 systems x N customers (default 1,000,000) into ``<data_dir>/bench`` (reused when
already seeded with the same size and seed), then per random subject: expand the identity
and locate in every system. Then the same with the lookup indexes dropped, to show what
they buy. Run: ``python3 -m uv run python bench/lookup.py [--customers N]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from demo.seed import seed_systems
from demo.systems import DEFINITIONS
from demo.world import World
from deployments.registry import build_registry
from models.settings import Settings, get_settings
from systems import db
from systems.identity import expand_identity
from systems.registry import row_counts


def seeded(settings: Settings, customers: int, seed: int) -> float | None:
    """Seeds unless the marker says it is done; returns the seeding time in seconds."""
    marker = settings.data_dir / "seeded.json"
    wanted = {"customers": customers, "seed": seed}
    if marker.exists() and json.loads(marker.read_text())["size"] == wanted:
        return None
    started = time.perf_counter()
    seed_systems(settings, customers=customers, seed=seed, workers=2)
    elapsed = time.perf_counter() - started
    marker.write_text(json.dumps({"size": wanted, "seconds": round(elapsed, 1)}))
    return elapsed


def lookup(registry, email: str) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    identity = expand_identity(email, registry)
    per_system = {}
    for key in registry.keys():
        t = time.perf_counter()
        assert registry.connector(key).locate(identity) is not None
        per_system[key] = (time.perf_counter() - t) * 1000
    assert identity.found
    return (time.perf_counter() - started) * 1000, per_system


def run(registry, emails: list[str]) -> tuple[list[float], dict[str, list[float]]]:
    totals, per_system = [], {k: [] for k in registry.keys()}
    for email in emails:
        total, parts = lookup(registry, email)
        totals.append(total)
        for key, ms in parts.items():
            per_system[key].append(ms)
    return totals, per_system


def set_indexes(registry, present: bool) -> None:
    for key, definition in DEFINITIONS.items():
        engine = db.engine_for(registry.url(key))
        with engine.begin() as conn:
            for table in definition.metadata.sorted_tables:
                for index in table.indexes:
                    if present:
                        index.create(conn, checkfirst=True)
                    else:
                        conn.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--scan-subjects", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    settings = Settings(data_dir=get_settings().data_dir / "bench", systems_database_url=None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    seconds = seeded(settings, args.customers, args.seed)
    print(
        f"seeding 8 systems x {args.customers:,} customers: "
        + ("reused" if seconds is None else f"{seconds:.1f} s")
    )
    registry = build_registry(settings)
    for info in registry:
        rows = sum(row_counts(registry, info.key).values())
        print(f"  {info.key:<20} {rows:>10,} rows")

    world = World(args.customers, args.seed)
    rng = random.Random(42)
    emails = [world.customer(rng.randrange(args.customers)).email for _ in range(args.subjects)]
    run(registry, emails[:5])  # warm caches and connections
    indexed, per_system = run(registry, emails)
    set_indexes(registry, present=False)
    try:
        scanned, _ = run(registry, emails[: args.scan_subjects])
    finally:
        set_indexes(registry, present=True)
    registry.dispose()

    fast, slow = statistics.median(indexed), statistics.median(scanned)
    print(f"\n{'lookup (expand + locate in 8)':<32}{'subjects':>9}{'median ms':>11}{'p95 ms':>9}")
    print(f"{'with indexes':<32}{len(indexed):>9}{fast:>11.2f}{p95(indexed):>9.2f}")
    print(f"{'indexes dropped (scan)':<32}{len(scanned):>9}{slow:>11.1f}{p95(scanned):>9.1f}")
    print(f"speed-up: {slow / fast:,.0f}x   (targets: <= 20 ms, >= 100x)")
    print(
        "\nper system, with indexes (median ms): "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in per_system.items())
    )


if __name__ == "__main__":
    main()
