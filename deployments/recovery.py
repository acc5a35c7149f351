"""The recovery sweep, Prefect side: find the case flow runs that died and start each open
case again (services/recovery.py decides; models/rules/recovery.py says how often and when).

Two ways in, one decision:
- :func:`recover_recent` reads the runs that ended since a moment (the dispatcher loop of
  `up`, every few seconds: a crash is answered within seconds);
- :func:`recover_all` reads the current run of every open case (the SLA monitor's backstop
  and `up`'s start: whatever died while nobody watched, or a run Prefect no longer knows).

A restart is a new run from the same deployment, scheduled after the rule's pause (Prefect
holds it Scheduled till then: the case has a live run the whole time), with an idempotency
key per attempt, so two sweeps that see the same death make one run."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from models.db import unit_of_work, utcnow
from models.rules.recovery import Escalate, Restart, restart_key
from models.settings import Settings
from services import recovery as service

log = logging.getLogger("madoguchi.recovery")

FLOW_KINDS = {
    "request-lifecycle": "request",
    "inquiry": "inquiry",
    "provision-review": "provision",
    "incident-response": "incident",
    "policy-revision": "policy",
    "contractor-onboarding": "contractor",
}
PAGE = 200


@dataclass
class Recovered:
    """What one sweep did: references restarted and escalated."""

    restarted: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def _ended():
    from prefect.client.schemas.objects import StateType

    return [StateType.CRASHED, StateType.FAILED, StateType.CANCELLED, StateType.COMPLETED]


def _kinds_by_flow(client) -> dict[UUID, str]:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    flows = client.read_flows(flow_filter=FlowFilter(name=FlowFilterName(any_=list(FLOW_KINDS))))
    return {f.id: FLOW_KINDS[f.name] for f in flows}


def _dead(run, kind: str) -> service.DeadRun:
    return service.DeadRun(kind, run.parameters.get("reference", ""), str(run.id), run.state.name)


def recover_recent(settings: Settings, *, since: datetime, ui_url: str) -> Recovered:
    """Every case run that ended since ``since``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterId,
        FlowRunFilter,
        FlowRunFilterEndTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    done = Recovered()
    with get_client(sync_client=True) as client:
        kinds = _kinds_by_flow(client)
        if not kinds:
            return done
        ended = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=_ended())),
            end_time=FlowRunFilterEndTime(after_=since),
        )
        offset = 0
        while True:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(id=FlowFilterId(any_=list(kinds))),
                flow_run_filter=ended,
                limit=PAGE,
                offset=offset,
            )
            for run in runs:
                _handle(client, settings, _dead(run, kinds[run.flow_id]), run.deployment_id, done, ui_url)
            if len(runs) < PAGE:
                return done
            offset += PAGE


def recover_all(settings: Settings, *, ui_url: str) -> Recovered:
    """Every open case whose current run has ended, or is unknown to Prefect."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    done = Recovered()
    with get_client(sync_client=True) as client:
        deployments = _deployment_ids(client)
        for kind in service.CASES:
            after = 0
            while True:
                with unit_of_work(settings) as session:
                    cases = service.open_cases_with_runs(session, kind, after_id=after, limit=PAGE)
                if not cases:
                    break
                after = cases[-1][0]
                ids = [UUID(run_id) for _, _, run_id in cases]
                runs = {
                    str(r.id): r
                    for r in client.read_flow_runs(
                        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
                    )
                }
                for _, reference, run_id in cases:
                    run = runs.get(run_id)
                    if run is None:  # Prefect lost it (a server database reset): as good as dead
                        dead = service.DeadRun(kind, reference, run_id, "Missing")
                        _handle(client, settings, dead, deployments.get(kind), done, ui_url)
                    elif run.state is not None and run.state.is_final():
                        _handle(client, settings, _dead(run, kind), run.deployment_id, done, ui_url)
    return done


def _deployment_ids(client) -> dict[str, UUID]:
    """kind → the id of its deployment (for a run Prefect no longer knows)."""
    from prefect.exceptions import ObjectNotFound

    found = {}
    for flow_name, kind in FLOW_KINDS.items():
        with contextlib.suppress(ObjectNotFound):
            found[kind] = client.read_deployment_by_name(f"{flow_name}/{flow_name}").id
    return found


def _handle(
    client, settings: Settings, dead: service.DeadRun, deployment_id, done: Recovered, ui_url: str
) -> None:
    if not dead.reference:
        return
    with unit_of_work(settings) as session:
        step = service.decide(session, settings, dead, now=utcnow(), ui_url=ui_url)
    if isinstance(step, Escalate):
        log.warning("%s %s: its run died %d times; escalated", dead.kind, dead.reference, step.restarts)
        done.escalated.append(dead.reference)
    elif isinstance(step, Restart) and deployment_id is not None:
        new = _start_again(client, deployment_id, dead.reference, step)
        with unit_of_work(settings) as session:
            service.record_restart(session, settings, dead, step, str(new.id), now=utcnow())
        log.warning(
            "%s %s: its run ended %s; restart %d at %s",
            dead.kind,
            dead.reference,
            dead.state,
            step.attempt,
            step.at.isoformat(),
        )
        done.restarted.append(dead.reference)


def _start_again(client, deployment_id, reference: str, step: Restart):
    from prefect.states import Scheduled

    return client.create_flow_run_from_deployment(
        deployment_id,
        parameters={"reference": reference},
        idempotency_key=restart_key(reference, step.attempt),
        state=Scheduled(scheduled_time=step.at),
    )
