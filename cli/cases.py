"""What the commands share about a case (a request, a provision review, an inquiry, a
contractor, a policy version): finding it, and starting its flow run."""

from collections.abc import Callable
from typing import TypeVar, cast

import typer
from sqlmodel import Session, SQLModel

from models.db import unit_of_work
from services.common import NotFound

Key = TypeVar("Key", str, int)
Row = TypeVar("Row", bound=SQLModel)


def load(find: Callable[[Session, Key], Row], key: Key, what: str) -> Row:
    """The row ``find`` finds by ``key``, read in a transaction of its own; exit 1 when there
    is none."""
    with unit_of_work() as session:
        try:
            row = find(session, key)
        except NotFound:
            typer.echo(f"{key}: no such {what}", err=True)
            raise typer.Exit(1) from None
        session.expunge(row)
    return row


def start_run(deployment: str, reference: str, idempotency_key: str, *, name: str, again: str) -> None:
    """The case's run of ``deployment`` (the same one if started before, by the idempotency
    key); when Prefect cannot start it, the command ``again`` that does, and exit 1."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    try:
        run = cast(  # called from sync code it returns the run (typed sync-or-async)
            FlowRun,
            run_deployment(
                name=deployment,
                parameters={"reference": reference},
                idempotency_key=idempotency_key,
                timeout=0,
                as_subflow=False,
            ),
        )
    except Exception as exc:  # noqa: BLE001 - the step is recorded; starting can be repeated
        typer.echo(
            f"{name}: recorded, but its run could not be started ({type(exc).__name__}); start it with `{again}`",
            err=True,
        )
        raise typer.Exit(1) from None
    typer.echo(f"{name}: flow run {run.id}")
