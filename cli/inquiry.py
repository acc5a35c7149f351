"""``madoguchi inquiry``: read an inquiry or complaint and answer it. The answer is written to
the app database (and its email to the outbox) here, then the waiting run is woken to send
it: the text never passes through Prefect this way. Only a logged-in account the gate's rules
let answer the run's form may answer (cli/login.py)."""

import typer
from sqlmodel import col, select

from cli.cases import load
from cli.login import USER, NotWaiting, Refused, allow, decide, login, waiting_on
from models.db import unit_of_work, utcnow
from models.ledgers import Inquiry
from models.settings import get_settings
from services import inquiries as service

app = typer.Typer(no_args_is_help=True, help="Inquiries and complaints: list, read, answer.")
ANSWER_WAIT = "operator-answer-0"  # the form an inquiry's run shows first (flows/inquiries.py)


@app.command("list")
def list_open() -> None:
    """Open inquiries, oldest first (no personal data)."""
    with unit_of_work() as session:
        rows = session.exec(
            select(Inquiry).where(Inquiry.status == service.OPEN).order_by(col(Inquiry.id))
        ).all()
    for q in rows:
        typer.echo(
            f"{q.reference}  {q.kind:<9} {q.language}  {q.created_at:%Y-%m-%d}  "
            f"request {q.request_reference or '-'}  run {q.flow_run_id or '-'}"
        )


@app.command()
def show(reference: str) -> None:
    """The inquiry in full, personal data included (read from the app database)."""
    q = load(service.load_inquiry, reference, "inquiry")
    for key in (
        "reference",
        "kind",
        "language",
        "status",
        "name",
        "email",
        "request_reference",
        "created_at",
        "answered_by",
        "answered_at",
    ):
        typer.echo(f"{key:<18} {getattr(q, key) or '-'}")
    typer.echo(f"\n{q.body}\n")
    if q.answer:
        typer.echo(f"--- answer\n{q.answer}")


@app.command()
def answer(
    reference: str, text: str = typer.Option(..., help="The answer, sent as it is by email"), user: str = USER
) -> None:
    """Answer an inquiry: stored, emailed once (by its flow run, woken here). The rules are
    those of the form the run waits on, or of the one it is about to show."""
    caller = login(user)
    settings = get_settings()
    flow_run_id = load(service.load_inquiry, reference, "inquiry").flow_run_id
    try:
        allow(caller, flow_run_id, waiting_on(flow_run_id) or ANSWER_WAIT)
    except Refused as exc:
        typer.echo(f"{reference}: refused: {exc}", err=True)
        raise typer.Exit(1) from None
    with unit_of_work(settings) as session:
        try:
            answered = service.answer_inquiry(
                session, settings, reference, text, actor=f"operator:{caller.name}", now=utcnow()
            )
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    if not answered:
        typer.echo(f"{reference}: already answered", err=True)
        raise typer.Exit(1)
    try:
        decide(caller, flow_run_id, {})  # no text: the run finds the answer stored
        woken = True
    except NotWaiting:
        woken = False
    typer.echo(
        f"{reference}: answered; "
        + ("the flow run sends it" if woken else "its flow run sends it when it gets there")
    )
