"""Fulfilment across systems under Prefect: one task run per (system, action), all at once,
each retried on transient errors only (exponential backoff with jitter).

Parameters and results are references and counts: the task loads the subject's identity
from the app database by reference, so Prefect never stores it.
"""

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.tasks import exponential_backoff

from deployments.registry import registry_for
from models.db import unit_of_work, utcnow
from models.rules.states import ActionState
from models.settings import get_settings
from services.fulfilment import give_up, perform, plan
from systems.protocol import TransientSystemError


def only_transient(task, task_run, state) -> bool:
    """Retry a locked, busy or unreachable system; never a permanent refusal or a bug."""
    try:
        state.result()
    except TransientSystemError:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth another try
        return False
    return False


# NO_CACHE: the app database says what is done; a cached result would hide an operator's retry
@task(
    task_run_name="{system_key}:{action}",
    retry_condition_fn=only_transient,
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,
)
def act_on_system(reference: str, system_key: str, action: str) -> dict:
    """Perform one planned action on one system (at most once, by its idempotency key)."""
    settings = get_settings()
    return perform(settings, reference, system_key, action, registry=registry_for(settings)).to_dict()


def fulfil(reference: str) -> list[dict]:
    """Plan, then act on every system with a pending action concurrently; call from a flow.

    A task that ends failed (retries used up, or an unexpected error) does not fail the flow:
    its action is marked failed and reported, to wait for an operator's decision."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        pending = [
            p for p in plan(session, settings, reference, now=utcnow()) if p.state == ActionState.PENDING
        ]
    act = act_on_system.with_options(
        retries=settings.fulfilment_retries,
        retry_delay_seconds=exponential_backoff(settings.fulfilment_retry_base_seconds),
    )
    futures = [act.submit(reference, p.system_key, str(p.action)) for p in pending]
    wait(futures)
    outcomes = []
    for planned, future in zip(pending, futures, strict=False):
        if future.state.is_completed():
            outcomes.append(future.result())
        else:
            # Prefect types result() as the task's return value; a failed run's is its exception
            error: BaseException = future.result(raise_on_failure=False)  # type: ignore[assignment]
            outcomes.append(
                give_up(settings, reference, planned.system_key, planned.action, error=error).to_dict()
            )
    return outcomes
