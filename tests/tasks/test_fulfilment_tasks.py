"""Fulfilment under Prefect: transient failures retried by Prefect with the same idempotency
key, a system that keeps failing reported (not raised), systems acted on concurrently, and
nothing of the subject's in what Prefect stores."""

import json
import time
from uuid import UUID

from prefect import flow
from prefect.states import Failed

from models.db import unit_of_work
from models.fulfilment import action_key
from models.rules.vocabulary import SystemAction as S
from services.fulfilment import PlannedAction, pending_failures
from systems.protocol import PermanentSystemError, TransientSystemError
from tasks.fulfilment import fulfil, only_transient
from tests.services.conftest import contract_subject, create_fulfilment_request
from tests.services.test_fulfilment import ledger_entries

EVERY_SYSTEM = [("billing", "billing", "alternative", "restrict")] + [
    (key, key, "grant", "erase")
    for key in ("analytics", "customers", "delivery_contractor", "marketing", "orders", "points", "support")
]
SUBJECT = contract_subject()


@flow(flow_run_name="fulfil-{reference}")
def fulfilment_flow(reference: str) -> dict:
    from prefect.runtime import flow_run

    outcomes = fulfil(reference)
    return {"outcomes": {f"{o['system_key']}:{o['action']}": o for o in outcomes}, "flow_run_id": flow_run.id}


def erasure(settings, registry, items) -> str:
    return create_fulfilment_request(
        settings, registry, "erasure", items, email=SUBJECT["email"], name=SUBJECT["name"]
    )


def task_runs(flow_run_id: str, expected: int) -> list:
    """The flow run's task runs once the server has recorded each one's final state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 10
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)]))
            )
            if len(runs) == expected and all(r.state and r.state.is_final() for r in runs):
                return runs
            assert time.monotonic() < deadline, [(r.name, r.state_name) for r in runs]
            time.sleep(0.1)


def test_a_system_failing_twice_is_retried_by_prefect_and_acted_on_once(task_env):
    configure, registry = task_env
    settings = configure(system_faults='{"orders": 2}')
    reference = erasure(settings, registry, [("orders", "orders", "grant", "erase")])

    result = fulfilment_flow(reference)

    orders = result["outcomes"]["orders:erase"]
    assert (orders["state"], orders["attempts"], orders["error"]) == ("done", 3, None)
    assert orders["affected"] > 0
    assert ledger_entries(registry, "orders", action_key(reference, "orders", S.ERASE)) == 1
    [run] = task_runs(result["flow_run_id"], 1)
    assert (run.name, run.run_count, run.state_name) == ("orders:erase", 3, "Completed")


def test_a_system_that_keeps_failing_is_reported_and_the_flow_completes(task_env):
    configure, registry = task_env
    settings = configure(system_faults='{"points": 100}')
    reference = erasure(
        settings,
        registry,
        [
            ("points", "points", "grant", "erase"),
            ("orders", "orders", "grant", "erase"),
            ("billing", "billing", "grant", "erase"),
        ],
    )

    result = fulfilment_flow(reference)  # returns: the flow run did not fail

    outcomes = result["outcomes"]
    assert outcomes["orders:erase"]["state"] == "done"
    points = outcomes["points:erase"]
    assert (points["state"], points["attempts"]) == ("failed", settings.fulfilment_retries + 1)
    assert points["error"] == "TransientSystemError: points: erase: injected fault"
    billing = outcomes["billing:erase"]  # permanent: failed at once, never retried
    assert (billing["state"], billing["attempts"]) == ("failed", 1)
    with unit_of_work(settings) as session:
        assert pending_failures(session, reference) == [
            PlannedAction("billing", S.ERASE, "failed", 1),
            PlannedAction("points", S.ERASE, "failed", 4),
        ]
    runs = {r.name: r for r in task_runs(result["flow_run_id"], 3)}
    assert (runs["points:erase"].run_count, runs["points:erase"].state_name) == (4, "Failed")
    assert (runs["billing:erase"].run_count, runs["billing:erase"].state_name) == (1, "Completed")

    # a second pass acts on nothing: failed actions wait for an operator
    assert fulfilment_flow(reference)["outcomes"] == {}


def test_only_transient_system_errors_are_retried():
    assert only_transient(None, None, Failed(data=TransientSystemError("orders", "locked")))
    assert not only_transient(None, None, Failed(data=PermanentSystemError("orders", "schema")))
    assert not only_transient(None, None, Failed(data=KeyError("bug")))


def test_eight_systems_are_acted_on_concurrently(task_env):
    configure, registry = task_env
    settings = configure(system_latency_seconds="0.2")
    reference = erasure(settings, registry, EVERY_SYSTEM)

    result = fulfilment_flow(reference)

    assert {o["state"] for o in result["outcomes"].values()} == {"done"}
    assert len(result["outcomes"]) == 8
    # all eight were running at one moment: the last to start began before the first ended
    # (the wall time is bench/lifecycle.py's business, not a test's)
    runs = task_runs(result["flow_run_id"], 8)
    assert max(r.start_time for r in runs) < min(r.end_time for r in runs)


def test_prefect_stores_nothing_of_the_subject(task_env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    configure, registry = task_env
    settings = configure(system_faults='{"customers": 1}')
    reference = create_fulfilment_request(
        settings,
        registry,
        "correction",
        [("customers:phone", "customers", "grant", "rectify")],
        email=SUBJECT["email"],
        name=SUBJECT["name"],
        corrections=[{"field": "phone", "current": SUBJECT["phone"], "requested": "03-9999-0000"}],
    )

    result = fulfilment_flow(reference)

    assert result["outcomes"]["customers:rectify"]["state"] == "done"
    APILogHandler().flush()  # send the run's logs before reading them
    [run] = task_runs(result["flow_run_id"], 1)
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(result["flow_run_id"]))
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(result["flow_run_id"])]))
        )
        states = client.read_task_run_states(run.id)
    stored = "\n".join(
        [
            run.model_dump_json(),
            flow_run.model_dump_json(),
            json.dumps(result),
            *(s.model_dump_json() for s in states),
            *(log.message for log in logs),
        ]
    )
    assert reference in stored and "customers:rectify" in stored and "injected fault" in stored
    for value in (
        SUBJECT["email"],
        SUBJECT["name"],
        SUBJECT["phone"],
        "0312345678",
        "03-9999-0000",
        SUBJECT["login_id"],
    ):
        assert value not in stored
