"""`prefect server start`, with SQLite's write transactions taking the write lock up front.

Prefect opens the transactions of most writing endpoints (creating a run, resuming one,
recording a worker) as SQLite's DEFERRED: they read first and take the write lock at their
first write. If another connection committed in between, that upgrade fails at once with
"database is locked" (SQLITE_BUSY_SNAPSHOT; the 60 s busy timeout does not apply to it), the
API answers 503, and the client waits 2, 4, 8 s and tries again. Under a burst on `up`'s
default set-up that was where requests waited (docs/prefect.md): a resume took 8 s.

Here every transaction Prefect opens on SQLite begins IMMEDIATE, so writers queue on the
busy timeout instead of failing; reads outside transactions stay concurrent (WAL). On
PostgreSQL nothing changes.

    python -m deployments.prefect_server [prefect server start options]"""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager


def take_write_lock_up_front() -> None:
    """Every `begin_transaction` on SQLite becomes BEGIN IMMEDIATE."""
    from prefect.server.database import configurations

    @asynccontextmanager
    async def begin_transaction(self, session, with_for_update: bool = False):
        token = configurations.SQLITE_BEGIN_MODE.set("IMMEDIATE")
        try:
            async with session.begin() as transaction:
                yield transaction
        finally:
            configurations.SQLITE_BEGIN_MODE.reset(token)

    # the patch itself: Prefect makes this configuration, so its class is changed in place
    configurations.AioSqliteConfiguration.begin_transaction = begin_transaction  # type: ignore[method-assign]


def main() -> None:
    from prefect.cli import app

    take_write_lock_up_front()
    sys.argv[1:1] = ["server", "start"]
    app()


if __name__ == "__main__":
    main()
