"""The run lock: one run at a time per database, on SQLite and PostgreSQL, released however its holder ends."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from etl.database import create_engine_for
from etl.errors import RunLocked, RunLockLost
from etl.run_ledger import start_run
from etl.runlock import ADVISORY_LOCK_KEY, run_lock

HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from etl.database import create_engine_for
    from etl.runlock import run_lock
    with run_lock(create_engine_for(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(600)
    """
)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_runlock_second_run_is_refused_naming_the_run_that_holds_it(engine: Engine) -> None:
    with run_lock(engine):
        run_id = start_run(engine, "nightly", {})
        expected = rf"^another newsetl run \(run {run_id}, started \d\d:\d\d UTC\) holds the lock on this database"
        with pytest.raises(RunLocked, match=expected), run_lock(engine):
            pytest.fail("the lock was taken twice")


def test_runlock_is_released_when_the_block_ends_or_raises(engine: Engine) -> None:
    with run_lock(engine):
        pass
    with pytest.raises(ValueError), run_lock(engine):
        raise ValueError("the run failed")
    with run_lock(engine):
        pass


def test_runlock_holder_without_a_schema_yet_is_still_named(db_url: str) -> None:
    bare = create_engine_for(db_url)
    refused = pytest.raises(RunLocked, match=r"^another newsetl run holds the lock on this database")
    with run_lock(bare), refused, run_lock(bare):
        pytest.fail("the lock was taken twice")
    bare.dispose()


def test_runlock_held_by_another_process_is_released_by_kill_9(engine: Engine) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, _url(engine)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(RunLocked), run_lock(engine):
            pytest.fail("the lock was taken while another process holds it")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with run_lock(engine):  # no stale lock: the kernel (SQLite) or the server (PostgreSQL) dropped it
        pass


def _holder_pid(engine: Engine) -> int | None:
    """The server process of the session holding the run lock (None when it is free), read without taking it."""
    with psycopg.connect(_url(engine).replace("+psycopg", "")) as connection:
        row = connection.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = %(key)s >> 32 AND objid::bigint = %(key)s & 4294967295",
            {"key": ADVISORY_LOCK_KEY},
        ).fetchone()
    return None if row is None else row[0]


def _end_session(engine: Engine, pid: int) -> None:
    """End the lock's session as a server restart does (`pg_terminate_backend`); return when it is gone."""
    with psycopg.connect(_url(engine).replace("+psycopg", ""), autocommit=True) as connection:
        assert connection.execute("SELECT pg_terminate_backend(%s, 30000)", (pid,)).fetchone()[0]
    assert _holder_pid(engine) is None


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_runlock_lost_with_its_session_is_taken_again_before_the_next_write(engine: Engine) -> None:
    with run_lock(engine) as lock:
        first = _holder_pid(engine)
        lock.ensure_held()  # held: nothing to do
        assert _holder_pid(engine) == first
        _end_session(engine, first)
        lock.ensure_held()
        again = _holder_pid(engine)
        assert again is not None and again != first  # a new session holds it
        with pytest.raises(RunLocked), run_lock(engine):
            pytest.fail("the lock was taken twice")
    assert _holder_pid(engine) is None  # released at the end, from the new session


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_runlock_lost_with_its_session_and_taken_by_another_run_stops_this_one(engine: Engine) -> None:
    with run_lock(engine) as lock:
        lock.run_id = start_run(engine, "nightly", {})  # this run: never named as the one that took the lock
        _end_session(engine, _holder_pid(engine))
        with run_lock(engine):  # the second run, started while nobody held the lock
            run_id = start_run(engine, "nightly", {})
            expected = (
                r"^this run lost the run lock on this database \(its session ended: the server restarted or the "
                rf"connection was cut\), and another newsetl run \(run {run_id}, started \d\d:\d\d UTC\) took it; "
                "this run stopped and writes nothing more: the run holding the lock loads what is left$"
            )
            with pytest.raises(RunLockLost, match=expected):
                lock.ensure_held()
            with pytest.raises(RunLockLost):  # and again: it does not take the lock from the other run
                lock.ensure_held()
    assert _holder_pid(engine) is None


def test_runlock_on_sqlite_is_held_for_the_whole_block(tmp_path: Path) -> None:
    """A file lock is not lost while its process lives: `ensure_held` has nothing to do."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'newsetl.db'}")
    with run_lock(engine) as lock:
        lock.ensure_held()
        with pytest.raises(RunLocked), run_lock(engine):
            pytest.fail("the lock was taken twice")
    engine.dispose()
