"""Engines for the two supported databases, and the schema migrations that Alembic applies to them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from sqlite3 import Connection as SQLiteConnection
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from etl.errors import DiskFullError, InputError, TransientDatabaseError
from etl.records import Grouping
from etl.reference import sync_reference_tables
from etl.resources import MIGRATIONS_DIR
from etl.settings import SQLITE_BUSY_TIMEOUT_MS

T = TypeVar("T")
DEFAULT_GROUPING = Grouping()
# Values per `IN (…)` look-up: well under SQLite's limit of bound parameters, even for pairs.
VALUES_PER_QUERY = 200
# The execution option that marks a connection's transactions as writes (`write_transaction`).
_WRITES = "newsetl_writes"
_SQLITE_BUSY_MESSAGES = ("database is locked", "database is busy", "database table is locked")
# A server that answers a connection with one of these refuses it for good (a wrong database, role or password): no
# retry helps. psycopg raises them as OperationalError without an SQLSTATE, like a refused or dropped connection.
_POSTGRES_REFUSALS = ("does not exist", "authentication failed", "no pg_hba.conf entry", "permission denied")


@contextmanager
def database_errors(step: str) -> Iterator[None]:
    """Name `step` in the database failures a caller can act on: a busy, locked or unreachable database (a lock
    held, a connection dropped or refused, a server restarting) as TransientDatabaseError, to retry; a full disk as
    DiskFullError, which no retry fixes; a SQLite file that cannot be opened (a folder, or in a folder not writable)
    as InputError. Anything else is a real error and is raised as it is, including a server refusing the connection
    for good (no such database or role, a wrong password)."""
    try:
        yield
    except DBAPIError as exc:
        cause = exc.orig
        said = " ".join(str(cause).split())  # one line: libpq's messages carry a hint on a second one
        if isinstance(cause, psycopg.errors.DiskFull) or _sqlite_primary_code(cause) == sqlite3.SQLITE_FULL:
            raise DiskFullError(
                f"{step}: the disk holding the database is full ({said}); nothing of this step was written, what "
                "was committed before is kept: free some space and run again"
            ) from exc
        if _sqlite_primary_code(cause) == sqlite3.SQLITE_CANTOPEN:
            raise InputError(
                f"{step}: cannot open the SQLite database file ({said}): its path must name a file, or none yet, in a "
                "folder this process can write"
            ) from exc
        postgres_unreachable = isinstance(cause, psycopg.OperationalError) and not (
            cause.sqlstate is None and any(refusal in str(cause) for refusal in _POSTGRES_REFUSALS)
        )
        if (
            exc.connection_invalidated
            or postgres_unreachable
            or any(message in str(cause).lower() for message in _SQLITE_BUSY_MESSAGES)
        ):
            raise TransientDatabaseError(f"{step}: database busy or unreachable ({said})") from exc
        raise


def _sqlite_primary_code(cause: BaseException) -> int | None:
    """SQLite's primary result code of a driver error (the low byte of its extended code); None for other drivers."""
    return getattr(cause, "sqlite_errorcode", 0) & 0xFF if isinstance(cause, sqlite3.Error) else None


def pages(values: Sequence[T], size: int = VALUES_PER_QUERY) -> Iterator[Sequence[T]]:
    """`values` in slices of `size`, for `IN (…)` look-ups of a bounded size."""
    return (values[start : start + size] for start in range(0, len(values), size))


