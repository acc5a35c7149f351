"""Waiting for people without holding a worker.

A deployment run is suspended (the process exits; on resume the flow runs again from the top
and, being re-entrant, comes straight back to the same wait, which then returns the input).
A run started by hand in a process (tests, ``python -m``) is paused instead. Each wait has a
key derived from the request's state, so a replayed wait finds its answer and a new wait
gets a new key.

Whose wait it is shows in its key (the run's state details): an operator's or the privacy
officer's form waits on ``operator-…`` or ``officer-…``, with that line above the form; the
requester's waits (``identity-…``, ``clarification-…``) have no form. A wake without input
(the requester acted) resumes only the requester's waits, an answer only a form.

Deadlines: a paused run times out itself and closes the request. A suspended run has no
timeout, because Prefect would mark it Failed at expiry with no code of ours running; the
deadline monitor closes such a request in the app database and wakes the run, which then
finds its request ended and stops.

The flows that wait are async flows (their stages are plain blocking code between the
awaits): Prefect's sync engine holds every run open for a second at its end, joining its
heartbeat thread; the async engine keeps the heartbeats and ends the run at once. An async
flow's engine keeps no API client for sync tasks, so such a flow is wrapped in
:func:`one_client`: otherwise every task run builds its own client (an SSL context each, a
third of a lifecycle run's CPU in bench/lifecycle.py)."""

import functools
from collections import Counter
from typing import Literal

import pydantic
from prefect import get_run_logger
from prefect.context import FlowRunContext, SyncClientContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run, asuspend_flow_run

from flows.forms import Form, words
from models.settings import get_settings
from services.requester_waits import again

OPERATOR_WAIT_SECONDS = 14 * 24 * 3600  # a paused run gives up after two weeks, like the clock
REQUESTER_WAKE_SETTLE_SECONDS = 5.0  # from a run's last look at the request to its pause: ms
Who = Literal["operator", "officer"]


def one_client(flow_fn):
    """Under ``@flow``: the async flow's sync tasks, waits and wakes share one API client."""

    @functools.wraps(flow_fn)
    async def with_one_client(*args, **kwargs):
        with SyncClientContext.get_or_create():
            return await flow_fn(*args, **kwargs)

    return with_one_client


async def ask(form: type[Form], *, who: Who, key: str, description: str, timeout_seconds: int | None = None):
    """The person's answer, or None when the wait timed out. An answer the form does not take
    (the run was set Running by hand: nothing was chosen), or one that says nobody's name
    (resumed past the gate and the command line's login: ``actor`` unset), is no decision: it
    is asked for again on a new key, ``<key>-again-<n>``; the same key would be answered at
    once with the same input."""
    form = form.with_initial_data(description=f"{words()['who'][who]}\n\n{description}")
    seen: Counter[str] = Counter()  # a replay meets the same answers in the same order, so the same keys
    while True:
        wait_key = again(f"{who}-{key}", seen)
        try:
            if _deployment_run():
                answer = await asuspend_flow_run(wait_for_input=form, key=wait_key, timeout=None)
            else:
                # Prefect types poll_interval int; it sleeps that long, a fraction of a second too
                answer = await apause_flow_run(  # type: ignore[call-overload]
                    wait_for_input=form,
                    key=wait_key,
                    poll_interval=get_settings().pause_poll_seconds,
                    timeout=timeout_seconds or OPERATOR_WAIT_SECONDS,
                )
        except FlowPauseTimeout:
            return None
        except pydantic.ValidationError:
            continue
        if answer.actor:
            return answer
        get_run_logger().warning(
            "the answer on %s names no account (resumed past the gate): asked again", wait_key
        )


def whose(pause_key: str | None) -> str:
    """``operator``, ``officer`` or ``requester``: who the wait on ``pause_key`` is for."""
    who, _, _ = (pause_key or "").partition("-")
    return who if who in words()["who"] else "requester"


