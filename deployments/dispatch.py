"""The dispatcher, Prefect side: a lifecycle flow run for every request pending dispatch
(and an inquiry or provision-review run for every open inquiry and provision review).

Creating a run from the deployment with ``idempotency_key=reference`` makes creation idempotent on the server:
the same key twice returns the same run. So whatever crashes in between — after the run is
created but before its id is stored, or a dispatcher running twice — a request gets exactly
one flow run. When the Prefect API cannot be reached the requests stay pending (they are
committed in the app database) and the next round tries again; nothing is raised out of the
loop."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from models.db import unit_of_work, utcnow
from models.settings import Settings, get_settings
from services import dispatch as service

DEPLOYMENT = "request-lifecycle/request-lifecycle"
# inquiries, provision reviews, leak incidents and policy revisions get theirs the same way (services.dispatch.TICKETS)
TICKET_DEPLOYMENTS = {
    "inquiry": "inquiry/inquiry",
    "provision": "provision-review/provision-review",
    "incident": "incident-response/incident-response",
    "policy": "policy-revision/policy-revision",
}
INTERVAL_SECONDS = 2.0

log = logging.getLogger("madoguchi.dispatch")


@dataclass
class Round:
    """What one dispatch round did."""

    dispatched: list[str] = field(default_factory=list)  # references given their run now
    pending: list[str] = field(default_factory=list)  # left pending (API unreachable or failing)
    error: str | None = None  # why they were left pending


def api_reachable(api_url: str | None, timeout: float = 2.0) -> bool:
    """GET /health answers 200 (a fast check before the client's retries)."""
    import httpx

    if not api_url:
        return False
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def current_api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def create_runs(todo: list[tuple[str, str]], parallel: int = 1) -> dict[str, str | Exception]:
    """``reference → run id`` (or the error that stopped it) for ``(reference, deployment)``
    pairs: one client and one deployment lookup per round, a few creations at a time, each
    with the reference as idempotency key (as ``run_deployment`` would, without its
    per-call client and lookups, which held dispatch to about two runs a second). After the
    first failure the round stops: the client's retries against a server that died would
    otherwise hold the round for a minute per request."""
    from concurrent.futures import ThreadPoolExecutor

    from prefect.client.orchestration import get_client

    failed: list[Exception] = []  # the server went away during the round: the rest wait for the next

    with get_client(sync_client=True) as client:
        deployment_ids = {name: client.read_deployment_by_name(name).id for name in {d for _, d in todo}}

        def create(item: tuple[str, str]) -> str | Exception:
            reference, deployment = item
            if failed:
                return failed[0]
            try:
                run = client.create_flow_run_from_deployment(
                    deployment_ids[deployment], parameters={"reference": reference}, idempotency_key=reference
                )
                return str(run.id)
            except Exception as exc:  # noqa: BLE001 - reported per reference; it stays pending
                failed.append(exc)
                return exc

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            return dict(zip((ref for ref, _ in todo), pool.map(create, todo), strict=True))


def dispatch_round(settings: Settings | None = None, *, api_url: str | None = None) -> Round:
    """One round: every pending request, oldest first. api_url defaults to Prefect's setting."""
    settings = settings or get_settings()
    with unit_of_work(settings) as session:
        todo = [("request", ref) for ref in service.pending(session)] + service.pending_tickets(session)
    done = Round()
    if not todo:
        return done
    if api_url is not None:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api_url}):
            return _dispatch(settings, todo, api_url, done)
    return _dispatch(settings, todo, current_api_url(), done)


def _dispatch(settings: Settings, todo: list[tuple[str, str]], api_url: str | None, done: Round) -> Round:
    if not api_reachable(api_url):
        done.pending, done.error = [ref for _, ref in todo], f"Prefect API unreachable at {api_url}"
        log.warning("%s: %d request(s) left pending", done.error, len(todo))
        return done
    try:
        created = create_runs([(ref, TICKET_DEPLOYMENTS.get(kind, DEPLOYMENT)) for kind, ref in todo])
    except Exception as exc:  # noqa: BLE001 - e.g. a deployment not registered yet: all stay pending
        created = {ref: exc for _, ref in todo}
    for kind, reference in todo:
        run_id = created[reference]
        if isinstance(run_id, Exception):
            done.pending.append(reference)
            done.error = done.error or f"{type(run_id).__name__}: {run_id}"
            continue
        with unit_of_work(settings) as session:  # one short transaction each: intake writes too
            if kind == "request":
                service.mark_dispatched(session, settings, reference, run_id, now=utcnow())
            else:
                service.mark_ticket_dispatched(session, settings, kind, reference, run_id, now=utcnow())
        done.dispatched.append(reference)
    if done.error:
        log.warning("dispatch failed (%s): %d request(s) left pending", done.error, len(done.pending))
    return done


def dispatch_pending(settings: Settings | None = None, *, api_url: str | None = None) -> list[str]:
    """Create the lifecycle run of every request pending dispatch and store its id; returns
    the references dispatched. Never raises for an unreachable API: those stay pending."""
    return dispatch_round(settings, api_url=api_url).dispatched


def loop(
    stop: threading.Event,
    settings: Settings | None = None,
    *,
    api_url: str | None = None,
    interval: float = INTERVAL_SECONDS,
    report=None,
) -> None:
    """Dispatch every interval seconds until stop is set; report(round) after each round
    that did or failed something."""
    while not stop.is_set():
        try:
            result = dispatch_round(settings, api_url=api_url)
        except Exception as exc:  # noqa: BLE001 - e.g. the app database briefly locked
            result = Round(error=f"{type(exc).__name__}: {exc}")
            log.warning("dispatch round failed: %s", result.error)
        if report is not None and (result.dispatched or result.error):
            report(result)
        stop.wait(interval)
