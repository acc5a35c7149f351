"""``madoguchi incident``: report a leak incident from a JSON file (an operator or the privacy
officer, logged in), list the incidents, show one. The officer's triage and the filing dates
are answered on the incident-response run's forms (Prefect UI)."""

from pathlib import Path

import typer
from sqlmodel import col, select

from cli.cases import load
from cli.files import read_model
from cli.login import USER, login_for
from deployments.registry import build_registry
from models.db import unit_of_work, utcnow
from models.incidents import Incident
from models.rules.access import PEOPLE_WHO_DECIDE
from models.settings import get_settings
from services import incidents as service

app = typer.Typer(no_args_is_help=True, help="Leak incidents (Art. 26): report, list, show.")


@app.command()
def report(
    file: Path = typer.Argument(
        ..., dir_okay=False, help='The incident as JSON (docs/contract.md "Leak incidents")'
    ),
    user: str = USER,
) -> None:
    """Record a leak incident and its affected customers (by customer_id or email): prints its
    reference; the dispatcher of `madoguchi up` starts its incident-response run."""
    data = read_model(file, service.IncidentReport)
    caller = login_for(user, PEOPLE_WHO_DECIDE, "reporting a leak incident")
    settings = get_settings()
    registry = build_registry(settings)
    try:
        with unit_of_work(settings) as session:
            reference = service.report_incident(
                session,
                settings,
                data,
                registry=registry,
                actor=f"{caller.role}:{caller.name}",
                now=utcnow(),
            )
    except service.IncidentRejected as exc:
        typer.echo(f"{'.'.join(str(p) for p in exc.loc)}: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        registry.dispose()
    typer.echo(reference)


@app.command("list")
def list_incidents() -> None:
    """Every incident, newest first: status, triage, deadlines and filings (no personal data)."""
    with unit_of_work() as session:
        rows = session.exec(select(Incident).order_by(col(Incident.id).desc())).all()
    for i in rows:
        typer.echo(
            f"{i.reference}  {i.status:<9} discovered {i.discovered_on}  people {i.affected_people:<6} "
            f"{_triage(i):<14} preliminary {_clock(i.preliminary_due, i.preliminary_filed_on)}  "
            f"final {_clock(i.final_due, i.final_filed_on)}"
        )


def _triage(i: Incident) -> str:
    return "reportable" if i.reportable else "not reportable"


def _clock(due, filed) -> str:
    return f"filed {filed}" if filed else f"due {due or '-'}"


@app.command()
def show(reference: str) -> None:
    """One incident: its facts, triage, deadlines, notices and report files."""
    i = load(service.load_incident, reference, "incident")
    with unit_of_work() as session:
        written, total = service.notice_progress(session, i)
        delivered = service.notices_delivered(session, reference)
    for key, value in (
        ("reference", i.reference),
        ("status", i.status),
        ("discovered_on", i.discovered_on),
        ("systems", ", ".join(i.systems)),
        ("data_items", ", ".join(i.data_items)),
        ("cause", i.cause),
        ("encrypted", i.encrypted),
        ("improper_purpose", i.improper_purpose),
        ("affected_people", f"{i.affected_people} ({total} listed)"),
        ("triage", _triage(i)),
        ("cases", ", ".join(i.triage_cases) or "-"),
        ("confirmed_by", i.confirmed_by),
        ("preliminary", _clock(i.preliminary_due, i.preliminary_filed_on)),
        ("final", _clock(i.final_due, i.final_filed_on)),
        ("notice_method", i.notice_method),
        ("notices", f"{written} written, {delivered} delivered"),
        ("public_notice", i.public_notice),
        ("reported_by", i.reported_by),
        ("flow_run_id", i.flow_run_id),
    ):
        typer.echo(f"{key:<17} {value if value not in (None, '') else '-'}")
    for report, files in i.reports.items():
        typer.echo(f"{report + ' draft':<17} {files['pdf']}  {files['csv']}")
