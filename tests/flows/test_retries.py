"""Database steps retry transient errors (a real SQLite write lock held by another connection) and fail at once
on permanent ones."""

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from etl.database import create_engine_for, upgrade
from etl.errors import InputError, TransientDatabaseError
from etl.models import RunRow
from flows.nightly import nightly

LOCK_HELD_SECONDS = 1.5
# Longer than a loaded machine takes to start a flow, so the run meets the lock (under the whole suite it once did not).
FAILING_LOCK_SECONDS = 15


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    database = tmp_path / "newsetl.db"
    engine = create_engine_for(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    return database


@contextmanager
def write_lock_held_for(database: Path, seconds: float) -> Iterator[None]:
    """Another connection holds SQLite's write lock from now until a timer releases it, `seconds` later."""
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(seconds, holder.rollback)
    release.start()
    try:
        yield
    finally:
        release.join()
        holder.close()


def _run_statuses(database: Path) -> list[str]:
    engine = create_engine_for(f"sqlite:///{database}")
    with engine.connect() as connection:
        statuses = list(connection.scalars(select(RunRow.status).order_by(RunRow.id)))
    engine.dispose()
    return statuses


def _settings(monkeypatch: pytest.MonkeyPatch, retry_delays: str, busy_timeout_ms: int = 100) -> None:
    monkeypatch.setenv("NEWSETL_RETRY_DELAYS", retry_delays)
    monkeypatch.setenv("NEWSETL_SQLITE_BUSY_TIMEOUT_MS", str(busy_timeout_ms))


def test_retries_a_locked_database_until_the_lock_is_released(
    sqlite_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings(monkeypatch, "[0.5, 0.5, 0.5, 0.5, 0.5]")
    started = time.monotonic()
    with write_lock_held_for(sqlite_db, LOCK_HELD_SECONDS):
        counts = nightly(input_dir=str(tmp_path), db_url=f"sqlite:///{sqlite_db}")
    assert time.monotonic() - started >= LOCK_HELD_SECONDS  # each attempt gave up after 0.1 s; a retry came 0.5 s later
    assert counts.loaded == 0
    assert _run_statuses(sqlite_db) == ["completed"]


def test_retries_without_delays_the_locked_database_fails_the_run_naming_the_step(
    sqlite_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings(monkeypatch, "[]")
    with (
        write_lock_held_for(sqlite_db, FAILING_LOCK_SECONDS),
        # Its first step that writes: the upgrade, a write transaction even when there is nothing to migrate.
        pytest.raises(TransientDatabaseError, match=r"^upgrade the database: database busy or unreachable"),
    ):
        nightly(input_dir=str(tmp_path), db_url=f"sqlite:///{sqlite_db}")
    assert _run_statuses(sqlite_db) == []  # it failed before its run row was written


def test_retries_not_for_a_permanent_error_which_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _settings(monkeypatch, "[60, 60, 60]")
    not_a_database = tmp_path / "folder.db"
    not_a_database.mkdir()
    started = time.monotonic()
    with pytest.raises(InputError, match="cannot open the SQLite database file"):
        nightly(input_dir=str(tmp_path), db_url=f"sqlite:///{not_a_database}")
    # A retry would have waited 60 s first; the bound is that delay, not a guess at how fast a failing run is (one run
    # took 16 s on a loaded 2-core machine).
    assert time.monotonic() - started < 60
