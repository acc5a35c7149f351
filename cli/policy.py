"""``madoguchi policy``: privacy policy revisions (docs/contract.md "Privacy policy").

``propose`` records a new text as the next version and starts its ``policy-revision`` run,
which shows the diff and waits for the privacy officer; ``approve`` answers that form from
the command line, as the account logged in with ``--user`` (cli/login.py)."""

from datetime import date
from pathlib import Path

import typer

from cli.cases import load, start_run
from cli.files import read_text
from cli.login import USER, answer_as, login, login_for
from models.db import unit_of_work, utcnow
from models.policy import PUBLISHED, PolicyVersion
from models.rules.access import PEOPLE_WHO_DECIDE
from models.rules.deadlines import jst_date
from models.rules.policy import earliest_in_force
from models.settings import get_settings
from services import policy as service

app = typer.Typer(no_args_is_help=True, help="Privacy policy revisions: propose, list, show, approve.")
DEPLOYMENT = "policy-revision/policy-revision"


def _load(version: int) -> PolicyVersion:
    return load(service.load, version, "policy version")


def _start(version: int, attempt: str = "") -> None:
    """The version's run."""
    reference = service.reference(version)
    start_run(
        DEPLOYMENT,
        reference,
        f"{reference}{attempt}",
        name=f"version {version}",
        again=f"madoguchi policy start {version}",
    )


@app.command()
def propose(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The new policy text (UTF-8)"),
    user: str = USER,
) -> None:
    """Record a new text as the next version and start the run that asks the officer."""
    text = read_text(file)
    caller = login_for(user, PEOPLE_WHO_DECIDE, "proposing a policy revision")
    settings = get_settings()
    try:
        with unit_of_work(settings) as session:
            row = service.propose(session, settings, text, actor=f"{caller.role}:{caller.name}", now=utcnow())
            version, findings = row.version, service.revision_of(row).findings
    except service.ProposalInvalid as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"version {version}: proposed")
    for f in findings:
        typer.echo(f"  purpose {f.new_label or f.old_label}: {f.change}")
    if not findings:
        typer.echo("  no purpose of use changed: no notice to customers")
    _start(version)


@app.command()
def start(version: int) -> None:
    """Start (again) a version's run, e.g. after it died; harmless if it has one."""
    row = _load(version)
    _start(version, f"-{row.status}-{utcnow():%Y%m%d%H%M%S}")


@app.command("list")
def list_() -> None:
    """Every version: status, date in force, who approved it; the one in force today marked."""
    now = utcnow()
    with unit_of_work() as session:
        rows = service.versions(session)
        current = service.in_force(session, now).version
    for r in rows:
        typer.echo(
            f"{'*' if r.version == current else ' '} {r.version:>3}  {r.status:<9}  "
            f"in force {r.in_force_on or '-'!s:<10}  notice {'yes' if r.needs_notice else 'no ':<3}  "
            f"approved by {r.approved_by or '-'}"
        )


@app.command()
def show(version: int, text: bool = typer.Option(False, "--text", help="Print the policy's text")) -> None:
    """One version: status, dates, what changed in the purposes of use; or its text."""
    row = _load(version)
    if text:
        typer.echo(row.text)
        return
    typer.echo(
        f"version      {row.version}\nstatus       {row.status}\nin force on  {row.in_force_on or '-'}"
        f"\nproposed     {row.proposed_at:%Y-%m-%d %H:%M} by {row.proposed_by}"
        f"\napproved by  {row.approved_by or '-'}\nnotice       {'yes' if row.needs_notice else 'no'}"
        f"\nflow run     {row.flow_run_id or '-'}"
    )
    for f in service.revision_of(row).findings:
        typer.echo(
            f"- purpose {f.new_label or f.old_label} {f.change}: {' '.join((f.new_text or f.old_text).split())}"
        )


@app.command()
def approve(
    version: int,
    in_force_on: str = typer.Option(..., "--in-force-on", help="The date in force, YYYY-MM-DD"),
    reject: bool = typer.Option(False, help="Reject the proposal"),
    user: str = USER,
) -> None:
    """The privacy officer's decision on a proposed version, with its date in force."""
    from flows.forms import filled
    from flows.policy import PolicyApproval

    try:
        day = date.fromisoformat(in_force_on)
    except ValueError:
        typer.echo(f"--in-force-on: {in_force_on!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
    row = _load(version)
    earliest = earliest_in_force(service.revision_of(row), jst_date(utcnow()))
    if not reject and row.status != PUBLISHED and day < earliest:
        typer.echo(
            f"--in-force-on: {day} is too soon; the earliest is {earliest}"
            + (" (the customers are told first)" if row.needs_notice else ""),
            err=True,
        )
        raise typer.Exit(2)
    run_input = filled(PolicyApproval, decision="reject" if reject else "approve", in_force_on=day)
    answer_as(service.reference(version), row.flow_run_id, login(user), run_input)
