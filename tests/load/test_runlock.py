"""The run lock: one run at a time per database, on SQLite and PostgreSQL, released however its holder ends."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import Engine

from etl.database import create_engine_for
from etl.errors import RunLocked
from etl.load import start_run
from etl.runlock import run_lock

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
