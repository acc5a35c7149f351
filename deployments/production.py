"""`madoguchi up --production`: the same stack on production parts.

The app database, the demo systems and the Prefect server on PostgreSQL; Prefect's event
messaging on Redis (the `prefect-redis` integration: task-run history and events survive a
server restart, which the in-memory broker loses). Where no URL is given
(MADOGUCHI_DATABASE_URL, MADOGUCHI_PREFECT_DATABASE_URL, MADOGUCHI_REDIS_URL), `up` runs them
itself from the machine's Debian packages (`postgresql`, `redis-server`), with their data in
the data folder, and supervises them like its other children.

The settings are handed on as MADOGUCHI_* and PREFECT_* variables of this process, so the
migration, the seeding and every child `up` starts see the same databases."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from deployments.local import Managed, _spawn

REDIS_SETTINGS = ("PREFECT_MESSAGING_BROKER", "PREFECT_MESSAGING_CACHE")
SYSTEM_KEYS = (
    "customers",
    "orders",
    "billing",
    "marketing",
    "points",
    "support",
    "analytics",
    "delivery_contractor",
)


def pg_bin() -> Path:
    """The directory of the machine's PostgreSQL server binaries."""
    found = shutil.which("postgres") or shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install postgresql, or give "
            "MADOGUCHI_DATABASE_URL and MADOGUCHI_PREFECT_DATABASE_URL"
        )
    return Path(candidates[-1]).parent


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _reachable_by_postgres(folder: Path) -> None:
    """As root, the `postgres` user must be able to walk down to its cluster: folders above it
    that others cannot enter (e.g. a mkdtemp folder, 0700) get o+x, nothing more."""
    for parent in folder.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _user() -> str:
    return "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")


def start_postgres(folder: Path, port: int, logs: Path) -> tuple[Managed, str]:
    """A cluster in ``folder`` (made on first run), listening on 127.0.0.1:port; its URL
    without a database."""
    data, sock = folder / "data", folder / "sock"
    if not (data / "PG_VERSION").exists():
        sock.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _reachable_by_postgres(folder)
            for path in (folder, sock):
                shutil.chown(path, "postgres")
        done = subprocess.run(
            _as_postgres(
                [
                    str(pg_bin() / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    _user(),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
    argv = _as_postgres(
        [
            str(pg_bin() / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sock),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=300",
        ]
    )
    proc = _spawn("postgresql", argv, env=dict(os.environ), cwd=folder, log_path=logs / "postgresql.log")
    url = f"postgresql+psycopg://{_user()}@127.0.0.1:{port}"
    _wait_for_postgres(url, proc)
    return proc, url


def _wait_for_postgres(url: str, proc: Managed, timeout: float = 60) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(_plain(url) + "/postgres", connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start:\n{proc.log_tail()}") from None
            time.sleep(0.3)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgresql+asyncpg://", "postgresql://"
    )


def ensure_databases(server_url: str, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(_plain(server_url) + "/postgres", autocommit=True) as conn:
        present = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in names:
            if name not in present:
                conn.execute(f'CREATE DATABASE "{name}"')


def start_redis(folder: Path, port: int, logs: Path) -> tuple[Managed, str]:
    """redis-server on 127.0.0.1:port, appending to a file in ``folder``."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError(
            "redis-server is not installed: apt-get install redis-server, or give MADOGUCHI_REDIS_URL"
        )
    folder.mkdir(parents=True, exist_ok=True)
    argv = [
        server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(folder),
        "--appendonly",
        "yes",
        "--save",
        "",
    ]
    proc = _spawn("redis", argv, env=dict(os.environ), cwd=folder, log_path=logs / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 30
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            return proc, url
        except redis.exceptions.ConnectionError:
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{proc.log_tail()}") from None
            time.sleep(0.2)


def redis_environment(url: str) -> dict[str, str]:
    """Prefect's messaging and its cache on Redis (read by the Prefect server)."""
    parsed = urlparse(url)
    return {
        **dict.fromkeys(REDIS_SETTINGS, "prefect_redis.messaging"),
        "PREFECT_REDIS_MESSAGING_HOST": parsed.hostname or "127.0.0.1",
        "PREFECT_REDIS_MESSAGING_PORT": str(parsed.port or 6379),
        "PREFECT_REDIS_MESSAGING_DB": (parsed.path or "/0").strip("/") or "0",
    }


def start_infrastructure(settings, say=print) -> list[tuple[Managed, Callable[[], Managed]]]:
    """PostgreSQL and Redis where no URL is given; their settings into this process's
    environment. Returns what was started, each with the way to start it again (`up`
    supervises them and stops them last, after the stack)."""
    data = Path(settings.data_dir).resolve()
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started: list[tuple[Managed, Callable[[], Managed]]] = []
    try:
        if not (settings.database_url and settings.prefect_database_url):
            say(f"starting PostgreSQL on port {settings.postgres_port} (data in {data / 'postgres'})…")

            def again_postgres() -> Managed:
                return start_postgres(data / "postgres", settings.postgres_port, logs)[0]

            proc, server = start_postgres(data / "postgres", settings.postgres_port, logs)
            started.append((proc, again_postgres))
            ensure_databases(server, ["madoguchi", "prefect", *(f"system_{key}" for key in SYSTEM_KEYS)])
            os.environ.setdefault("MADOGUCHI_DATABASE_URL", f"{server}/madoguchi")
            os.environ.setdefault("MADOGUCHI_SYSTEMS_DATABASE_URL", f"{server}/system_{{system}}")
            os.environ.setdefault(
                "MADOGUCHI_PREFECT_DATABASE_URL", f"{server.replace('+psycopg', '+asyncpg')}/prefect"
            )
        redis_url = settings.redis_url
        if not redis_url:
            say(f"starting Redis on port {settings.redis_port}…")

            def again_redis() -> Managed:
                return start_redis(data / "redis", settings.redis_port, logs)[0]

            proc, redis_url = start_redis(data / "redis", settings.redis_port, logs)
            started.append((proc, again_redis))
        os.environ.update(redis_environment(redis_url))
    except BaseException:
        from deployments.local import stop_process

        for proc, _ in reversed(started):
            stop_process(proc, timeout=10)
        raise
    return started
