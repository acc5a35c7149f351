"""A wait frees the worker: the lifecycle deployment on madoguchi's work pool, a real thread
worker allowed one run at a time, a principal's request suspended while it waits for the
one-time code — its slot free for the next request's run, no process spawned for either —
and finished after the code is entered and the run woken.

Prints how long trigger → running and resume → completed take."""

import contextlib
import time
from pathlib import Path

import pytest
from sqlmodel import select

from demo import inbox
from deployments import local
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.rules.vocabulary import Status
from services import identity
from services.common import load_request
from tests.flows.conftest import submit
from tests.prefect_api import prefect_at

DEPLOYMENT = "request-lifecycle/request-lifecycle"
FINAL = {Status.COMPLETED, Status.REFUSED, Status.WITHDRAWN, Status.CLOSED}

pytestmark = pytest.mark.deployment


@pytest.fixture
def worker_limit() -> int:
    return 1  # one slot: a second run starts only when the first one's wait frees it


def children(worker) -> list[str]:
    """The worker's living (not zombie) descendants, by command line."""
    found = []
    for pid in local.descendants(worker.pid):
        if not local.running(pid):
            continue
        with contextlib.suppress(OSError):
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return found


def task_run_names(run_id, until: str, timeout: float = 20) -> list[str]:
    """The run's task runs by name, once one named ``until…`` is recorded (Prefect records
    task runs from their events, a moment after they ran)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
        names = sorted(run.name for run in runs)
        if any(name.startswith(until) for name in names) or time.monotonic() > deadline:
            return names
        time.sleep(0.2)


def test_a_wait_for_the_requester_frees_the_worker(prefect_server, app_env, worker, mail_stub):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment

    from flows.waits import wake

    settings, _ = app_env
    references = [submit(settings, "disclosure"), submit(settings, "disclosure")]

    def state(run_id):
        with get_client(sync_client=True) as client:
            return client.read_flow_run(run_id).state

    def first(run_id, state_type, after: float) -> float:
        """When the run first entered state_type after a wall-clock time (server timestamps)."""
        with get_client(sync_client=True) as client:
            times = sorted(
                s.timestamp.timestamp()
                for s in client.read_flow_run_states(run_id)
                if s.type == state_type and s.timestamp.timestamp() >= after
            )
        return times[0]

    def wait_for(run_id, predicate, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = state(run_id)
            assert children(worker) == [], "the worker spawned a process for a flow run"
            if current is not None and predicate(current):
                return current
            if current is not None and current.is_final():
                raise AssertionError(
                    f"run ended as {current.name} while waiting for {what}: "
                    f"{current.message}\n{worker.log_tail()}"
                )
            if not worker.alive():
                raise AssertionError(f"the worker exited:\n{worker.log_tail()}")
            time.sleep(0.1)
        raise AssertionError(
            f"no {what} after {timeout} s (state {current and current.name})\n{worker.log_tail()}"
        )

    with prefect_at(prefect_server.url):
        triggered = time.time()
        runs = [
            run_deployment(name=DEPLOYMENT, parameters={"reference": ref}, timeout=0) for ref in references
        ]
        to_running = []
        for run in runs:  # one slot: the second starts only once the first is suspended
            suspended = wait_for(run.id, lambda s: s.is_paused(), "suspension", 30)
            assert suspended.name == "Suspended" and suspended.state_details.pause_reschedule
            to_running.append(first(run.id, StateType.RUNNING, triggered) - triggered)
        with unit_of_work(settings) as session:
            for reference, run in zip(references, runs, strict=True):
                request = load_request(session, reference)
                assert request.flow_run_id == str(run.id)
                assert request.status not in FINAL

        # Each requester types the code from the email; the API wakes the run.
        resumed = time.time()
        for reference, run in zip(references, runs, strict=True):
            code = inbox.latest_code(mail_stub.url, reference)
            with unit_of_work(settings) as session:
                assert (
                    identity.submit_code(session, settings, reference, code, now=utcnow())
                    is identity.Verdict.VERIFIED
                )
            assert wake(str(run.id))
        for run in runs:
            assert wait_for(run.id, lambda s: s.is_completed(), "completion", 45).is_completed()
        to_completed = max(first(run.id, StateType.COMPLETED, resumed) for run in runs) - resumed
        for run in runs:  # the resumed execution starts no identity check and sends nothing again
            names = task_run_names(run.id, until="complete:")
            assert sum(name.startswith("identity:") for name in names) == 1, names

    for reference in references:
        with unit_of_work(settings) as session:
            request = load_request(session, reference)
            status = request.status
            notices = [
                (n.kind, n.state, n.attempts)
                for n in session.exec(
                    select(Notice).where(Notice.request_id == request.id).order_by(Notice.id)
                )
            ]
        assert status == Status.COMPLETED, status
        # Replayed from the top after the resume, and still every notice sent exactly once: the
        # decision notice too (with persisted results, the zero-argument send_notices task would
        # come back "Cached" and deliver nothing).
        kinds = [k for k, _, _ in notices]
        assert kinds[:2] == ["acknowledgement", "one_time_code"] and kinds[-1] == "decision", kinds
        assert len(kinds) == len(set(kinds)), kinds
        assert all(state == "sent" and attempts == 1 for _, state, attempts in notices), notices
    print(
        f"\ndeployment runs: trigger → running {to_running[0]:.1f} s and {to_running[1]:.1f} s "
        f"(one slot), resume → both completed {to_completed:.1f} s"
    )
