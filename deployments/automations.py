"""The Prefect automations madoguchi relies on, made on the server by `up` (idempotent).

Zombie runs: a run whose process died (the worker killed, the machine lost) stops sending
heartbeats but stays Running for ever on Prefect's books. Prefect's documented answer for
self-hosted servers ("detect zombie flows") is a proactive automation: after a heartbeat,
expect another one (or the run to end or wait) within a bound, else mark it Crashed. The
recovery sweep (deployments/recovery.py) then starts the open case's flow again. Flow runs
send heartbeats every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (`up` sets it for workers)."""

from __future__ import annotations

from datetime import timedelta

from deployments.local import _api

ZOMBIES = "madoguchi: crash zombie flow runs"
HEARTBEAT_SECONDS = 30  # Prefect's minimum: a lost run is noticed within about three of them
ZOMBIE_AFTER_SECONDS = 90


def zombie_automation():
    from prefect.automations import AutomationCore
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return AutomationCore(
        name=ZOMBIES,
        description="A run that stops sending heartbeats without ending or waiting is marked "
                    "Crashed; madoguchi's recovery then starts its case again.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed",
                    "prefect.flow-run.Suspended", "prefect.flow-run.Paused"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=ZOMBIE_AFTER_SECONDS),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message=f"No heartbeat for {ZOMBIE_AFTER_SECONDS} s: its process died")],
    )


def ensure_automations(api_url: str | None = None) -> list[str]:
    """Create madoguchi's automations that the server lacks; the names created."""
    created = []
    with _api(api_url) as client:
        for automation in (zombie_automation(),):
            if not client.read_automations_by_name(automation.name):
                client.create_automation(automation)
                created.append(automation.name)
    return created
