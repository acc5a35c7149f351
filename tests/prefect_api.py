"""Point this process's Prefect client at a server for a block, and leave nothing queued for it.

Prefect's log and event services keep one instance per API address and drain it at interpreter
exit. Items queued for a server a test has already stopped would be retried at exit for ever,
so each block drains them while its server still answers."""

import contextlib
from typing import Any


def drain_services(timeout: float = 30) -> dict[str, int]:
    """Send what the log and event services still hold, then stop them. Returns what is still
    queued, by service (empty when everything went)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    left: dict[str, int] = {}
    for service in (APILogWorker, EventsWorker):
        with service._instance_cache_lock:
            instances = tuple(service._instances.values())
        _, pending = service.drain_all(timeout=timeout, at_exit=False)
        if pending:
            left[service.__name__] = sum(i._queue.qsize() for i in instances)
    return left


@contextlib.contextmanager
def prefect_at(api_url: str, more: dict[Any, Any] | None = None):
    """``temporary_settings`` with PREFECT_API_URL (and ``more`` settings), drained on the way
    out."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url, **(more or {})}):
        try:
            yield
        finally:
            drain_services()
