"""The worker's one shared watch for outside suspension (deployments/suspension.py): a flow
run suspended through the API while it runs is told so, as with Prefect's per-run observer,
and every run in the process is watched by the same observer."""

import time
import uuid

from prefect import flow
from prefect._flow_run_suspension import FlowRunSuspensionRequest, register_flow_run_suspension_request
from prefect.client.orchestration import get_client
from prefect.states import Running, Suspended

from deployments.suspension import SharedSuspensionObserver


@flow(name="suspension-probe")
def probe() -> None:
    """Only its runs' states matter here."""


def _running_run(client) -> uuid.UUID:
    run = client.create_flow_run(probe)
    client.set_flow_run_state(run.id, Running(), force=True)
    return run.id


def _wait(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_an_outside_suspension_reaches_the_run_and_one_observer_watches_every_run(prefect_api):
    shared = SharedSuspensionObserver()
    with get_client(sync_client=True) as client:
        first, second = _running_run(client), _running_run(client)
        asked = {run_id: FlowRunSuspensionRequest() for run_id in (first, second)}
        with (
            register_flow_run_suspension_request(first, asked[first]),
            register_flow_run_suspension_request(second, asked[second]),
            shared.observe(first, asked[first]),
            shared.observe(second, asked[second]),
        ):
            observer = shared._started()[1]
            assert observer._in_flight_flow_run_ids == {first, second}
            client.set_flow_run_state(second, Suspended(timeout_seconds=600), force=True)
            assert _wait(asked[second].is_requested), "the suspension never reached the run"
            assert not asked[first].is_requested()
        assert _wait(lambda: not observer._in_flight_flow_run_ids), "finished runs are still watched"
