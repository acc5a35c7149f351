"""``madoguchi operator``: the decisions an operator or the privacy officer gives in the
Prefect UI, from the command line. Each logs the person in (``--user``, cli/login.py) and
answers the form the waiting flow run shows, checked by the gate's rules, so the flow applies
it exactly as if it came from the UI (and audits the account).

The accounts people log in with (``add``, ``list``, ``disable``, ``password``) live in
cli/accounts.py and are commands of this group too."""

from pathlib import Path

import typer
from sqlmodel import col, select

from cli import accounts
from cli.login import USER, answer_as, login, login_for
from models.db import unit_of_work, utcnow
from models.requests import Request
from models.rules.access import PEOPLE_WHO_DECIDE
from models.rules.vocabulary import FINAL_STATUSES
from models.settings import get_settings
from services.common import load_request

app = typer.Typer(no_args_is_help=True, help="Operator and privacy-officer decisions; operator accounts.")


def _answer(reference: str, user: str, form: str, **values) -> None:
    """Answer the form ``form`` of flows/inputs.py with ``values`` (choices by code) as ``user``."""
    from pydantic import ValidationError

    from flows import inputs
    from flows.forms import filled

    try:
        run_input = filled(getattr(inputs, form), **values)
    except ValidationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _decide(reference, user, run_input)


def _decide(reference: str, user: str, run_input: dict) -> None:
    caller = login(user)
    with unit_of_work() as session:
        flow_run_id = load_request(session, reference).flow_run_id
    answer_as(reference, flow_run_id, caller, run_input)


@app.command()
def waiting() -> None:
    """Open requests: status, what they wait for, due date, flow run."""
    with unit_of_work() as session:
        open_requests = session.exec(
            select(Request).where(col(Request.status).not_in(FINAL_STATUSES)).order_by(col(Request.due_at))
        ).all()
    for r in open_requests:
        typer.echo(
            f"{r.reference}  {r.request_type:<27} {r.status:<22} {r.waiting_for or '-':<14} "
            f"due {r.due_at:%Y-%m-%d}  run {r.flow_run_id or '-'}"
        )


@app.command()
def identity(
    reference: str,
    refuse: str | None = typer.Option(None, help="identity_not_verified | agent_authority_not_shown"),
    user: str = USER,
) -> None:
    """The identity check of an agent (or of a principal by post or phone)."""
    _answer(reference, user, "IdentityReview", outcome=refuse or "verified")


@app.command()
def postal(
    reference: str,
    refuse: bool = typer.Option(
        False, "--refuse", help="The copy does not show the principal at that address"
    ),
    user: str = USER,
) -> None:
    """The check of a copy of an identity document that came by post (the help desk attached it)."""
    _answer(reference, user, "PostalReview", outcome="not_shown" if refuse else "verified")


@app.command()
def callback(
    reference: str,
    outcome: str = typer.Option(..., help="confirmed | not_reached | details_mismatch"),
    user: str = USER,
) -> None:
    """The outcome of the call back to the registered number (the number: /desk/requests/REF/callback)."""
    _answer(reference, user, "Callback", outcome=outcome)


@app.command()
def attach(
    reference: str,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The scan: PDF, JPEG or PNG"),
    user: str = USER,
) -> None:
    """Attach the scan of an identity document that came by post; wakes the run waiting for it."""
    from flows.waits import wake
    from services.documents import DocumentRejected, attach_identity_document

    caller = login_for(user, PEOPLE_WHO_DECIDE, "attaching an identity document")
    try:
        with unit_of_work() as session:
            received = attach_identity_document(
                session,
                get_settings(),
                reference,
                content_type="",
                data=file.read_bytes(),
                actor=f"{caller.role}:{caller.name}",
                now=utcnow(),
            )
            flow_run_id = load_request(session, reference).flow_run_id
    except DocumentRejected as exc:
        typer.echo(f"{reference}: {exc.field}: {exc}", err=True)
        raise typer.Exit(2) from None
    if received.resumed:
        wake(flow_run_id)
    typer.echo(f"{reference}: document {received.document_id} attached")


