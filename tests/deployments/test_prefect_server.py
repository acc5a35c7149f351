"""The Prefect server `up` starts: on SQLite, a transaction that reads and then writes while
another writer commits must wait its turn, not fail with "database is locked" (which the API
turns into a 503 and the client into seconds of backoff: a resume took 8 s under a burst)."""

import subprocess
import sys
import textwrap

RACE = textwrap.dedent("""
    import asyncio, os, sys
    from sqlalchemy import text
    if sys.argv[1] == "patched":
        from deployments.prefect_server import take_write_lock_up_front
        take_write_lock_up_front()
    from prefect.server.database import provide_database_interface

    async def read_then_write(db, n):
        async with db.session_context(begin_transaction=True) as session:
            await session.execute(text("SELECT count(*) FROM t"))
            await asyncio.sleep(0.2)  # another transaction writes and commits meanwhile
            await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})

    async def main():
        db = provide_database_interface()
        async with db.session_context(begin_transaction=True) as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
        outcomes = await asyncio.gather(*(read_then_write(db, n) for n in range(4)), return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, Exception)]
        async with db.session_context() as session:
            rows = (await session.execute(text("SELECT count(*) FROM t"))).scalar()
        print(len(failed), rows, *{type(f).__name__ + ": " + str(f).splitlines()[0] for f in failed})

    asyncio.run(main())
""")


def race(tmp_path, mode):
    env = {
        "PREFECT_HOME": str(tmp_path / mode),
        "PATH": "/usr/bin:/bin",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / mode}.db",
    }
    done = subprocess.run(
        [sys.executable, "-c", RACE, mode], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_prefects_own_deferred_transactions_fail_when_a_write_lands_between_read_and_write(tmp_path):
    failed, rows, *errors = race(tmp_path, "stock").split(" ", 2)
    assert int(failed) > 0 and int(rows) == 4 - int(failed)
    assert "database is locked" in " ".join(errors)


def test_up_s_server_queues_the_writers_and_every_one_lands(tmp_path):
    assert race(tmp_path, "patched") == "0 4"
