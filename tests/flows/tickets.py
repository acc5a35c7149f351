"""Helpers for the provision-review and inquiry flow tests: a flow run in a thread, as a
worker would run it, found by the run id its ticket stores."""

import threading
import time
from uuid import UUID

from prefect.client.orchestration import get_client
from sqlmodel import select

from models.db import unit_of_work
from models.ledgers import Inquiry, ProvisionReview


def run_id_of(reference: str) -> str | None:
    table = Inquiry if reference.startswith("Q-") else ProvisionReview
    with unit_of_work() as session:
        return session.exec(select(table.flow_run_id).where(table.reference == reference)).one()


class FlowThread:
    def __init__(self, flow, reference: str):
        self.reference, self.result, self.error = reference, None, None

        def target():
            try:
                self.result = flow(reference)
            except BaseException as exc:  # noqa: BLE001 - reported by join()
                self.error = exc

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def wait_until_paused(self, timeout: float = 60, after: int = 0) -> str:
        """The run id once the run waits (its ``after``-th wait or later counted by pause key)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run_id = run_id_of(self.reference)
            if run_id:
                with get_client(sync_client=True) as client:
                    state = client.read_flow_run(UUID(run_id)).state
                if state is not None and state.is_paused() and \
                        state.state_details.pause_key.endswith(f"-{after}"):
                    return run_id
            if not self.thread.is_alive():
                raise AssertionError(f"flow ended instead of waiting: {self.result} {self.error!r}")
            time.sleep(0.2)
        raise AssertionError("the flow run did not pause")

    def join(self, timeout: float = 60):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the flow run did not finish"
        if self.error:
            raise self.error
        return self.result


def cli(*args: str) -> str:
    """``madoguchi …`` as an operator types it; fails the test on a non-zero exit."""
    from typer.testing import CliRunner

    from cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output
