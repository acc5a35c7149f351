"""One watch for outside suspension for every flow run the worker executes.

Prefect's engine watches each deployment flow run for a suspension set from outside (the API
or another process) with its own thread, event loop, API client and events subscription
(``prefect._flow_run_suspension.observe_flow_run_suspension``), each polling every 0.2 s and
every subscription receiving every ``Suspended`` event. With many runs in one long-lived worker
that was 17 % of the worker's CPU (py-spy, bench/README.md). Prefect's own observer already
watches many flow runs at once; here one of it serves every run in the process, on one
background loop, with the same outcome: an outside suspension reaches the run's request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Generator
from contextlib import contextmanager
from uuid import UUID

from prefect._flow_run_suspension import FlowRunSuspensionRequest, mark_flow_run_suspension_requested
from prefect._internal.observers import FlowRunSuspendingObserver
from prefect.client.schemas.objects import State
from prefect.logging.loggers import get_logger

logger = get_logger("madoguchi.suspension")


class SharedSuspensionObserver:
    """Started on first use, on its own loop; flow runs come and go while it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._observer: FlowRunSuspendingObserver | None = None

    def _started(self) -> tuple[asyncio.AbstractEventLoop, FlowRunSuspendingObserver]:
        with self._lock:
            if self._loop is None or self._observer is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="suspension-observer", daemon=True).start()
                observer = FlowRunSuspendingObserver(on_suspended=_mark_suspended)
                asyncio.run_coroutine_threadsafe(observer.__aenter__(), loop).result()
                self._loop, self._observer = loop, observer
            return self._loop, self._observer

    @contextmanager
    def observe(
        self, flow_run_id: UUID, suspension_request: FlowRunSuspensionRequest, polling_interval: float = 10
    ) -> Generator[None, None, None]:
        """In place of Prefect's per-run observer (same signature). The engine has registered
        ``suspension_request`` under the run's id just before, which is how it is found."""
        try:
            loop, observer = self._started()
            asyncio.run_coroutine_threadsafe(observer.watch_flow_run_id(flow_run_id), loop).result()
        except Exception:  # like Prefect's: the run goes on, unwatched
            logger.warning(
                "flow run %s runs without a watch for outside suspension", flow_run_id, exc_info=True
            )
            yield
            return
        try:
            yield
        finally:
            loop.call_soon_threadsafe(observer.remove_in_flight_flow_run_id, flow_run_id)


def _mark_suspended(flow_run_id: UUID, state: State) -> None:
    mark_flow_run_suspension_requested(flow_run_id, state)


def share_suspension_observer() -> SharedSuspensionObserver:
    """Call once in the worker process, before it runs flows."""
    import prefect.flow_engine as engine

    shared = SharedSuspensionObserver()
    engine.observe_flow_run_suspension = shared.observe
    return shared
