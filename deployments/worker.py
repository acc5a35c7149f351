"""madoguchi's worker: flow runs executed inside one long-lived process.

Prefect's process worker starts every flow run, and every resumed run, in a fresh Python
interpreter: ~1–1.5 s of CPU importing Prefect and the project each time, which held
`madoguchi up` to ~7 requests/min under a burst (docs/prefect.md). This worker type runs
each flow run on a thread of its own process instead, with its own event loop: the flows are
imported once, a start or a resume costs only the engine's API calls, and a bounded pool of
threads (``--limit``) is the most the worker ever hands the Prefect server at once.

Everything else is Prefect's own `BaseWorker`: polling the work pool, Pending → Running,
worker heartbeats and the work pool's concurrency limits. A suspended run (a wait for a
person) ends its thread; resumed, the server schedules it again and it runs from the top on
whichever worker takes it.

When this process dies, the runs it was executing stop sending heartbeats; the zombie
automation (`deployments.automations`) marks them Crashed and the recovery sweep
(`services.recovery`) starts each open case's flow again."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
from prefect.client.schemas.objects import FlowRun
from prefect.flows import Flow
from prefect.workers.base import BaseJobConfiguration, BaseVariables, BaseWorker, BaseWorkerResult

from deployments.suspension import share_suspension_observer
from deployments.tls import share_tls_contexts

WORKER_TYPE = "madoguchi-threads"
DEFAULT_LIMIT = 8


class ThreadWorkerResult(BaseWorkerResult):
    """0 when the engine ran the flow to a state of its own; 1 when it could not."""


class ThreadJobConfiguration(BaseJobConfiguration):
    """No infrastructure to configure: the run executes in the worker's process."""

    def prepare_for_flow_run(
        self,
        flow_run: FlowRun,
        deployment=None,
        flow=None,
        work_pool=None,
        worker_name: str | None = None,
        worker_id=None,
    ) -> None:
        """What the worker's events and logs name (the run, its labels), without the
        environment and command a spawned process would get: Prefect's default serialises
        every setting into variables for each run, a sixth of this worker's CPU, for nothing."""
        self._related_objects = {"deployment": deployment, "flow": flow, "flow-run": flow_run}
        self.labels = {
            **self._base_flow_run_labels(flow_run),
            **self._base_work_pool_labels(work_pool),
            **self._base_worker_name_label(worker_name),
            **self._base_flow_labels(flow),
            **self._base_deployment_labels(deployment),
            **self.labels,
        }
        self.name = self.name or flow_run.name


class ThreadVariables(BaseVariables):
    """Nothing per deployment: the worker's environment is the runs' environment."""


def flow_from_entrypoint(entrypoint: str) -> Flow:
    """``flows/lifecycle.py:lifecycle`` → the flow object, imported as a package module (the
    same module objects the rest of the process uses, never a second copy from a path)."""
    path, _, name = entrypoint.partition(":")
    module = path.removesuffix(".py").replace("/", ".").replace(os.sep, ".")
    return getattr(importlib.import_module(module), name)


class ThreadWorker(BaseWorker[ThreadJobConfiguration, ThreadVariables, ThreadWorkerResult]):
    type = WORKER_TYPE
    job_configuration = ThreadJobConfiguration
    job_configuration_variables = ThreadVariables
    _description = "Executes madoguchi's flow runs on threads of one long-lived process."
    _display_name = "madoguchi threads"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._flows: dict[str, Flow] = {}
        self._threads = ThreadPoolExecutor(
            max_workers=self._limit or DEFAULT_LIMIT, thread_name_prefix="flow-run"
        )

    async def _flow_for(self, flow_run: FlowRun) -> Flow:
        key = str(flow_run.deployment_id)
        if key not in self._flows:
            if flow_run.deployment_id is None:
                raise ValueError(f"flow run {flow_run.id} has no deployment: a worker runs deployments' runs")
            deployment = await self.client.read_deployment(flow_run.deployment_id)
            if deployment.entrypoint is None:
                raise ValueError(f"deployment {deployment.name} has no entrypoint")
            self._flows[key] = flow_from_entrypoint(deployment.entrypoint)
        return self._flows[key]

    async def run(  # type: ignore[override]  # Prefect types the readiness value int, then stores str() of it
        self,
        flow_run: FlowRun,
        configuration: ThreadJobConfiguration,
        task_status: anyio.abc.TaskStatus[str] | None = None,
    ) -> ThreadWorkerResult:
        flow = await self._flow_for(flow_run)
        if task_status is not None:
            task_status.started(f"{socket.gethostname()}:{os.getpid()}")
        loop = asyncio.get_running_loop()
        try:
            # run_in_executor copies no context: the run gets a clean Prefect context and a
            # client of its own, not the worker's (bound to this loop)
            await loop.run_in_executor(self._threads, _execute, flow, flow_run)
        except asyncio.CancelledError:
            raise
        except BaseException:
            # SystemExit ends only its run, never the worker): base proposes Crashed
            self._logger.exception("flow run %s could not be executed", flow_run.id)
            return ThreadWorkerResult(status_code=1, identifier=str(flow_run.id))
        return ThreadWorkerResult(status_code=0, identifier=str(flow_run.id))

    async def teardown(self, *exc_info: Any) -> None:
        await super().teardown(*exc_info)
        self._threads.shutdown(wait=False, cancel_futures=True)


def _execute(flow: Flow, flow_run: FlowRun) -> None:
    """On a pool thread: the engine runs the flow to a final or a suspended state. A failing
    flow is a Failed state, not an exception; an exception here means the engine itself could
    not run it. A suspension (a wait for a person) ends the run's execution with Prefect's
    Pause signal, after the Suspended state is recorded; Abort means the server refused the
    run (e.g. already taken by another worker)."""
    from prefect.exceptions import Abort, Pause
    from prefect.flow_engine import run_flow

    try:
        outcome = run_flow(flow, flow_run=flow_run, return_type="state")
        if asyncio.iscoroutine(outcome):
            asyncio.run(outcome)
    except (Pause, Abort):
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deployments.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--pool", default="madoguchi")
    parser.add_argument("--name", default=None)
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="flow runs at once")
    args = parser.parse_args(argv)

    share_tls_contexts()
    share_suspension_observer()
    worker = ThreadWorker(
        work_pool_name=args.pool, name=args.name, limit=args.limit, create_pool_if_not_found=False
    )
    asyncio.run(worker.start())


if __name__ == "__main__":
    main()
