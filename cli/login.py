"""Who decides at the command line: the account logged in here, never a typed name. The same
rules as the gate's (services.accounts.resume_verdict: the role the wait needs, four eyes)
are applied before a run is resumed, and the run input names the account as ``actor``.

The password comes from ``MADOGUCHI_PASSWORD`` or a hidden prompt, never an argument (it
would stay in the shell's history and the process list)."""

import getpass
import os
from uuid import UUID

import typer

from models.db import unit_of_work
from models.settings import get_settings
from services import accounts
from services.accounts import Caller

USER = typer.Option(
    ...,
    "--user",
    envvar="MADOGUCHI_USER",
    show_envvar=True,
    help="Your account (`madoguchi operator add`); the password is read from MADOGUCHI_PASSWORD or asked for",
)


class NotWaiting(RuntimeError):
    """The run waits on no person's form (not yet there, or past it)."""


class Refused(PermissionError):
    """The rules do not let this account answer this wait; the run stays as it is."""


def login(name: str) -> Caller:
    """The account ``name`` once its password is checked; exit 1 otherwise."""
    password = os.environ.get("MADOGUCHI_PASSWORD") or getpass.getpass(f"password for {name}: ")
    with unit_of_work() as session:
        caller = accounts.login(session, name, password)
    if caller is None:
        typer.echo(f"{name}: login refused (unknown account, wrong password or disabled)", err=True)
        raise typer.Exit(1)
    return caller


def login_for(name: str, roles: frozenset, what: str) -> Caller:
    """:func:`login` for work only ``roles`` may record (not an answer to a form): who did it
    is the account, never a typed name; exit 1 for another role."""
    caller = login(name)
    if caller.role not in roles:
        typer.echo(f"{name}: {what} needs the role {' or '.join(sorted(roles))}, not {caller.role}", err=True)
        raise typer.Exit(1)
    return caller


def waiting_on(flow_run_id: str | None) -> str | None:
    """The key of the person's form the run is paused on, else None."""
    from prefect.context import SyncClientContext

    from flows.waits import whose

    if not flow_run_id:
        return None
    with SyncClientContext.get_or_create() as context:
        state = context.client.read_flow_run(UUID(flow_run_id)).state
    if state is None or not state.is_paused() or whose(state.state_details.pause_key) == "requester":
        return None
    return state.state_details.pause_key


def allow(caller: Caller, flow_run_id: str | None, pause_key: str) -> None:
    """Raise :class:`Refused` unless ``caller`` may answer the run's wait on ``pause_key``."""
    verdict = accounts.resume_verdict(get_settings(), caller, pause_key, flow_run_id or "")
    if not verdict.allowed:
        raise Refused(verdict.reason)


def decide(caller: Caller, flow_run_id: str | None, run_input: dict) -> None:
    """Answer the form the run waits on, as ``caller``: :class:`NotWaiting` when it waits on
    none, :class:`Refused` when the rules say no."""
    from flows.waits import wake

    pause_key = waiting_on(flow_run_id)
    if pause_key is None:
        raise NotWaiting
    allow(caller, flow_run_id, pause_key)
    if not wake(flow_run_id, {**run_input, "actor": caller.name}):
        raise NotWaiting


def answer_as(reference: str, flow_run_id: str | None, caller: Caller, run_input: dict) -> None:
    """:func:`decide` for a command: its outcome on the terminal, exit 1 when not taken."""
    try:
        decide(caller, flow_run_id, run_input)
    except NotWaiting:
        typer.echo(f"{reference}: its flow run is not waiting for a decision", err=True)
        raise typer.Exit(1) from None
    except Refused as exc:
        typer.echo(f"{reference}: refused: {exc}", err=True)
        raise typer.Exit(1) from None
    except RuntimeError as exc:  # Prefect's check of the input: the run waits on another form
        typer.echo(f"{reference}: not taken: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{reference}: answered by {caller.name}; the flow run goes on")
