"""``madoguchi request``: what a requester does, from the command line (the intake service's
form and API do the same): submit a request, enter the one-time code, read its mail; a
request the help desk received, entered by a person logged in (the gate's /desk/requests/new
does the same); and a request's status with no personal data in it. Everything goes through the services; the
dispatcher of ``madoguchi up`` gives a submitted request its flow run."""

import json
from contextlib import contextmanager
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import httpx
import typer

from cli.cases import load
from cli.files import read_json, read_model, validated
from cli.login import USER, login_for
from models.db import unit_of_work, utcnow
from models.requests import Request, RequestCreate
from models.rules.access import PEOPLE_WHO_DECIDE
from models.rules.deadlines import jst_date
from models.rules.entry import PROBLEMS, Acknowledgement, Channel
from models.settings import get_settings
from services.common import load_request

app = typer.Typer(no_args_is_help=True, help="Submit a request, enter its one-time code, see its status.")


@contextmanager
def local_prefect():
    """Talk to the Prefect server `madoguchi up` runs, with the service credential, when
    PREFECT_API_URL is not set (else Prefect would start a temporary server of its own, which
    knows no run)."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    settings = get_settings()
    with temporary_settings(
        {PREFECT_API_URL: settings.prefect_api_url, PREFECT_API_AUTH_STRING: settings.service_auth()}
    ):
        yield


def _load(reference: str) -> Request:
    return load(load_request, reference, "request")


@app.command()
def submit(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help='A request body as JSON (docs/contract.md "Request body")'
    ),
) -> None:
    """Submit a request: prints its reference and the requester's status token."""
    from services import intake

    data = read_model(file, RequestCreate)
    settings = get_settings()
    with unit_of_work(settings) as session:
        done = intake.submit(session, settings, data, now=utcnow(), channel="cli")
    typer.echo(f"reference     {done.reference}")
    typer.echo(f"status token  {done.status_token}   (shown once; only its hash is kept)")
    typer.echo("its flow run starts when the dispatcher of `madoguchi up` picks it up")


_ENTRY_OPTIONS = {
    "received_on": "--received",
    "postal_address": "details.postal_address",
    "principal.email": "principal.email",
}


@app.command()
def enter(
    file: Path = typer.Argument(
        ..., dir_okay=False, help='A request body as JSON (docs/contract.md "Request body")'
    ),
    channel: Channel = typer.Option(..., help="How the help desk received it"),
    received: str = typer.Option(
        ..., metavar="YYYY-MM-DD", help="The day it was received (post: the day the letter arrived)"
    ),
    letter: bool = typer.Option(False, "--letter", help="Acknowledge by a letter to print, not by email"),
    user: str = USER,
) -> None:
    """Enter a request the help desk received by phone, post, at the counter or by email: the
    clock runs from the day received; prints its reference and the requester's status token.
    A principal's request by phone or post may leave the email out and give the login ID or
    phone: the email is the customer record's, and the request is answered by letter."""
    from deployments.registry import build_registry
    from services import intake

    body = read_json(file)
    if not isinstance(body, dict):  # refused before anyone logs in; the rest needs the customer master
        validated(body, RequestCreate)
    try:
        received_on = date.fromisoformat(received)
    except ValueError:
        typer.echo(f"--received: {PROBLEMS['required']}", err=True)
        raise typer.Exit(2) from None
    caller = login_for(user, PEOPLE_WHO_DECIDE, "entering a request")
    settings = get_settings()
    registry = build_registry(settings)
    try:
        body, found_by = intake.with_registered_email(body, channel, registry)
        data = validated(body, RequestCreate)
        with unit_of_work(settings) as session:
            done = intake.enter(
                session,
                settings,
                data,
                channel=channel,
                received_on=received_on,
                acknowledgement=Acknowledgement.LETTER if letter else Acknowledgement.EMAIL,
                actor=f"{caller.role}:{caller.name}",
                now=utcnow(),
                found_by=found_by,
            )
    except intake.EntryRejected as exc:
        for field, problem in exc.problems.items():
            typer.echo(f"{_ENTRY_OPTIONS[field]}: {PROBLEMS[problem]}", err=True)
        raise typer.Exit(2) from None
    finally:
        registry.dispose()
    typer.echo(f"reference     {done.reference}")
    typer.echo(f"status token  {done.status_token}   (shown once; only its hash is kept)")
    if letter or found_by:
        typer.echo(
            f"acknowledgement: a letter to print at {settings.prefect_ui_url.rstrip('/')}/desk/letters"
        )
    typer.echo("its flow run starts when the dispatcher of `madoguchi up` picks it up")