async def wait_for_requester(*, key: str, timeout_seconds: int) -> bool:
    """Wait until the requester acts (the API resumes the run) or the deadline passes."""
    if _deployment_run():
        await asuspend_flow_run(key=key, timeout=None)
        return True
    try:
        await apause_flow_run(  # type: ignore[call-overload]  # a float poll_interval, as above
            key=key, poll_interval=get_settings().pause_poll_seconds, timeout=timeout_seconds
        )
        return True
    except FlowPauseTimeout:
        return False


def _deployment_run() -> bool:
    """From the run's own context (``prefect.runtime.deployment.id`` asks the API each time)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("only a flow run waits")
    return context.flow_run.deployment_id is not None


def wake(flow_run_id: str | None, run_input: dict | None = None, *, settle_seconds: float = 0.0) -> bool:
    """Resume a run that waits (after the requester or an operator acted); False if it is not
    waiting, e.g. not yet there: it will find the new state when it gets there. Without
    ``run_input`` (the requester acted) only a requester's wait is resumed, with it only an
    operator's or officer's form: False for the other's wait, which stays as it is.

    A requester can act in the moment between the run's last look at the request and its
    pause; woken then, the run is not paused yet and would sleep to the deadline. With
    ``settle_seconds`` a Running run is looked at again until it pauses (or the time is up)."""
    import time
    from uuid import UUID

    from prefect.flow_runs import resume_flow_run

    if not flow_run_id:
        return False
    give_up, pause = time.monotonic() + settle_seconds, 0.02
    with SyncClientContext.get_or_create() as context:  # one client for the look and the resume
        while True:
            state = context.client.read_flow_run(UUID(flow_run_id)).state
            if state is not None and state.is_paused():
                if (whose(state.state_details.pause_key) == "requester") != (run_input is None):
                    return False
                break
            if state is None or not state.is_running() or time.monotonic() >= give_up:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
        resume_flow_run(UUID(flow_run_id), run_input=run_input)
    return True


def end_wait(flow_run_id: str | None) -> bool:
    """The case ended while its run waited (withdrawn, closed by a monitor): a wait for the
    requester is woken, and the run sees the end and stops; a wait on an operator's or the
    officer's form is cancelled, since no answer can matter any more (a requester's wake may
    not answer a person's form). False when the run is not waiting."""
    from uuid import UUID

    from prefect.states import Cancelled

    if not flow_run_id:
        return False
    with SyncClientContext.get_or_create() as context:
        state = context.client.read_flow_run(UUID(flow_run_id)).state
        if state is None or not state.is_paused():
            return False
        if whose(state.state_details.pause_key) == "requester":
            return wake(flow_run_id)
        context.client.set_flow_run_state(
            UUID(flow_run_id), Cancelled(message="the request ended while it waited"), force=True
        )
    return True


def paused_runs(flow_name: str = "request-lifecycle", page: int = 200) -> list[tuple[str, str, str]]:
    """(run id, reference, pause key) of every paused or suspended run of ``flow_name``."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    flows = FlowFilter(name=FlowFilterName(any_=[flow_name]))
    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
    found: list[tuple[str, str, str]] = []
    with SyncClientContext.get_or_create() as context:
        while True:
            runs = context.client.read_flow_runs(
                flow_filter=flows, flow_run_filter=paused, limit=page, offset=len(found)
            )
            found += [
                (
                    str(r.id),
                    r.parameters.get("reference", ""),
                    (r.state.state_details.pause_key if r.state is not None else None) or "",
                )
                for r in runs
            ]
            if len(runs) < page:
                return found


def lost_wakes(settings=None) -> list[tuple[str, str]]:
    """(reference, run id) of the lifecycle runs still waiting for a requester action already
    taken: the intake's wake was lost (Prefect down or too busy until its client gave up, the
    intake stopped before it ran)."""
    from services.requester_waits import stale_waits

    return stale_waits(settings or get_settings(), paused_runs())
