"""One run at a time per database: a lock held for a run's whole duration, released even by `kill -9`.

PostgreSQL: a session-level advisory lock on a connection kept open for the run; the server drops it when
that session ends, however the process ended. That includes a server restart during the run, which the run itself
survives (its steps are retried on fresh connections): so a run calls `HeldLock.ensure_held()` before each write,
which takes the lock again on a new connection when its session is gone, or raises RunLockLost when another run took
it meanwhile. SQLite has no advisory locks, so an exclusive `flock` on a `<database>.lock` file beside it; the kernel
drops it when the process dies, so no stale lock survives a crash, and it cannot be lost while the process lives.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from etl.database import database_errors, sqlite_file
from etl.errors import InputError, RunLocked, RunLockLost, TransientDatabaseError
from etl.models import RunRow, RunStatus

# pg_try_advisory_lock's key (any bigint; advisory locks are scoped to the current database).
ADVISORY_LOCK_KEY = 0x6E657773_65746C  # "newsetl"
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
# Whether this session holds the lock: a bigint key is split into classid (high half) and objid (low half).
_HELD = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted "
    "AND classid::bigint = :key >> 32 AND objid::bigint = :key & 4294967295 AND objsubid = 1)"
)


class HeldLock:
    """The run lock as its run holds it. On SQLite (a file lock, which lasts as long as the process) there is
    nothing to check; see `_AdvisoryLock` for PostgreSQL."""

    run_id: int | None = None  # the run holding it, once it has a `runs` row: never named as another run

    def ensure_held(self) -> None:
        """Return when this run holds the lock; raise RunLockLost when another run took it."""


@contextmanager
def run_lock(engine: Engine) -> Iterator[HeldLock]:
    """Hold the database's run lock until the block exits; raise RunLocked at once if another run holds it."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine) as lock:
            yield lock
    elif (database := sqlite_file(engine.url)) is None:
        yield HeldLock()  # an in-memory database is private to its connection: nothing else can run on it
    else:
        with _lock_file(engine, Path(f"{database}.lock")):
            yield HeldLock()


class _AdvisoryLock(HeldLock):
    """The advisory lock and the session holding it, which may end before the run does: the server drops the lock
    with it when it restarts or the connection is cut. `ensure_held` notices and takes the lock again on a new
    session, before the run writes again; a restart ends the run's other sessions too, so nothing of this run is
    written while nobody holds the lock. Thread-safe: a backfill's chunks call it in parallel."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._mutex = threading.Lock()
        self._connection: Connection | None = _autocommit_connection(engine)  # None: the session is gone
        try:
            taken = self._connection.scalar(_TRY_LOCK, {"key": ADVISORY_LOCK_KEY})
        except BaseException:
            self._connection.close()
            raise
        if not taken:
            self._connection.close()
            raise RunLocked(_holder_message(engine))

    def ensure_held(self) -> None:
        with self._mutex:
            if self._session_holds_it():
                return
            with database_errors("take the run lock again"):  # a server still down: transient, the step retries
                connection = _autocommit_connection(self._engine)
                try:
                    taken = connection.scalar(_TRY_LOCK, {"key": ADVISORY_LOCK_KEY})
                except BaseException:
                    connection.close()
                    raise
            if not taken:
                connection.close()
                holder = _holder(self._engine, not_run=self.run_id)
                raise RunLockLost(
                    "this run lost the run lock on this database (its session ended: the server restarted or the "
                    f"connection was cut), and {holder} took it; this run stopped and writes nothing more: the run "
                    "holding the lock loads what is left"
                )
            self._connection = connection

    def release(self) -> None:
        if self._connection is not None:
            try:
                _advisory_unlock(self._connection)
            finally:
                self._connection.close()
                self._connection = None

    def _session_holds_it(self) -> bool:
        """Whether the lock's session is alive and holds the lock; a session the server ended is let go."""
        if self._connection is None:
            return False
        try:
            with database_errors("check the run lock"):
                if self._connection.scalar(_HELD, {"key": ADVISORY_LOCK_KEY}):
                    return True
        except TransientDatabaseError as exc:
            if not (isinstance(exc.__cause__, DBAPIError) and exc.__cause__.connection_invalidated):
                raise  # the session may still be alive, and hold the lock: retry the step
        self._connection.close()
        self._connection = None
        return False


def _autocommit_connection(engine: Engine) -> Connection:
    # Autocommit: the session holds the lock without keeping a transaction (and its snapshot) open all run.
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[_AdvisoryLock]:
    lock = _AdvisoryLock(engine)
    try:
        yield lock
    finally:
        lock.release()


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(
            f"cannot create the run lock file {path} ({exc.strerror}): the database's folder must be writable"
        ) from exc
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(_holder_message(engine)) from None
        yield  # closing the descriptor releases the lock; the file stays, it holds nothing
    finally:
        os.close(descriptor)


def _holder_message(engine: Engine) -> str:
    return f"{_holder(engine)} holds the lock on this database; try again when it has finished"


def _holder(engine: Engine, not_run: int | None = None) -> str:
    """Name the run holding the lock (never `not_run`), from its `runs` row when it has written one yet."""
    running = select(RunRow.id, RunRow.started_at).where(RunRow.status == RunStatus.RUNNING)
    if not_run is not None:
        running = running.where(RunRow.id != not_run)
    try:
        with engine.connect() as connection:
            holder = connection.execute(running.order_by(RunRow.id.desc()).limit(1)).first()
    except SQLAlchemyError:
        holder = None  # no schema yet: the other run is still creating it
    who = "another newsetl run"
    if holder is not None:
        who += f" (run {holder.id}, started {_when(holder.started_at)})"
    return who


def _when(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.date() == datetime.now(UTC).date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def raise_if_locked(engine: Engine) -> None:
    """Raise RunLocked now if another run holds the lock: a cheap check before a run pays for its start-up."""
    with run_lock(engine):
        pass
