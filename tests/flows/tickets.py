"""Helpers for the provision-review and inquiry flow tests: a flow run in a thread, as a
worker would run it, found by the run id its ticket stores."""

from sqlmodel import select

from models.db import unit_of_work
from models.ledgers import Inquiry, ProvisionReview
from tests.flows.conftest import FlowThread
from tests.flows.support import madoguchi


def run_id_of(reference: str) -> str | None:
    table = Inquiry if reference.startswith("Q-") else ProvisionReview
    with unit_of_work() as session:
        return session.exec(select(table.flow_run_id).where(table.reference == reference)).one()


def ticket_run(flow, reference: str) -> FlowThread:
    """An inquiry or provision-review flow run in a thread."""
    return FlowThread(flow, reference, run_id_of)


def cli(*args: str, user: str | None = None) -> str:
    """``madoguchi …`` as ``user`` types it (logged in, if given); fails the test on a non-zero exit."""
    result = madoguchi(*args, user=user)
    assert result.exit_code == 0, result.output
    return result.output
