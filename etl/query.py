"""Read-only SQL over the results: the `query` command's library side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from etl.errors import InputError, NewsetlError


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]


def _read_only_url(db_url: str) -> tuple[str, dict[str, Any]]:
    """A URL and connect arguments that make the database itself refuse writes."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InputError("query needs a database file, not an in-memory SQLite database")
        if not Path(url.database).is_file():
            # Read-only mode cannot create the file; SQLite would only say "unable to open database file".
            raise InputError(f"database file {url.database} does not exist: run `newsetl run` to create it")
        return f"sqlite:///file:{url.database}?mode=ro&uri=true", {}
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
        # Every statement prepared (extended protocol): one statement per query, so a "SET TRANSACTION READ
        # WRITE; DELETE …; COMMIT" string cannot leave the read-only transaction.
        connect_args = {"options": "-c default_transaction_read_only=on", "prepare_threshold": 0}
        return url.render_as_string(hide_password=False), connect_args
    raise InputError(f"unsupported database URL '{url.render_as_string()}': use sqlite:/// or postgresql://")


def run_query(db_url: str, sql: str) -> QueryResult:
    """Run one SQL statement on a read-only connection; writes are refused by the database."""
    url, connect_args = _read_only_url(db_url)
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            result = connection.execute(text(sql))
            if not result.returns_rows:
                return QueryResult((), ())
            return QueryResult(tuple(result.keys()), [tuple(row) for row in result])
    except DBAPIError as exc:
        message = str(exc.orig).strip().splitlines()[0]
        if "readonly" in message.replace("-", "") or "read-only" in message:
            raise NewsetlError(f"query refused: `newsetl query` is read-only ({message})") from exc
        if "multiple commands" in message or "one statement at a time" in message:
            raise NewsetlError("query refused: `newsetl query` runs one statement at a time") from exc
        raise NewsetlError(f"query failed: {message}") from exc
    finally:
        engine.dispose()
