"""The README's walk, for real: `madoguchi up` as an operator starts it (server, pool,
deployments, worker, dispatcher, SendGrid stub, intake service); a request submitted through
the intake API, its one-time code read from the stub's inbox and entered there; the review
and the fee answered with `madoguchi operator` (the same resume API the Prefect UI's Resume
form uses) after checking that the run is Suspended with a form; the request completed.
Then `madoguchi demo` walks one more and `madoguchi monitor run` runs the SLA monitor; SIGTERM
to `up` leaves no process behind.

Prints how long up → ready and submit → waiting for the code take."""

import json
import time
from uuid import UUID

import httpx
import pytest

from demo import inbox
from deployments import stack
from tests.deployments.up import Up

pytestmark = pytest.mark.deployment


def test_walk_a_request_through_by_hand(tmp_path):
    from prefect.client.orchestration import get_client

    started = time.monotonic()
    with Up(tmp_path, "walk-test") as up:
        to_ready = time.monotonic() - started
        assert up.ui in up.log()
        assert len(up.below) >= 4, up.below  # the server, the worker, the stub and intake
        assert f"{up.intake}/" in up.log() and f"{up.stub}/messages" in up.log()

        operator = up.add_account("walk-sato", "operator")
        submitted = time.monotonic()
        reference, bearer, run_id = up.submit_and_verify()
        to_code = time.monotonic() - submitted

        with up.client():
            assert up.suspended_with(run_id, "suspended-operator-review")
            assert "refused" in up.cli(
                "operator", "review", reference, as_=("walk-sato", "wrong"), check=False
            )
            assert "answered by walk-sato" in up.cli("operator", "review", reference, as_=operator)
            form = up.suspended_with(run_id, "suspended-operator-payment")
            assert {"paid", "method"} <= set(form) and not {"operator", "actor"} & set(
                form
            )  # nobody types a name
            assert "answered by walk-sato" in up.cli("operator", "payment", reference, as_=operator)
            up.until(lambda: up.request(reference).status == "completed", "completion", 45)

            def finished():
                with get_client(sync_client=True) as client:
                    run = client.read_flow_run(UUID(run_id))
                return run if run.state and run.state.is_final() else None

            run = up.until(finished, "final run state", 20)
        assert run.name == reference and run.state.is_completed()
        status = httpx.get(f"{up.intake}/api/requests/{reference}", headers=bearer).json()
        assert status["status"] == "completed" and status["outcome"] == "granted", status
        up.until(
            lambda: (
                {inbox.kind_of(m) for m in inbox.messages(up.stub, reference)}
                >= {"acknowledgement", "one_time_code", "decision"}
            ),
            "acknowledgement, code and decision mail",
            15,
        )
        assert f"dispatched {reference}" in up.log()

        demo = up.cli("demo", timeout=180)
        assert "completed: outcome granted" in demo and "決定のお知らせ" in demo, demo
        assert {"closed", "warnings", "escalations"} <= set(json.loads(up.cli("monitor", "run")))
    assert up.proc.returncode == 0, up.log()
    assert "stopped" in up.log()
    assert not up.left_behind(), "up left processes behind"
    assert not stack.reachable(f"{up.api_url}/health") and not stack.reachable(f"{up.intake}/healthz")
    print(
        f"\nwalk {reference}: up → ready {to_ready:.1f} s, submit → waiting for code {to_code:.1f} s, "
        f"whole walk {time.monotonic() - started:.1f} s"
    )