@app.command("letter-sent")
def letter_sent(
    letter_id: int,
    tracking: str | None = typer.Option(None, help="Japan Post's tracking number of a registered letter"),
    user: str = USER,
) -> None:
    """Record that a letter of /desk/letters was posted (a registered one with its tracking number)."""
    from flows.waits import wake
    from models.letters import Letter
    from services.letters import TrackingNumberMissing, mark_sent

    caller = login_for(user, PEOPLE_WHO_DECIDE, "marking a letter sent")
    try:
        with unit_of_work() as session:
            marked = mark_sent(
                session,
                get_settings(),
                letter_id,
                actor=f"{caller.role}:{caller.name}",
                now=utcnow(),
                tracking=tracking,
            )
            letter = session.get(Letter, letter_id)
            request = session.get(Request, letter.request_id) if letter else None
            flow_run_id = request.flow_run_id if request else None
    except TrackingNumberMissing as exc:
        typer.echo(f"--tracking: {exc}", err=True)
        raise typer.Exit(2) from None
    if marked is None:
        typer.echo(f"letter {letter_id}: no such letter", err=True)
        raise typer.Exit(1)
    if marked:
        wake(flow_run_id)  # a run waiting for the letter to be posted goes on
    typer.echo(f"letter {letter_id}: " + ("marked sent" if marked else "was already marked sent"))


@app.command()
def review(
    reference: str,
    item: list[str] = typer.Option(
        [], "--item", help="ITEM_KEY=ACTION[:REASON], e.g. billing=refuse:harm_to_life_or_property"
    ),
    clarify: str = typer.Option("", help="Ask the requester this question instead of deciding"),
    user: str = USER,
) -> None:
    """Confirm the pre-screen's proposal, changing the items given with --item (or ask the
    requester to clarify)."""
    try:
        run_input = review_input(reference, item, clarify)
    except LookupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _decide(reference, user, run_input)


def review_input(reference: str, items: list[str], clarify: str) -> dict:
    """The review form's answer: the pre-screen's proposal with ``ITEM=ACTION[:REASON]``
    changes. Raises LookupError when nothing waits for review, ValueError for a bad item."""
    from flows.forms import filled
    from flows.inputs import field_name, proposed_answer, review_form
    from services.review import undecided

    with unit_of_work() as session:
        pending = undecided(session, reference)
    if not pending:
        raise LookupError(f"{reference}: nothing waits for review")
    answer = {"clarification": clarify, **proposed_answer(pending)}
    known = {i["item_key"] for i in pending}
    for spec in items:
        key, _, decision = spec.partition("=")
        action, _, reason = decision.partition(":")
        if key not in known or not action:
            raise ValueError(f"unknown item or no action in {spec!r}; items: {', '.join(sorted(known))}")
        answer[f"{field_name(key)}__action"] = action
        answer[f"{field_name(key)}__reason"] = reason or "none"
    return filled(review_form(pending), **answer)  # refuses bad values here (ValueError)


@app.command()
def approve(
    reference: str,
    send_back: bool = typer.Option(False, help="Send the decision back to review"),
    user: str = USER,
) -> None:
    """The privacy officer's sign-off of a refusal or partial refusal."""
    _answer(reference, user, "Approval", approve="send_back" if send_back else "approve")


@app.command()
def payment(
    reference: str,
    unpaid: bool = typer.Option(False, help="The fee was not paid"),
    method: str = typer.Option("bank_transfer"),
    user: str = USER,
) -> None:
    """Confirm that the fee was paid."""
    _answer(reference, user, "Payment", paid="unpaid" if unpaid else "paid", method=method)


@app.command()
def system(
    reference: str,
    system_key: str,
    decision: str = typer.Option(..., help="retry | skip | done_by_hand"),
    reason: str = typer.Option("", help="Why it is skipped"),
    user: str = USER,
) -> None:
    """What to do about a system that keeps failing (the run asks about one system at a time)."""
    from services.fulfilment import pending_failures

    with unit_of_work() as session:
        failing = [p.system_key for p in pending_failures(session, reference)]
    if not failing or failing[0] != system_key:
        typer.echo(
            f"{reference}: the run asks about {failing[0] if failing else 'no system'}, not {system_key}",
            err=True,
        )
        raise typer.Exit(1)
    _answer(reference, user, "FailedAction", decision=decision, reason=reason)


app.command("add")(accounts.add)
app.command("list")(accounts.list_)
app.command("disable")(accounts.disable)
app.command("password")(accounts.password)
