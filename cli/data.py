"""``madoguchi migrate | seed | systems | up``: the app database and the demo systems."""

import json
from pathlib import Path
from typing import Any

import typer

from cli.files import Loc, place, read_model
from demo.fixture import Fixture, FixtureRejected, load_fixture_into_systems
from demo.seed import seed_systems
from deployments.registry import build_registry, registry_for
from models.audit import AuditKey, audit_key, record
from models.db import unit_of_work, utcnow
from models.fixtures import load_fixture_into_app
from models.schema import upgrade
from models.settings import Settings, get_settings
from systems.registry import summary


def migrate() -> None:
    """Bring the app database to the newest migration."""
    settings = get_settings()
    _warn_if_dev_secret(settings)
    upgrade(settings)
    typer.echo(f"app database at the newest migration: {_where(settings.app_database_url)}")


def seed(
    customers: int = typer.Option(200, min=1, help="Generated customers per demo system"),
    fixture: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="Load these customers (docs/contract.md format)"
    ),
    random_seed: int = typer.Option(0, "--seed", help="Same seed, same data"),
) -> None:
    """Seed the demo systems with generated customers, or load a fixture file."""
    settings = get_settings()
    upgrade(settings)
    if fixture is None:
        reports = seed_systems(settings, customers=customers, seed=random_seed)
        _audit(settings, "systems.seeded", {"customers": customers, "systems": sorted(reports)})
        typer.echo(f"seeded {len(reports)} demo systems with {customers} customers each")
        return
    loaded = read_model(fixture, Fixture, where=customer_place)
    try:
        customer_ids = load_fixture_into_systems(loaded, settings, seed=random_seed)
    except FixtureRejected as exc:
        typer.echo(
            f"{customer_place(loaded.model_dump(), ('customers', exc.number - 1, exc.field))}: {exc.problem}",
            err=True,
        )
        raise typer.Exit(2) from None
    with unit_of_work(settings) as session:
        counts = load_fixture_into_app(session, loaded, now=utcnow(), audit_key=_key(settings))
        record(
            session,
            key=_key(settings),
            at=utcnow(),
            actor="cli",
            action="systems.fixture_loaded",
            subject_ref="systems",
            details={"customers": len(customer_ids), **counts},
        )
    typer.echo(
        f"loaded {len(customer_ids)} customers; {counts['provision_records']} provision records, "
        f"{counts['prior_requests']} earlier requests into the app database"
    )


def customer_place(data: Any, loc: Loc) -> str:
    """A fixture error's place: the customer by number (from 1) and email, then the field,
    e.g. ``customer 2 (hanako@example.co.jp), third_party_provisions.0.provided_at``."""
    if len(loc) < 2 or loc[0] != "customers" or not isinstance(loc[1], int):
        return place(data, loc)
    customer = data["customers"][loc[1]]
    email = customer.get("email") if isinstance(customer, dict) else None
    who = f"customer {loc[1] + 1}" + (f" ({email})" if isinstance(email, str) else "")
    return f"{who}, {place(data, loc[2:])}" if len(loc) > 2 else who


def systems(as_json: bool = typer.Option(False, "--json", help="Machine-readable")) -> None:
    """The registered systems and what each holds, registered contractors included."""
    entries = summary(registry_for(get_settings()))
    if as_json:
        typer.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    for e in entries:
        retention = e["retention"]
        typer.echo(f"{e['key']:<20} {e['name_ja']} / {e['name_en']}")
        typer.echo(f"  {'holds':<10} " + "、".join(c["name_ja"] for c in e["categories"]))
        typer.echo(f"  {'actions':<10} {', '.join(e['actions'])}")
        if retention:
            typer.echo(
                f"  {'retention':<10} {retention['law_ja']} ({retention['years']}年): "
                "erasure becomes restriction"
            )
        if e["contractor"]:
            typer.echo(f"  {'reached':<10} through contractor {e['contractor']}")
        typer.echo(f"  {'rows':<10} " + ", ".join(f"{t}={n:,}" for t, n in e["rows"].items()))


def up(
    fixture: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="Also load these customers (docs/contract.md format); loading twice adds nothing",
    ),
    prefect_port: int | None = typer.Option(
        None, help="Port of the Prefect server (default MADOGUCHI_PREFECT_PORT, 4200)"
    ),
    no_prefect: bool = typer.Option(False, "--no-prefect", help="Only migrate and seed, start nothing"),
    production: bool = typer.Option(
        False,
        "--production",
        help=(
            "PostgreSQL for the app, the systems and Prefect, Redis for Prefect's messaging; run here "
            "from the machine's packages unless MADOGUCHI_DATABASE_URL / MADOGUCHI_PREFECT_DATABASE_URL / "
            "MADOGUCHI_REDIS_URL are given"
        ),
    ),
    workers: int | None = typer.Option(None, min=1, help="Worker processes (default MADOGUCHI_WORKERS, 1)"),
) -> None:
    """The whole system on this machine: migrate, seed the demo systems once, then a Prefect
    server, the work pool, the deployments, the workers and the dispatcher, until Ctrl-C."""
    settings = get_settings()
    infra = []
    if production:
        from deployments.production import start_infrastructure

        infra = start_infrastructure(settings, say=typer.echo)
        get_settings.cache_clear()
        settings = get_settings()
    if prefect_port is not None:
        settings = settings.model_copy(update={"prefect_port": prefect_port})
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    _warn_if_dev_secret(settings)
    upgrade(settings)
    registry = build_registry(settings)
    entries = summary(registry)
    if not any(sum(e["rows"].values()) for e in entries):
        typer.echo("seeding the eight demo systems (first run)…")
        seed_systems(settings, customers=200)
        _audit(settings, "systems.seeded", {"customers": 200, "systems": [e["key"] for e in entries]})
    if fixture is not None:
        seed(customers=200, fixture=fixture, random_seed=0)
    entries = summary(registry)
    typer.echo(
        "demo systems: " + ", ".join(f"{e['key']} ({sum(e['rows'].values()):,} rows)" for e in entries)
    )
    typer.echo(f"app database: {_where(settings.app_database_url)}   (details: madoguchi systems)")
    if no_prefect:
        from deployments.local import stop_process

        for proc, _ in infra:
            stop_process(proc)
        return
    from deployments.stack import run_up

    raise typer.Exit(run_up(settings, say=typer.echo, infra=infra))


def _warn_if_dev_secret(settings: Settings) -> None:
    if settings.uses_dev_secret:
        typer.secho(
            "warning: MADOGUCHI_SECRET_KEY is the development default; it keys the audit chain "
            "and encrypts disclosure packages. Set your own before holding real data.",
            fg=typer.colors.YELLOW,
            err=True,
        )


def _key(settings: Settings) -> AuditKey:
    return audit_key(settings.secret)


def _audit(settings: Settings, action: str, details: dict) -> None:
    with unit_of_work(settings) as session:
        record(
            session,
            key=_key(settings),
            at=utcnow(),
            actor="cli",
            action=action,
            subject_ref="systems",
            details=details,
        )


def _where(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url
