"""`madoguchi up`: the whole system on one machine, in the foreground.

A Prefect server (unless one answers already) on a loopback port, taking nothing without the
service credential, and in front of it the gate (web/gate.py), where people log in to the UI
and API with their own account; the work pool, the deployments, madoguchi's automations and its
workers (`deployments.local`, `deployments.worker`), which use the service credential; the SendGrid stub
(unless a real SendGrid key is configured) and the intake service; then, in this process,
the dispatcher loop, which gives every submitted request its flow run and restarts the case
runs that died (`deployments.recovery`), and a mail thread that delivers pending notices
(a slow SendGrid never holds up dispatch).

`up` supervises what it started: a child that exits is logged and started again (at most
``RESTARTS`` times within ``RESTART_WINDOW_SECONDS``; then `up` stops, since something is
wrong that a restart does not cure). Ctrl-C/SIGTERM stops everything."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from deployments.local import (
    PREFECT_FILE,
    PROJECT_DIR,
    QUIET,
    Managed,
    _spawn,
    deploy_all,
    ensure_work_pool,
    prefect_env,
    start_server,
    start_worker,
    stop_process,
    wait_until_ready,
)
from deployments.tls import share_tls_contexts
from models.settings import Settings

STUB_API_KEY = "SG.local-stub"  # the stub takes any bearer key; real keys come from the environment
RESTARTS, RESTART_WINDOW_SECONDS = 5, 300
SERVER_SILENT_SECONDS = 30  # a server process that is alive but has not answered this long is restarted
RECOVERY_INTERVAL_SECONDS = 5.0
RECOVERY_OVERLAP = timedelta(minutes=2)  # runs that ended since the last look, with a margin
LOST_WAKE_INTERVAL_SECONDS = 30.0  # the SLA monitor looks too, every 15 minutes
WORKER_ENV = {
    # heartbeats every 30 s (Prefect's minimum) drive the zombie automation (deployments/automations.py)
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
    # a server that answers 503 or 429 (busy, restarting) is tried again after 2, 4, 8… s
    "PREFECT_CLIENT_MAX_RETRIES": "8",
}


@dataclass
class Stack:
    """What `madoguchi up` runs: a Prefect server (None when one was already reachable), the
    work pool, the deployments, a worker, and the services (mail stub, intake)."""

    api_url: str  # the Prefect server, for madoguchi's own parts (service credential)
    data_dir: Path
    settings: Settings  # the app's settings as the children see them (stub, intake URL)
    server: Managed | None = None
    infra: list[Managed] = field(default_factory=list)  # production: PostgreSQL, Redis (stopped last)
    workers: list[Managed] = field(default_factory=list)
    services: list[Managed] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    stub_url: str | None = None
    intake_url: str | None = None
    gate_url: str | None = None  # where people reach the UI and API; None: Prefect's own address
    api_auth: str | None = None  # the service credential our server requires
    starters: dict[str, Callable[[], Managed]] = field(default_factory=dict)  # name → start it again
    restarts: list[float] = field(default_factory=list)  # when children were started again
    silent_since: float | None = None  # since when the server we started has not answered
    next_wake_look: float = 0.0  # when the dispatcher next looks for lost requester wakes

    @property
    def ui_url(self) -> str:
        return self.gate_url or self.api_url.rstrip("/").removesuffix("/api")

    def client(self):
        """Prefect's client settings for this process: our server, with the service credential,
        and one retry: dispatch, recovery and the wake sweep try again on their next round within
        seconds, while the client's own backoff (2, 4, 8… s) against a server that died would
        keep `up` from noticing it and starting it again."""
        from prefect.settings import (
            PREFECT_API_AUTH_STRING,
            PREFECT_API_URL,
            PREFECT_CLIENT_MAX_RETRIES,
            temporary_settings,
        )

        updates = {PREFECT_API_URL: self.api_url, PREFECT_CLIENT_MAX_RETRIES: 1}
        if self.api_auth:
            updates[PREFECT_API_AUTH_STRING] = self.api_auth
        return temporary_settings(updates)

    def processes(self) -> list[Managed]:
        return [
            p
            for p in (*reversed(self.services), *self.workers, self.server, *reversed(self.infra))
            if p is not None
        ]

    def dead(self) -> Managed | None:
        """A process that has exited although nobody stopped it, or the server we started
        when it has not answered for SERVER_SILENT_SECONDS (its serving process gone)."""
        exited = next((p for p in self.processes() if not p.alive()), None)
        if exited is not None or self.server is None:
            return exited
        if reachable(f"{self.api_url}/health", timeout=2):
            self.silent_since = None
        elif self.silent_since is None:
            self.silent_since = time.monotonic()
        elif time.monotonic() - self.silent_since > SERVER_SILENT_SECONDS:
            self.silent_since = None
            return self.server
        return None

    def restart(self, dead: Managed) -> Managed:
        """Start a child that exited again, in its place; RuntimeError when children keep
        dying (more than RESTARTS in RESTART_WINDOW_SECONDS) or it cannot be started."""
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW_SECONDS] + [now]
        if len(self.restarts) > RESTARTS or dead.name not in self.starters:
            raise RuntimeError(f"{dead.name} exited ({dead.popen.returncode}) and children keep dying")
        stop_process(dead, timeout=5)  # its log closed, whatever it left behind ended
        new = self.starters[dead.name]()
        if dead is self.server:
            self.server = new
        for group in (self.workers, self.services, self.infra):
            if dead in group:
                group[group.index(dead)] = new
        return new

    def stop(self) -> None:
        """Front to back: intake, the stub, the worker (and its flow runs), then the server."""
        for proc in self.processes():
            stop_process(proc, timeout=15)


def reachable(url: str, timeout: float = 2.0) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(url: str, proc: Managed, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.log_tail()}")
        if reachable(url, timeout=1):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{proc.name} not answering at {url} after {timeout} s:\n{proc.log_tail()}")


def app_settings(settings: Settings, *, stub_url: str | None, webhook_key: str | None) -> Settings:
    """The settings every part of the stack shares: mail through the stub when it runs, links
    in mail pointing at this intake service."""
    update: dict[str, Any] = {"data_dir": Path(settings.data_dir).resolve()}
    if "MADOGUCHI_MAIL_PUBLIC_BASE_URL" not in os.environ:
        update["mail_public_base_url"] = f"http://127.0.0.1:{settings.intake_port}"
    if stub_url:
        update.update(
            sendgrid_host=stub_url,
            sendgrid_api_key=SecretStr(STUB_API_KEY),
            sendgrid_webhook_public_key=webhook_key,
        )
    return settings.model_copy(update=update)


def app_environment(settings: Settings) -> dict[str, str]:
    """`app_settings` as MADOGUCHI_* variables for the children (the worker's flow runs move
    into the project folder, hence the absolute data folder)."""
    env = {
        "MADOGUCHI_DATA_DIR": str(settings.data_dir),
        "MADOGUCHI_MAIL_PUBLIC_BASE_URL": settings.mail_public_base_url,
    }
    if settings.sendgrid_api_key is not None:
        env.update(
            MADOGUCHI_SENDGRID_HOST=settings.sendgrid_host,
            MADOGUCHI_SENDGRID_API_KEY=settings.sendgrid_api_key.get_secret_value(),
        )
    if settings.sendgrid_webhook_public_key:
        env["MADOGUCHI_SENDGRID_WEBHOOK_PUBLIC_KEY"] = settings.sendgrid_webhook_public_key
    return env


def start_stub(settings, logs: Path) -> tuple[Managed, str, str]:
    """The SendGrid-compatible stub; its signed event webhook posts to the intake service."""
    import httpx

    url = f"http://127.0.0.1:{settings.mail_stub_port}"
    argv = [
        sys.executable,
        "-m",
        "demo.stub",
        "--port",
        str(settings.mail_stub_port),
        "--webhook-url",
        f"http://127.0.0.1:{settings.intake_port}/webhooks/sendgrid",
    ]
    proc = _spawn(
        "mail-stub", argv, env={**os.environ, **QUIET}, cwd=PROJECT_DIR, log_path=logs / "mail-stub.log"
    )
    wait_for(f"{url}/messages", proc)
    return proc, url, httpx.get(f"{url}/_public_key", timeout=5).json()["public_key"]


def start_gate(settings, env: dict[str, str], logs: Path) -> Managed:
    """The gate on the people's port, in front of the server on the internal one."""
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "web.gate:gate_from_settings",
        "--host",
        settings.prefect_host,
        "--port",
        str(settings.prefect_port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = _spawn(
        "gate", argv, env={**os.environ, **QUIET, **env}, cwd=PROJECT_DIR, log_path=logs / "gate.log"
    )
    wait_for(f"{settings.prefect_ui_url}/api/health", proc)
    return proc


def start_intake(settings, api_url: str, env: dict[str, str], logs: Path) -> tuple[Managed, str]:
    url = f"http://127.0.0.1:{settings.intake_port}"
    proc = _spawn(
        "intake",
        [sys.executable, "-m", "web", "--port", str(settings.intake_port)],
        env=prefect_env(api_url, extra=env),
        cwd=PROJECT_DIR,
        log_path=logs / "intake.log",
    )
    wait_for(f"{url}/healthz", proc)
    return proc, url


def server_environment(settings) -> dict[str, str]:
    """The service credential the server requires; its own database, when one is configured
    (else SQLite in its home), with the connection pool `database_pool_size` asks for."""
    env = {"PREFECT_SERVER_API_AUTH_STRING": settings.service_auth()}
    if url := settings.prefect_database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = url.get_secret_value()
        for name in ("POOL_SIZE", "MAX_OVERFLOW"):  # Prefect's own variables win where they are set
            variable = f"PREFECT_SERVER_DATABASE_SQLALCHEMY_{name}"
            env[variable] = os.environ.get(variable, str(settings.database_pool_size))
    return env


def start_stack(settings, *, api_url: str | None = None, say=print, infra=()) -> Stack:
    """Everything, or nothing: on any failure whatever was started is stopped again. ``infra``:
    processes already started for it, with the way to start each again (production mode)."""
    from deployments.automations import ensure_automations

    data_dir = Path(settings.data_dir).resolve()
    home, logs = data_dir / "prefect", data_dir / "logs"
    home.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    explicit = api_url or os.environ.get("PREFECT_API_URL")
    stack = Stack(api_url=explicit or settings.prefect_api_url, data_dir=data_dir, settings=settings)
    for proc, again in infra:
        stack.infra.append(proc)
        stack.starters[proc.name] = again
    started = time.monotonic()
    try:
        stub_url = key = None
        if settings.sendgrid_api_key is None and settings.sendgrid_api_key_block is None:
            say(f"starting the SendGrid stub on port {settings.mail_stub_port}…")
            stub, stub_url, key = start_stub(settings, logs)
            stack.services.append(stub)
            stack.starters[stub.name] = lambda: start_stub(settings, logs)[0]
        stack.stub_url = stub_url
        stack.settings = app_settings(settings, stub_url=stub_url, webhook_key=key)
        env = app_environment(stack.settings)
        if not explicit:  # our server: every part of ours sends the service credential
            stack.api_auth = settings.service_auth()
            env.update(PREFECT_API_AUTH_STRING=stack.api_auth, PREFECT_UI_URL=settings.prefect_ui_url)
        if reachable(f"{stack.api_url}/health"):
            say(f"using the Prefect server already running at {stack.api_url}")
        elif explicit:
            raise RuntimeError(
                f"PREFECT_API_URL={explicit} does not answer; start it, or unset "
                "PREFECT_API_URL and `up` starts a server of its own"
            )
        else:
            where = "PostgreSQL" if settings.prefect_database_url else f"SQLite in {home}"
            say(f"starting the Prefect server on port {settings.prefect_internal_port} ({where})…")

            def server() -> Managed:
                proc = start_server(
                    home,
                    port=settings.prefect_internal_port,
                    ui=True,
                    log_path=logs / "prefect-server.log",
                    extra_env=server_environment(settings),
                )
                wait_until_ready(stack.api_url, timeout=120, proc=proc)
                return proc

            stack.server = server()
            stack.starters[stack.server.name] = server
        if not explicit:
            say(f"starting the login gate on port {settings.prefect_port}…")
            gate = start_gate(stack.settings, env, logs)
            stack.services.append(gate)
            stack.starters[gate.name] = lambda: start_gate(stack.settings, env, logs)
            stack.gate_url = settings.prefect_ui_url
        stack.timings["server"] = time.monotonic() - started
        with stack.client():
            ensure_work_pool(stack.api_url)
            say(f"registering the deployments of {PREFECT_FILE.name}…")
            deploy_all(stack.api_url, prefect_home=home, extra_env=env)
            ensure_automations(stack.api_url)
        stack.timings["deployments"] = time.monotonic() - started
        for n in range(1, settings.workers + 1):
            stack.workers.append(_worker(stack, n, home, {**env, **WORKER_ENV}, logs))
        say(f"starting the intake service on port {settings.intake_port}…")
        intake, stack.intake_url = start_intake(settings, stack.api_url, env, logs)
        stack.services.append(intake)
        stack.starters[intake.name] = lambda: start_intake(settings, stack.api_url, env, logs)[0]
        stack.timings["ready"] = time.monotonic() - started
    except BaseException:
        stack.stop()
        raise
    return stack


def _worker(stack: Stack, n: int, home: Path, env: dict[str, str], logs: Path) -> Managed:
    """Worker n (named, so its runs show which worker took them), restartable."""
    settings, name = stack.settings, f"madoguchi-worker-{n}"

    def start() -> Managed:
        return start_worker(
            stack.api_url,
            prefect_home=home,
            extra_env=env,
            log_path=logs / f"worker-{n}.log",
            name=name,
            limit=settings.worker_limit,
        )

    stack.starters[name] = start
    return start()


def _banner(stack: Stack, say) -> None:
    settings = stack.settings
    say("")
    say(f"madoguchi is up (ready in {stack.timings['ready']:.1f} s)")
    say(f"  request form    {stack.intake_url}/        (English: {stack.intake_url}/?lang=en)")
    say(f"  status page     {stack.intake_url}/status")
    say(f"  API             {stack.intake_url}/docs")
    say(f"  Prefect UI      {stack.ui_url}   (log in with your operator account)")
    say(f"  waiting runs    {stack.ui_url}/runs?state=Paused&state=Suspended")
    say(f"  work queue      {stack.ui_url}/artifacts/key/work-queue   (SLA monitor, every 15 min)")
    if stack.stub_url:
        say(f"  inbox (stub)    {stack.stub_url}/messages")
    else:
        say(f"  mail            SendGrid at {settings.sendgrid_host}")
    say(f"  data, logs      {stack.data_dir}, {stack.data_dir / 'logs'}")
    if stack.gate_url and not _has_accounts(settings):
        say(
            "No operator account yet: `madoguchi operator add NAME --role officer|operator|admin` "
            'makes one (README, "Operators and logging in").'
        )
    say("Try `madoguchi demo` in another terminal. Ctrl-C stops everything.")


def _has_accounts(settings) -> bool:
    from models.db import unit_of_work
    from services import accounts

    with unit_of_work(settings) as session:
        return bool(accounts.accounts(session))


def _round(stack: Stack, say, outage: bool) -> bool:
    """One dispatch round; True while Prefect is away."""
    from deployments import dispatch

    try:
        result = dispatch.dispatch_round(stack.settings, api_url=stack.api_url)
    except Exception as exc:  # noqa: BLE001 - e.g. the app database briefly locked
        result = dispatch.Round(error=f"{type(exc).__name__}: {exc}")
    for reference in result.dispatched:
        say(f"dispatched {reference}")
    if result.error and not outage:
        say(f"dispatch paused: {result.error}; {len(result.pending)} request(s) stay pending")
    return bool(result.error)


def _recover(stack: Stack, say, since) -> None:
    """Restart the case runs that died since ``since`` (None: every open case, at start)."""
    from deployments import recovery

    try:
        if since is None:
            done = recovery.recover_all(stack.settings, ui_url=stack.ui_url)
        else:
            done = recovery.recover_recent(stack.settings, since=since, ui_url=stack.ui_url)
    except Exception as exc:  # noqa: BLE001 - Prefect away: the next round looks again
        say(f"recovery paused: {type(exc).__name__}")
        return
    if since is None or time.monotonic() >= stack.next_wake_look:  # a requester's wake the intake lost
        stack.next_wake_look = time.monotonic() + LOST_WAKE_INTERVAL_SECONDS
        _wake_lost(stack, say)
    for reference in done.restarted:
        say(f"restarting {reference}: its flow run died")
    for reference in done.escalated:
        say(f"escalated {reference}: its flow run keeps dying (work queue, privacy officer)")


def _wake_lost(stack: Stack, say) -> None:
    """Wake the runs still waiting for what their requester already did (the intake's wake
    gave up while Prefect was down or too busy)."""
    from flows.waits import lost_wakes, wake

    try:
        lost = lost_wakes(stack.settings)
    except Exception as exc:  # noqa: BLE001 - Prefect away: the next look tries again
        say(f"looking for lost wakes paused: {type(exc).__name__}")
        return
    for reference, run_id in lost:
        try:
            if wake(run_id):
                say(f"woke {reference}: its requester had acted, the wake was lost")
        except Exception as exc:  # noqa: BLE001 - the next look tries again
            say(f"could not wake {reference} yet: {type(exc).__name__}")


def _deliver_mail(stack: Stack, stop: threading.Event, say) -> None:
    """The mail thread: pending notices out every dispatch interval, apart from dispatch."""
    from mail.outbox import deliver_pending
    from mail.sendgrid_adapter import email_port

    port = email_port(stack.settings)
    while not stop.is_set():
        try:
            deliver_pending(stack.settings, port)
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            say(f"mail delivery paused: {type(exc).__name__}")
        stop.wait(stack.settings.dispatch_interval_seconds)


def _run_monitor_once(stack: Stack, say) -> None:
    """The SLA monitor once at start, so the work queue `up` prints a link to is there at once
    (its schedule runs it every 15 minutes after that)."""
    from prefect.deployments import run_deployment

    try:
        run_deployment(name="sla-monitor/sla-monitor", timeout=0, as_subflow=False)
    except Exception as exc:  # noqa: BLE001 - the schedule runs it in a quarter of an hour anyway
        say(f"the first SLA monitor run could not be started: {type(exc).__name__}")


def _supervise(stack: Stack, say) -> int:
    """Dispatch, recover and restart dead children until interrupted; 1 when a restart does
    not cure it."""
    from models.db import utcnow

    _run_monitor_once(stack, say)
    looked, next_look = utcnow(), 0.0
    _recover(stack, say, None)
    outage = False
    while True:
        outage = _round(stack, say, outage)
        if time.monotonic() >= next_look:
            now = utcnow()
            _recover(stack, say, looked - RECOVERY_OVERLAP)
            looked, next_look = now, time.monotonic() + RECOVERY_INTERVAL_SECONDS
        dead = stack.dead()
        if dead is not None:
            what = f"exited ({dead.popen.returncode})" if not dead.alive() else "stopped answering"
            say(f"{dead.name} {what}; starting it again. Its log:\n{dead.log_tail()}")
            try:
                stack.restart(dead)
            except Exception as exc:  # noqa: BLE001 - cannot be cured by restarting: stop
                say(f"stopping: {exc}")
                return 1
        time.sleep(stack.settings.dispatch_interval_seconds)


def run_up(settings, *, say=print, api_url: str | None = None, infra=()) -> int:
    """Start the stack, dispatch every few seconds until SIGINT/SIGTERM/SIGHUP, then stop
    everything. Returns the exit code."""

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    stack = None
    code = 0
    stop_mail = threading.Event()
    share_tls_contexts()  # the dispatcher, recovery and wake sweep create clients every round
    try:
        stack = start_stack(settings, api_url=api_url, say=say, infra=infra)
        _banner(stack, say)
        threading.Thread(target=_deliver_mail, args=(stack, stop_mail, say), name="mail", daemon=True).start()
        with stack.client():
            code = _supervise(stack, say)
    except KeyboardInterrupt:
        say("\nstopping…")
    finally:
        stop_mail.set()
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        try:
            if stack is not None:
                stack.stop()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    say("stopped: no madoguchi process is left running")
    return code
