"""The Prefect automations madoguchi relies on, made on the server by `up` (idempotent).

Zombie runs: a run whose process died (the worker killed, the machine lost) stops sending
heartbeats but stays Running for ever on Prefect's books. Prefect's documented answer for
self-hosted servers ("detect zombie flows") is a proactive automation: after a heartbeat,
expect another one (or the run to end or wait) within a bound, else mark it Crashed. The
recovery sweep (deployments/recovery.py) then starts the open case's flow again. Flow runs
send heartbeats every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (`up` sets it for workers).
A run a worker claimed and never started (the worker died in between) sends no heartbeat at
all: a second automation crashes a run left Pending."""

from __future__ import annotations

from datetime import timedelta

from deployments.local import _api

ZOMBIES = "madoguchi: crash zombie flow runs"
HEARTBEAT_SECONDS = 30  # Prefect's minimum: a lost run is noticed within about three of them
ZOMBIE_AFTER_SECONDS = 90


ENDED_OR_WAITING = {
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Cancelled",
    "prefect.flow-run.Crashed",
    "prefect.flow-run.Suspended",
    "prefect.flow-run.Paused",
}
STRANDED = "madoguchi: crash flow runs a worker claimed and never started"
STRANDED_AFTER_SECONDS = 180  # a claimed run normally starts within seconds (p90 15 s under a burst)


def _crash_unless(
    name: str, description: str, *, after: set[str], expect: set[str], within_seconds: int, message: str
):
    """A proactive automation: after an event of ``after`` for a flow run, one of ``expect``
    must follow within the bound, else the run is marked Crashed (and recovered).

    The ``after`` events are expected too. Prefect keeps one window per run and an ``after``
    event inside an open window does not open a new one, unless it is also expected (then
    it restarts the window, as heartbeats do). Without that, a run that went Pending →
    Running → Suspended → Pending within the bound (a quick resume) was never watched
    again: its worker killed then, it stayed Pending for ever (fault campaign, 5 of 50)."""
    from prefect.automations import AutomationCore
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return AutomationCore(
        name=name,
        description=description,
        trigger=EventTrigger(
            after=after,
            expect=expect | after,
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=within_seconds),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message=message)],
    )


def zombie_automation(within_seconds: int = ZOMBIE_AFTER_SECONDS):
    """From Running on, not only from the first heartbeat: a worker killed a second after
    starting a run (before its first heartbeat reached the server) left the run Running for
    ever (the fault campaign, 1 of 50)."""
    return _crash_unless(
        ZOMBIES,
        "A run that stops sending heartbeats without ending or waiting is marked Crashed; "
        "madoguchi's recovery then starts its case again.",
        after={"prefect.flow-run.Running", "prefect.flow-run.heartbeat"},
        expect={"prefect.flow-run.heartbeat", *ENDED_OR_WAITING},
        within_seconds=within_seconds,
        message=f"No heartbeat for {within_seconds} s: its process died",
    )


def stranded_automation(within_seconds: int = STRANDED_AFTER_SECONDS):
    """A worker that dies between claiming a run (Pending) and starting it leaves the run
    Pending for ever: no process of it exists to send a heartbeat (measured: kill -9 of the
    worker during a burst left 3 of 50 requests so)."""
    return _crash_unless(
        STRANDED,
        "A run claimed by a worker (Pending) that does not start running is marked Crashed; "
        "madoguchi's recovery then starts its case again.",
        after={"prefect.flow-run.Pending"},
        expect={"prefect.flow-run.Running", *ENDED_OR_WAITING},
        within_seconds=within_seconds,
        message=f"Claimed by a worker but not started within {within_seconds} s: the worker died",
    )


def ensure_automations(api_url: str | None = None) -> list[str]:
    """Create madoguchi's automations that the server lacks, and bring those it has up to
    date (a server kept from an older version); the names created."""
    created = []
    with _api(api_url) as client:
        for automation in (zombie_automation(), stranded_automation()):
            existing = client.read_automations_by_name(automation.name)
            for old in existing:
                client.update_automation(old.id, automation)
            if not existing:
                client.create_automation(automation)
                created.append(automation.name)
    return created