def create_engine_for(url: str, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for a SQLite or PostgreSQL (psycopg 3) URL; `postgresql://` is taken to mean psycopg.

    On SQLite a write waits up to `sqlite_busy_timeout_ms` for another writer before failing as locked.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = sqlite_file(parsed)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", partial(_configure_sqlite_connection, busy_timeout_ms=sqlite_busy_timeout_ms))
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def parse_url(url: str) -> URL:
    """A database URL newsetl supports, `postgresql://` taken to mean psycopg; InputError saying why not otherwise."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(f"database URL {url!r} is not a SQLAlchemy URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed
    raise InputError(
        f"database URL {parsed.render_as_string(hide_password=True)!r} is not supported: "
        "use sqlite:///path/to/file.db or postgresql+psycopg://user@host/dbname"
    )


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names; None for PostgreSQL and for an in-memory SQLite database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def existing_sqlite_file(url: URL) -> Path | None:
    """`sqlite_file(url)`, which must exist: InputError otherwise, rather than a new, empty database."""
    database = sqlite_file(url)
    if database is not None and not database.is_file():
        raise InputError(f"database file {database} does not exist: run `newsetl run` to create it")
    return database


def _configure_sqlite_connection(dbapi_connection: SQLiteConnection, _record: Any, busy_timeout_ms: int) -> None:
    # WAL lets readers (status, queries) run while a load writes; cascades need foreign keys on.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()
    # Left to itself, the sqlite3 module begins a transaction only at the first write, so the reads that
    # decide a write would run outside it; SQLAlchemy emits BEGIN instead (see _begin_sqlite_transaction).
    dbapi_connection.isolation_level = None


def _begin_sqlite_transaction(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(_WRITES) else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes, committed when the block ends and rolled back if it raises. On SQLite it takes the
    write lock as it begins (BEGIN IMMEDIATE), so it waits for another writer up to the busy timeout: begun as a
    reader, it would fail at once as locked on its first write whenever another writer had committed since its
    first read (SQLite cannot upgrade a snapshot another writer made stale, and does not wait for that)."""
    with engine.connect().execution_options(**{_WRITES: True}) as connection, connection.begin():
        yield connection


@contextmanager
def transaction(engine: Engine, step: str) -> Iterator[Connection]:
    """One transaction for many writes (committed when the block ends, rolled back if it raises); the
    functions below given its connection write in a savepoint of it, so each still succeeds or fails alone."""
    with database_errors(step), write_transaction(engine) as connection:
        yield connection


@contextmanager
def atomic(target: Engine | Connection, step: str) -> Iterator[Connection]:
    """A transaction of its own on an engine, or a savepoint inside the transaction of a given connection."""
    with database_errors(step):
        if isinstance(target, Connection):
            with target.begin_nested():
                yield target
        else:
            with write_transaction(target) as connection:
                yield connection


@contextmanager
def connected(target: Engine | Connection) -> Iterator[Connection]:
    if isinstance(target, Connection):
        yield target
    else:
        with target.connect() as connection:
            yield connection


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration for newsetl's migrations, running on `connection` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, grouping: Grouping = DEFAULT_GROUPING) -> None:
    """Bring the schema up to the newest migration, then the reference tables up to their CSVs under
    `etl/reference_data/` (each a no-op when already there). A migration that groups the articles and events
    already stored (0007: near-duplicates, event clusters) does so by `grouping`.

    The seeds load here rather than in a migration, as dbt loads them: a migration runs once, and an edited CSV
    must reach every database on its next `newsetl run` or `newsetl db upgrade`.
    """
    with database_errors("upgrade the database"), write_transaction(engine) as connection:
        config = alembic_config(connection)
        config.attributes["grouping"] = grouping
        command.upgrade(config, "head")
        sync_reference_tables(connection)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for a database never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this version of newsetl."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def open_database(
    db_url: str, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, grouping: Grouping = DEFAULT_GROUPING
) -> Engine:
    """An engine on `db_url`, with the schema migrated to the newest revision (which groups what is stored by
    `grouping`, when it brings near-duplicates and event clusters)."""
    engine = create_engine_for(db_url, sqlite_busy_timeout_ms)
    upgrade(engine, grouping)
    return engine


def open_existing_database(db_url: str) -> Engine:
    """An engine on a newsetl database at the newest schema, for commands that only read: refuses (InputError) a
    database that does not exist or whose schema is older, rather than creating or migrating it."""
    existing_sqlite_file(parse_url(db_url))  # before an engine exists: connecting would create the file (and folder)
    engine = create_engine_for(db_url)
    revision, head = current_revision(engine), head_revision()
    if revision == head:
        return engine
    engine.dispose()
    if revision is None:
        raise InputError("the database has no newsetl schema yet: run `newsetl run` or `newsetl db upgrade`")
    raise InputError(f"the database schema is at revision {revision}, not {head}: run `newsetl db upgrade`")