@app.command()
def code(reference: str, one_time_code: str = typer.Argument(..., metavar="CODE")) -> None:
    """The requester's one-time code (from the email); wakes the waiting flow run."""
    from models.rules.one_time_code import Verdict
    from services import identity

    settings = get_settings()
    _load(reference)
    with unit_of_work(settings) as session:
        verdict = identity.submit_code(session, settings, reference, one_time_code.strip(), now=utcnow())
    typer.echo(f"{reference}: {verdict}")
    if verdict in (Verdict.VERIFIED, Verdict.REFUSED):
        from flows.waits import REQUESTER_WAKE_SETTLE_SECONDS, wake

        with local_prefect():
            woken = wake(_load(reference).flow_run_id, settle_seconds=REQUESTER_WAKE_SETTLE_SECONDS)
        typer.echo(
            "the flow run goes on"
            if woken
            else "its flow run is not waiting yet: it finds the new state when it gets there"
        )
    elif verdict is not Verdict.ALREADY_VERIFIED:
        raise typer.Exit(1)


@app.command()
def status(reference: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Status, what it waits for, due date, outcome and reasons (no personal data)."""
    request = _load(reference)
    shown = {
        "reference": request.reference,
        "request_type": str(request.request_type),
        "status": str(request.status),
        "waiting_for": str(request.waiting_for) if request.waiting_for else None,
        "due": jst_date(request.due_at).isoformat() if request.due_at else None,
        "outcome": str(request.outcome) if request.outcome else None,
        "reasons": list(request.reason_codes),
        "flow_run": request.flow_run_id,
    }
    if as_json:
        typer.echo(json.dumps(shown))
        return
    for key, value in shown.items():
        if isinstance(value, list):
            value = ", ".join(value)
        typer.echo(f"{key:<13} {value if value not in (None, '') else '-'}")


@app.command()
def outbox(reference: str) -> None:
    """The mail sent for a request, as the requester would read it: from the SendGrid stub
    `madoguchi up` runs, or from the file outbox when no stub answers."""
    settings = get_settings()
    stub = f"http://127.0.0.1:{settings.mail_stub_port}"
    try:
        from demo import inbox

        received = inbox.messages(stub, reference, timeout=2)
    except (OSError, ValueError, httpx.HTTPError):
        received = None
    if received is not None:
        for message in received:
            typer.echo(f"--- {inbox.kind_of(message)}: {message['subject']}  ({stub}/messages)")
            typer.echo(inbox.text_of(message).strip())
        if not received:
            typer.echo(f"{reference}: nothing at {stub}/messages yet", err=True)
            raise typer.Exit(1)
        return
    _file_outbox(settings, reference)


def _file_outbox(settings, reference: str) -> None:
    folder = settings.mail_outbox_dir or settings.data_dir / "outbox"
    found = []
    for meta_path in sorted(Path(folder).glob("*.json")):
        meta = json.loads(meta_path.read_text())
        if meta.get("reference") == reference:
            found.append((meta_path.stat().st_mtime, meta, meta_path.with_suffix(".eml")))
    if not found:
        typer.echo(f"{reference}: nothing in {folder} yet", err=True)
        raise typer.Exit(1)
    for _, meta, eml in sorted(found, key=lambda f: f[0]):
        message = BytesParser(policy=policy.default).parse(eml.open("rb"))
        body = message.get_body(preferencelist=("plain",))
        typer.echo(f"--- {meta['kind']}: {message['Subject']}  ({eml})")
        typer.echo(body.get_content().strip() if body else "")
