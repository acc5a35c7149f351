"""``madoguchi register export``: the request register (開示等請求管理台帳) of a period as CSV or
XLSX (services/register.py). Without names anyone at the desk's machine may write it; with
``--with-names`` the privacy officer logs in, and the export is audited under their account."""

import getpass
from datetime import datetime
from pathlib import Path

import typer

from cli.login import login
from models.db import unit_of_work, utcnow
from models.rules.access import may_read_register
from models.settings import get_settings
from services import register

app = typer.Typer(no_args_is_help=True, help="The request register (開示等請求管理台帳).")

_DAY = ["%Y-%m-%d"]


@app.command("export")
def export(
    start: datetime = typer.Option(
        ..., "--from", formats=_DAY, help="First day received (YYYY-MM-DD, Japan)"
    ),
    end: datetime = typer.Option(..., "--to", formats=_DAY, help="Last day received (YYYY-MM-DD, Japan)"),
    output: Path = typer.Option(..., "--output", dir_okay=False, help="FILE.csv or FILE.xlsx"),
    with_names: bool = typer.Option(
        False,
        "--with-names",
        help="Add the principal's and the agent's names (the privacy officer only: log in with --user)",
    ),
    user: str | None = typer.Option(
        None,
        "--user",
        envvar="MADOGUCHI_USER",
        show_envvar=True,
        help="The officer's account, for --with-names; the password is read "
        "from MADOGUCHI_PASSWORD or asked for",
    ),
    language: str = typer.Option("ja", help="ja | en: the headings and labels"),
) -> None:
    """Write one line per request received from --from to --to, and print how many."""
    problems = register.period_problems(start.date(), end.date())
    suffix = output.suffix.lower()
    if suffix not in register.FORMATS:
        problems["output"] = [f"must end in {' or '.join(register.FORMATS)}"]
    if language not in register.LANGUAGES:
        problems["language"] = [f"one of {', '.join(register.LANGUAGES)}"]
    if with_names and not user:
        problems["user"] = ["--with-names needs the privacy officer's account"]
    for field, found in problems.items():
        typer.echo(f"{field}: {'; '.join(found)}", err=True)
    if problems:
        raise typer.Exit(2)
    actor = f"cli:{getpass.getuser()}"
    if with_names and user:
        caller = login(user)
        verdict = may_read_register(caller.role)
        if not verdict.allowed:
            typer.echo(f"{user}: {verdict.reason}", err=True)
            raise typer.Exit(1)
        actor = f"{caller.role}:{caller.name}"
    settings = get_settings()
    with unit_of_work(settings) as session:
        made = register.export(
            session,
            settings,
            start.date(),
            end.date(),
            suffix=suffix,
            actor=actor,
            now=utcnow(),
            with_names=with_names,
            lang=language,
        )
        try:
            output.write_bytes(made.data)
        except OSError as exc:
            typer.echo(f"{output}: cannot be written: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"{made.rows} requests → {output}")
