"""A flow run started from the command line: the checks made before Prefect, Prefect's settings, server and
console, and the work done while Prefect starts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from etl.errors import NewsetlError, TransientDatabaseError
from etl.records import RunCounts
from etl.settings import Settings
from newsetl.rendering import fail, failed_run

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from etl.nlp.annotate import Annotator

T = TypeVar("T")


def prepare_flow(settings: Settings) -> None:
    """Check the input folder and the run lock, then set Prefect's defaults (before it is imported): a flow that
    failed on a missing folder would log its traceback on stderr before the one-line error, and leave a failed run
    in a newly created database; a locked database is refused before Prefect's start-up is paid for (the flow
    takes the lock itself).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from etl.database import create_engine_for, database_errors
    from etl.extract import discover
    from etl.runlock import raise_if_locked
    from flows.runtime import configure_prefect

    try:
        discover(settings.input_dir)
        # A database unreachable now is left to the flow, whose steps retry it (NEWSETL_RETRY_DELAYS).
        with suppress(TransientDatabaseError), database_errors("check the run lock"):
            raise_if_locked(create_engine_for(settings.db_url))
    except NewsetlError as exc:
        raise fail(exc) from exc
    except SQLAlchemyError as exc:  # e.g. a server refusing the connection: no such database
        raise failed_run(exc) from exc

    configure_prefect(settings.data_dir)


@contextmanager
def prefect_for_run() -> Iterator[Callable[[], None]]:
    """Prefect for one flow run: its server started at once (unless `PREFECT_API_URL` names one), then Prefect
    imported with its console quiet about errors the command reports itself. Yields a function that waits until
    the server answers, to call just before the flow; the server stops when the block exits."""
    with prefect_server(serving=False) as wait_until_ready:
        console_without_tracebacks_of(NewsetlError)
        yield wait_until_ready


def prefect_server(serving: bool) -> AbstractContextManager[Callable[[], None]]:
    """`flows.runtime.local_prefect_server` where `prepare_flow` put Prefect's state, with Prefect's start-up timeout
    (`PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`); with `serving`, its UI and scheduler too."""
    from flows.runtime import local_prefect_server

    timeout = float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
    return local_prefect_server(Path(os.environ["PREFECT_HOME"]), timeout, serving=serving)


class _NoTraceback(logging.Filter):
    """Drops the traceback from log records of an exception of the given types (their message says it all)."""

    def __init__(self, types: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.types = types

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], self.types):
            record.exc_info, record.exc_text = None, None
        return True


def console_without_tracebacks_of(*types: type[BaseException]) -> None:
    """Prefect logs the exception that failed a task or flow with its traceback. For a NewsetlError, which names the
    step and the cause and which the command prints as its `Error:` line, the console keeps Prefect's line but not
    the traceback; Prefect's API (its UI) still gets it whole, its handler running before the record reaches the
    console's. Unexpected errors keep their traceback."""
    import prefect.main  # noqa: F401  (configures Prefect's logging, console handler included)
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            handler.addFilter(_NoTraceback(types))


def head_start(settings: Settings, annotator: Annotator) -> None:
    """The first batch of files handed to the annotator's workers while Prefect starts."""
    from etl.pipeline import annotate_first_batch

    _before_prefect(settings, lambda engine: annotate_first_batch(engine, settings, annotator))


def nightly_if_idle(settings: Settings, retire_missing: bool) -> RunCounts | None:
    """The counts of a nightly run recorded without Prefect when the input folder has nothing new, changed or gone
    (Prefect's start-up would be most of its time); None when there is work."""
    from etl.pipeline import record_run_if_idle
    from etl.run_ledger import run_parameters

    def if_idle(engine: Engine) -> RunCounts | None:
        parameters = run_parameters(engine, settings.input_dir, {"retire_missing": retire_missing})
        return record_run_if_idle(engine, "nightly", parameters, settings.input_dir)

    return _before_prefect(settings, if_idle)


def _before_prefect(settings: Settings, work: Callable[[Engine], T]) -> T | None:
    """`work` on the run's database before Prefect starts; None on a database error: the flow then meets it
    again, retries it if transient, and records and reports it."""
    from sqlalchemy.exc import SQLAlchemyError

    from etl.pipeline import open_database

    try:
        engine = open_database(settings.db_url, settings.sqlite_busy_timeout_ms, settings.grouping)
        try:
            return work(engine)
        finally:
            engine.dispose()
    except (TransientDatabaseError, SQLAlchemyError):
        return None
    except NewsetlError as exc:
        raise fail(exc) from exc
