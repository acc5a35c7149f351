"""``madoguchi provision``: a third party's request for personal data entered by an operator,
the principal's consent to provision, and the privacy officer's decision (the same form the
waiting review run shows in the Prefect UI)."""

import json
from pathlib import Path

import typer

from cli.cases import load
from cli.files import read_model
from cli.login import USER, answer_as, login, login_for
from models.db import unit_of_work, utcnow
from models.ledgers import ProvisionReview
from models.rules.access import PEOPLE_WHO_DECIDE
from models.settings import get_settings
from services import provision as service

app = typer.Typer(no_args_is_help=True, help="Third-party provision: requests, consent, decisions.")


def _load(reference: str) -> ProvisionReview:
    return load(service.load_review, reference, "provision review")


@app.command()
def request(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="The third party's request as JSON (services.provision.ProvisionRequestCreate)",
    ),
    user: str = USER,
) -> None:
    """Enter a third party's request (police inquiry, court, tax office, partner): prints its
    reference; the dispatcher of `madoguchi up` starts its review run."""
    data = read_model(file, service.ProvisionRequestCreate)
    caller = login_for(user, PEOPLE_WHO_DECIDE, "entering a provision request")
    settings = get_settings()
    with unit_of_work(settings) as session:
        reference = service.enter(session, settings, data, now=utcnow(), actor=f"{caller.role}:{caller.name}")
    typer.echo(reference)


@app.command()
def consent(
    email: str,
    source: str = typer.Option(..., help="Where the consent was given, e.g. a signed form's id"),
    withdraw: bool = typer.Option(False, help="Record that the consent was withdrawn"),
    user: str = USER,
) -> None:
    """Record the principal's consent to third-party provision (or its withdrawal)."""
    caller = login_for(user, PEOPLE_WHO_DECIDE, "recording consent")
    settings = get_settings()
    with unit_of_work(settings) as session:
        event_id = service.record_consent(
            session,
            settings,
            email,
            source=source,
            now=utcnow(),
            event="withdrawn" if withdraw else "consented",
            actor=f"{caller.role}:{caller.name}",
        )
    typer.echo(f"consent event {event_id}")


@app.command()
def show(reference: str) -> None:
    """The review in full, personal data included (read from the app database)."""
    review = _load(reference)
    for key in (
        "reference",
        "status",
        "requester_kind",
        "recipient",
        "recipient_address",
        "basis",
        "document_ref",
        "subject_name",
        "subject_email",
        "items",
        "facts",
        "proposal",
        "decided_by",
        "note",
        "flow_run_id",
    ):
        value = getattr(review, key)
        typer.echo(
            f"{key:<18} {json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value}"
        )


@app.command()
def decide(
    reference: str,
    refuse: bool = typer.Option(False, help="Refuse instead of providing"),
    note: str = typer.Option("", help="Why (no personal data)"),
    user: str = USER,
) -> None:
    """The privacy officer's decision on the waiting review run (provide, or --refuse)."""
    from flows.forms import filled
    from flows.provision import ProvisionDecision

    run_input = filled(ProvisionDecision, decision="refuse" if refuse else "provide", note=note)
    answer_as(reference, _load(reference).flow_run_id, login(user), run_input)
