"""How a nightly run starts, whatever starts it: refused while another run holds the database, recorded at once when
the input folder is idle, its annotation workers started early.

The `nightly` flow begins with these steps when Prefect starts it (`newsetl serve`, a deployment); `newsetl run`
takes them before Prefect's start-up, which an idle run then never pays for (`flows.launch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from etl.database import create_engine_for, database_errors, open_database
from etl.errors import TransientDatabaseError
from etl.extract import discover
from etl.input_files import plan_files
from etl.records import RunCounts
from etl.run_ledger import fail_interrupted_runs, finish_run, run_parameters, start_run
from etl.runlock import raise_if_locked, run_lock
from etl.settings import Settings

if TYPE_CHECKING:
    from etl.nlp.annotator import Annotator

T = TypeVar("T")


def refuse_if_locked(settings: Settings) -> None:
    """Raise InputError when the input folder does not exist and RunLocked when another run holds the database's
    lock, before the database is opened (which migrates it) or anything is paid for: a run over a missing folder
    would leave a failed run in a newly created database. A database unreachable now is left to the run, whose steps
    retry it (NEWSETL_RETRY_DELAYS)."""
    discover(settings.input_dir)
    engine = create_engine_for(settings.db_url)
    try:
        with suppress(TransientDatabaseError), database_errors("check the run lock"):
            raise_if_locked(engine)
    finally:
        engine.dispose()


def nightly_if_idle(settings: Settings, retire_missing: bool) -> RunCounts | None:
    """The counts of a nightly run recorded at once when the input folder has nothing new, changed or gone; None
    when there is work, or when the database cannot be used now (the run meets that again, retries it if transient,
    and records and reports it)."""

    def if_idle(engine: Engine) -> RunCounts | None:
        parameters = run_parameters(engine, settings.input_dir, {"retire_missing": retire_missing})
        return record_run_if_idle(engine, "nightly", parameters, settings.input_dir)

    return _on_database(settings, if_idle)


def record_run_if_idle(engine: Engine, flow: str, parameters: dict[str, Any], input_dir: Path) -> RunCounts | None:
    """When the input folder holds nothing new, changed or gone, record a completed run of `flow` that found so,
    under the run lock, and return its counts; None when there is work, for the flow to do. A nightly run over an
    unchanged folder then costs a folder listing and a few queries, not an orchestrator's start-up."""
    with run_lock(engine):
        plan = plan_files(engine, input_dir)
        if plan.pending or plan.missing:
            return None
        fail_interrupted_runs(engine)
        counts = RunCounts(skipped=plan.unchanged)
        finish_run(engine, start_run(engine, flow, parameters), counts, "completed")
        return counts


# The annotator's steps import the pipeline, and spaCy with it, when a run has work: not the refused and idle runs,
# which pay only for a folder listing and a few queries.


@contextmanager
def started_annotator(settings: Settings) -> Iterator[Annotator]:
    """The annotator of a run, its workers (processes of this machine, or a Dask cluster's) loading the model from
    now on while the run starts; closed when the block exits."""
    from etl.pipeline import annotator_for

    with annotator_for(settings) as annotator:
        annotator.start()
        yield annotator


def hand_first_batch(settings: Settings, annotator: Annotator) -> None:
    """Hand the started annotator the first batch of new and changed files, for a run whose orchestrator takes
    seconds to start: its workers parse while it does. In one process nothing runs ahead, so nothing is read."""
    from etl.pipeline import annotate_first_batch

    if annotator.parallel:
        _on_database(settings, lambda engine: annotate_first_batch(engine, settings, annotator))


def _on_database(settings: Settings, work: Callable[[Engine], T]) -> T | None:
    """`work` on the run's database, opened (and migrated) for it; None on a database error, which the run meets
    again in its own steps."""
    try:
        engine = open_database(settings.db_url, settings.sqlite_busy_timeout_ms, settings.grouping)
        try:
            return work(engine)
        finally:
            engine.dispose()
    except (TransientDatabaseError, SQLAlchemyError):
        return None
