"""``madoguchi operator add|list|disable|password``: the accounts people (and the service) log in
to the Prefect UI and API with, through the gate (web/gate.py).

A password is never a command-line argument (it would stay in the shell's history and in the
process list): it comes from ``--password-file``, from standard input when that is not a
terminal, or from a hidden prompt, asked twice."""

import getpass
import sys
from contextlib import contextmanager
from pathlib import Path

import typer

from cli.files import read_text
from models.db import unit_of_work, utcnow
from models.rules.access import AccountRole
from models.settings import get_settings
from services import accounts as service

PASSWORD_FILE = typer.Option(
    None,
    "--password-file",
    exists=True,
    dir_okay=False,
    help="Read the password from the first line of this file",
)


def add(
    name: str,
    role: AccountRole = typer.Option(..., help="operator | officer | admin | service"),
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Add an account."""
    password = _password(password_file)
    settings = get_settings()
    with _explained(), unit_of_work(settings) as session:
        service.add(session, settings, name, role, password, actor=_actor(), now=utcnow())
    typer.echo(f"{name}: added ({role})")


def list_() -> None:
    """Every account: name, role, enabled or disabled."""
    with unit_of_work() as session:
        for a in service.accounts(session):
            typer.echo(f"{a.name:<40} {a.role:<9} {'enabled' if a.enabled else 'disabled'}")


def disable(name: str) -> None:
    """Disable an account: it can no longer log in (within the gate's half-minute cache)."""
    settings = get_settings()
    with _explained(), unit_of_work(settings) as session:
        changed = service.disable(session, settings, name, actor=_actor(), now=utcnow())
    typer.echo(f"{name}: disabled" if changed else f"{name}: was disabled already")


def password(name: str, password_file: Path | None = PASSWORD_FILE) -> None:
    """Give an account a new password."""
    new = _password(password_file)
    settings = get_settings()
    with _explained(), unit_of_work(settings) as session:
        service.set_password(session, settings, name, new, actor=_actor(), now=utcnow())
    typer.echo(f"{name}: password changed")


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        return (read_text(password_file).splitlines() or [""])[0]
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _actor() -> str:
    """Who changed an account: the command line's user on this machine."""
    return f"cli:{getpass.getuser()}"


@contextmanager
def _explained():
    """A refused change as its message and exit code 1 (no such account) or 2 (bad input)."""
    try:
        yield
    except service.AccountNotFound as exc:
        typer.echo(f"{exc}: no such account", err=True)
        raise typer.Exit(1) from None
    except service.AccountInvalid as exc:
        for field, problems in exc.problems.items():
            typer.echo(f"{field}: {'; '.join(problems)}", err=True)
        raise typer.Exit(2) from None
