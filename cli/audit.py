"""``madoguchi audit``: check the hash chain, export one request's trail."""

from pathlib import Path

import typer

from models.audit import audit_key, export_trail, load_chain, trail_of, verify_chain
from models.db import unit_of_work
from models.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="The audit trail.")


@app.command()
def verify() -> None:
    """Find any edited, inserted, deleted or reordered event; exit 1 if there is one."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        events, head = load_chain(session)
    findings = verify_chain(audit_key(settings.secret_key.get_secret_value()), events, head)
    for finding in findings:
        typer.echo(f"{finding.kind.upper():9} #{finding.seq}: {finding.message}")
    if findings:
        typer.echo(f"audit trail BROKEN: {len(findings)} finding(s) in {len(events)} events", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit trail intact: {len(events)} events, tip #{head.seq}")


@app.command("export")
def export(
    reference: str,
    out: Path = typer.Option(Path("."), help="Folder for REFERENCE-audit.json and .csv"),
) -> None:
    """Write one request's trail as JSON and CSV."""
    with unit_of_work() as session:
        events = trail_of(session, reference)
    if not events:
        typer.echo(f"no audit events for {reference}", err=True)
        raise typer.Exit(1)
    json_path, csv_path = export_trail(events, out, reference)
    typer.echo(f"{len(events)} events → {json_path} {csv_path}")
