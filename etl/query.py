"""Read-only SQL over the results: the `query` command's library side."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from etl.database import existing_sqlite_file, parse_url
from etl.errors import InputError, NewsetlError


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]


def _read_only_url(db_url: str) -> tuple[str, dict[str, Any]]:
    """A URL and connect arguments that make the database itself refuse writes."""
    url = parse_url(db_url)
    if url.get_backend_name() == "sqlite":
        # Read-only mode cannot create the file; SQLite would only say "unable to open database file".
        database = existing_sqlite_file(url)
        if database is None:
            raise InputError("query needs a database file, not an in-memory SQLite database")
        return f"sqlite:///file:{database}?mode=ro&uri=true", {}
    # Every statement prepared (extended protocol): one statement per query, so a "SET TRANSACTION READ
    # WRITE; DELETE …; COMMIT" string cannot leave the read-only transaction.
    connect_args = {"options": "-c default_transaction_read_only=on", "prepare_threshold": 0}
    return url.render_as_string(hide_password=False), connect_args


# Rows fetched from the database at a time when a result is streamed to a file.
CHUNK_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class QueryStream:
    """A result being read: its columns, and its rows in chunks of at most `CHUNK_ROWS`."""

    columns: tuple[str, ...]
    chunks: Iterator[Sequence[tuple[Any, ...]]]


def run_query(db_url: str, sql: str) -> QueryResult:
    """Run one SQL statement on a read-only connection; writes are refused by the database."""
    with stream_query(db_url, sql) as stream:
        return QueryResult(stream.columns, [row for chunk in stream.chunks for row in chunk])


@contextmanager
def stream_query(db_url: str, sql: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[QueryStream]:
    """Run one SQL statement on a read-only connection and read its rows chunk by chunk, so a writer holds one
    chunk at a time. SQLite's cursor reads rows as they are asked for; psycopg's client-side cursor receives the
    whole result first (a server-side cursor would wrap the statement in DECLARE, which takes only a SELECT and
    so would hide the read-only refusals), and Python objects are still made a chunk at a time."""
    url, connect_args = _read_only_url(db_url)
    engine = create_engine(url, connect_args=connect_args)
    try:
        with _translated_errors(), engine.connect() as connection:
            result = connection.execute(text(sql))
            if not result.returns_rows:
                yield QueryStream((), iter(()))
                return
            chunks = (list(chunk) for chunk in result.partitions(chunk_rows))
            yield QueryStream(tuple(result.keys()), _translating(chunks))
    finally:
        engine.dispose()


def _translating(chunks: Iterator[list[Any]]) -> Iterator[Sequence[tuple[Any, ...]]]:
    with _translated_errors():
        for chunk in chunks:
            yield [tuple(row) for row in chunk]


@contextmanager
def _translated_errors() -> Iterator[None]:
    """The database's refusal as a `NewsetlError` saying why, in the words the CLI prints."""
    try:
        yield
    except DBAPIError as exc:
        message = str(exc.orig).strip().splitlines()[0]
        if "readonly" in message.replace("-", "") or "read-only" in message:
            raise NewsetlError(f"query refused: `newsetl query` is read-only ({message})") from exc
        if "multiple commands" in message or "one statement at a time" in message:
            raise NewsetlError("query refused: `newsetl query` runs one statement at a time") from exc
        raise NewsetlError(f"query failed: {message}") from exc
