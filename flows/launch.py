"""Flows started in this process, as `newsetl run`, `backfill` and `serve` start them: Prefect's settings, its
server and console, then the flow; for the nightly flow, its first steps taken before Prefect starts.

Prefect reads its settings when first imported: this module imports it only once they are set (`configure_prefect`)
and its server chosen, so that a command can refuse a run, or record an idle one, without paying for Prefect.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from etl.errors import NewsetlError
from etl.records import RunCounts
from etl.run_start import hand_first_batch, nightly_if_idle, refuse_if_locked, started_annotator
from etl.settings import Settings
from flows.runtime import configure_prefect, local_prefect_server

if TYPE_CHECKING:
    from etl.pipeline import Progress


def run_nightly(settings: Settings, retire_missing: bool, progress: Progress | None = None) -> RunCounts:
    """The nightly flow over `settings`' folder and database, taking the flow's first steps (`etl.run_start`) before
    Prefect starts: an idle run is recorded without Prefect, whose start-up would be most of its time; otherwise the
    annotation workers load the model and parse the first batch while Prefect's server starts and Prefect is
    imported. The flow is lent the started annotator and `progress`, called with (files done, files to read)."""
    refuse_if_locked(settings)
    if (idle := nightly_if_idle(settings, retire_missing)) is not None:
        return idle
    configure_prefect(settings.data_dir)
    with prefect_for_run() as prefect_ready, started_annotator(settings) as annotator:
        hand_first_batch(settings, annotator)
        from flows.nightly import nightly
        from flows.runs import Lent, lending

        prefect_ready()
        with lending(Lent(progress, annotator)):
            return nightly(
                input_dir=str(settings.input_dir),
                db_url=settings.db_url,
                retire_missing=retire_missing,
                executor=settings.executor,
                dask_address=settings.dask_address,
                dask_workers=settings.dask_workers,
            )


def run_backfill(
    settings: Settings, since: date, until: date, reprocess: bool, force: bool, progress: Progress | None = None
) -> RunCounts:
    """The backfill flow over `settings`' folder and database, refused before Prefect starts when another run holds
    the database; the flow is lent `progress`."""
    prepare_flow(settings)
    with prefect_for_run() as prefect_ready:
        from flows.backfill import backfill
        from flows.runs import Lent, lending

        prefect_ready()
        with lending(Lent(progress)):
            return backfill(
                since=since,
                until=until,
                input_dir=str(settings.input_dir),
                db_url=settings.db_url,
                reprocess=reprocess,
                force=force,
            )


def prepare_flow(settings: Settings) -> None:
    """Refuse a run over a missing folder or a locked database (`refuse_if_locked`) before Prefect's start-up is paid
    for, then set Prefect's defaults, before it is imported."""
    refuse_if_locked(settings)
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
    """`flows.runtime.local_prefect_server` where `configure_prefect` put Prefect's state, with Prefect's start-up
    timeout (`PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`); with `serving`, its UI and scheduler too."""
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
