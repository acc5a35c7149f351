"""``madoguchi monitor``: the scheduled monitors, run now, in this process, as flow runs on
the server ``madoguchi up`` runs (the same flows its deployments run every 15 minutes and
every morning)."""

import json

import typer

from cli.request import local_prefect

app = typer.Typer(no_args_is_help=True, help="Run the SLA monitor or the daily digest now.")


@app.command("run")
def run_monitor() -> None:
    """Warnings, escalations, overdue requester waits, contractor dates, the work queue."""
    from flows.monitor import sla_monitor

    with local_prefect():
        typer.echo(json.dumps(sla_monitor(), ensure_ascii=False, indent=2))


@app.command()
def digest() -> None:
    """Today's digest for the privacy officer (sent once a day)."""
    from flows.monitor import daily_digest

    with local_prefect():
        typer.echo(json.dumps(daily_digest(), ensure_ascii=False, indent=2))
