"""One run at a time per database: a lock held for a run's whole duration, released even by `kill -9`.

PostgreSQL: a session-level advisory lock on a connection kept open for the run; the server drops it when
that session ends, however the process ended. SQLite has no advisory locks, so an exclusive `flock` on a
`<database>.lock` file beside it; the kernel drops it when the process dies, so no stale lock survives a crash.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from etl.errors import RunLocked
from etl.models import RunRow, RunStatus

# pg_try_advisory_lock's key (any bigint; advisory locks are scoped to the current database).
ADVISORY_LOCK_KEY = 0x6E657773_65746C  # "newsetl"


@contextmanager
def run_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's run lock until the block exits; raise RunLocked at once if another run holds it."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine):
            yield
    elif engine.url.database in (None, "", ":memory:"):
        yield  # an in-memory database is private to its connection: nothing else can run on it
    else:
        with _lock_file(engine, Path(f"{engine.url.database}.lock")):
            yield


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    # Autocommit: the session holds the lock without keeping a transaction (and its snapshot) open all run.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}):
            raise RunLocked(_holder_message(engine))
        try:
            yield
        finally:
            _advisory_unlock(connection)


def _advisory_unlock(connection: Connection) -> None:
    """Release the lock; when the session holding it is gone (the server restarted or the connection dropped during
    the run), the server released it then, and there is nothing to do: the run's outcome is not this step's."""
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise


@contextmanager
def _lock_file(engine: Engine, path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(_holder_message(engine)) from None
        yield  # closing the descriptor releases the lock; the file stays, it holds nothing
    finally:
        os.close(descriptor)


def _holder_message(engine: Engine) -> str:
    """Name the run holding the lock, from its `runs` row when it has written one yet."""
    try:
        with engine.connect() as connection:
            holder = connection.execute(
                select(RunRow.id, RunRow.started_at)
                .where(RunRow.status == RunStatus.RUNNING)
                .order_by(RunRow.id.desc())
                .limit(1)
            ).first()
    except SQLAlchemyError:
        holder = None  # no schema yet: the other run is still creating it
    who = "another newsetl run"
    if holder is not None:
        who += f" (run {holder.id}, started {_when(holder.started_at)})"
    return f"{who} holds the lock on this database; try again when it has finished"


def _when(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.date() == datetime.now(UTC).date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def raise_if_locked(engine: Engine) -> None:
    """Raise RunLocked now if another run holds the lock: a cheap check before a run pays for its start-up."""
    with run_lock(engine):
        pass
