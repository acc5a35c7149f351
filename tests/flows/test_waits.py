"""Waking a run that is on its way to a wait: the requester acted between the run's last look
at the request and its pause (a real window: reads, then a state change on the server)."""

import asyncio
import queue
import threading

from prefect import flow
from prefect.runtime import flow_run

from flows.waits import wait_for_requester, wake
from tests.flows.conftest import Run, enter_code, submit


@flow(name="late-pause")
async def late_pause(ids: str, gate: str) -> str:
    """Reports its run id, waits on a gate (the window), then pauses for the requester."""
    QUEUES[ids].put(flow_run.id)
    GATES[gate].wait(30)
    return "woken" if await wait_for_requester(key="identity-1-0", timeout_seconds=60) else "timed out"


QUEUES: dict[str, queue.Queue] = {}
GATES: dict[str, threading.Event] = {}


def _start(name: str):
    QUEUES[name], GATES[name] = queue.Queue(), threading.Event()
    result = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("r", asyncio.run(late_pause(name, name))), daemon=True
    )
    thread.start()
    return QUEUES[name].get(timeout=60), GATES[name], thread, result


def test_a_run_not_yet_paused_is_not_woken_without_settling(prefect_api):
    run_id, gate, thread, result = _start("plain")
    assert wake(run_id) is False  # Running, not paused: the old behaviour, a lost wake-up
    gate.set()
    threading.Timer(2.0, lambda: wake(run_id)).start()  # cleaned up: a later wake finds it paused
    thread.join(60)
    assert result["r"] == "woken"


def test_a_requester_acting_just_before_the_pause_still_wakes_the_run(prefect_api):
    run_id, gate, thread, result = _start("settle")
    threading.Timer(0.3, gate.set).start()  # the run reaches its pause while the waker waits
    assert wake(run_id, settle_seconds=10) is True
    thread.join(60)
    assert result["r"] == "woken"


def test_settling_does_not_wait_for_a_run_that_has_ended(prefect_api):
    import time

    run_id, gate, thread, _result = _start("ended")
    gate.set()
    while not wake(run_id, settle_seconds=10):
        pass
    thread.join(60)
    started = time.monotonic()
    assert wake(run_id, settle_seconds=10) is False  # Completed: nothing will pause any more
    assert time.monotonic() - started < 2


def test_a_lifecycle_resumed_with_nothing_entered_waits_again_on_a_new_key(autopilot):
    """The Resume button in Prefect's UI on a wait for the code: Prefect answers a second pause
    on the same key at once, so the same key would spin; the run waits on a new one."""
    reference = submit(autopilot, "purpose_notification")
    run = Run(reference)
    run.answer()  # no code entered
    run.wait_until_paused(after=1)  # identity-1-0-again-1
    enter_code(autopilot, reference, run)
    assert run.join() == "completed"
