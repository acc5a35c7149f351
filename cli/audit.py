"""``madoguchi audit``: check the hash chain, export one request's trail."""

from pathlib import Path

import typer

from models.audit import audit_key, export_trail, latest_checkpoint, load_chain, trail_of, verify_chain
from models.db import unit_of_work
from models.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="The audit trail.")


@app.command()
def verify() -> None:
    """Find any edited, inserted, deleted or reordered event, and a tail cut off since the
    latest checkpoint; exit 1 if there is one."""
    settings = get_settings()
    path = settings.audit_checkpoint_path
    try:
        checkpoint = latest_checkpoint(path)
    except ValueError:
        typer.echo(f"audit trail BROKEN: the last line of {path} is not a checkpoint", err=True)
        raise typer.Exit(1) from None
    with unit_of_work(settings) as session:
        events, head = load_chain(session)
    keys = [audit_key(secret) for secret in settings.secrets()]
    findings = verify_chain(keys, events, head, checkpoint)
    for finding in findings:
        typer.echo(f"{finding.kind.upper():9} #{finding.seq}: {finding.message}")
    if findings:
        typer.echo(f"audit trail BROKEN: {len(findings)} finding(s) in {len(events)} events", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit trail intact: {len(events)} events, tip #{head.seq}")
    typer.echo(
        f"checked against {checkpoint.described()}"
        if checkpoint
        else f"no checkpoint yet in {path} (the SLA monitor writes one every run)"
    )


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
