"""The frame every flow runs in: a `runs` row opened first and closed last, and a Markdown artifact."""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from sqlalchemy import Engine

from etl.errors import NewsetlError, RunLockLost
from etl.input_files import PendingFile
from etl.nlp.annotator import Annotator
from etl.pipeline import Progress, annotator_for, batches, read_ahead
from etl.records import DateRange, RunCounts
from etl.run_ledger import run_parameters
from etl.runlock import HeldLock, run_lock
from etl.settings import Settings
from etl.summary import batch_log_line, run_summary_markdown
from flows.tasks import DatabaseSteps, database_steps


@dataclass(frozen=True, slots=True)
class Lent:
    """What a flow's caller in this process lends the run: live objects, not flow parameters, which Prefect validates
    and records on its API."""

    progress: Progress | None = None
    annotator: Annotator | None = None  # started, maybe handed the first batch (`etl.run_start`); its lender closes it


_lent: ContextVar[Lent | None] = ContextVar("newsetl_lent", default=None)


@contextmanager
def lending(lent: Lent) -> Iterator[None]:
    """`lent` to the flows called in this block, in this thread (Prefect runs a flow in its caller's thread)."""
    token = _lent.set(lent)
    try:
        yield
    finally:
        _lent.reset(token)


def lent_to_run() -> Lent | None:
    """What the caller lends this flow run; None when Prefect started it (`newsetl serve`, a deployment) or its
    caller lends nothing."""
    return _lent.get()


@dataclass(slots=True)
class Run:
    """A run in progress: its id, the counts it fills, and what its steps need."""

    id: int
    engine: Engine
    steps: DatabaseSteps
    settings: Settings
    lock: HeldLock
    counts: RunCounts = field(default_factory=RunCounts)


@contextmanager
def recorded_run(settings: Settings, flow: str, parameters: dict[str, Any]) -> Iterator[Run]:
    """Open the database and yield the run; it ends `completed`, or `failed` with the error.

    The database's run lock is held throughout: a second run raises RunLocked before writing anything. Holding
    it proves that runs left `running` are dead, so they are marked failed; this run then loads what they did
    not (loading is idempotent: nothing they stored is stored twice). Every attempt of a step that writes first
    makes sure the lock is still held (PostgreSQL drops it when it restarts; it is taken again then), and the run
    stops with RunLockLost, writing nothing more, when another run took it meanwhile. The recorded parameters add
    the input folder and the database URL (without its password) to the flow's own.
    """
    engine = database_steps(settings.retry_delays).open_database(
        settings.db_url, settings.sqlite_busy_timeout_ms, settings.grouping
    )
    parameters = run_parameters(engine, settings.input_dir, parameters)
    with run_lock(engine) as lock:
        steps = database_steps(settings.retry_delays, before_writing=lock.ensure_held)
        steps.fail_interrupted_runs(engine)
        run = Run(steps.start_run(engine, flow, parameters), engine, steps, settings, lock)
        lock.run_id = run.id
        try:
            yield run
        except RunLockLost:
            raise  # the run holding the lock now marked this one failed, or will: not this run's row to write
        except BaseException as exc:
            try:
                steps.finish_run(engine, run.id, run.counts, "failed", f"{type(exc).__name__}: {exc}")
            except NewsetlError as unrecorded:
                # The database still refuses writes (a full disk, a server still down): the run stays `running`
                # and the next run marks it failed. The error that stopped the run is the one to report.
                get_run_logger().warning("run %d could not be marked failed: %s", run.id, unrecorded)
            raise
        steps.finish_run(engine, run.id, run.counts, "completed")
    create_markdown_artifact(
        markdown=run_summary_markdown(flow, run.id, run.counts),
        key=f"newsetl-{flow}-run",
        description=f"newsetl {flow} run {run.id}",
    )


def load_input_folder(
    run: Run,
    date_range: DateRange | None = None,
    progress: Progress | None = None,
    retire_missing: bool = False,
    annotator: Annotator | None = None,
) -> None:
    """Plan the input folder, read, annotate and load its new and changed files batch by batch, then settle the
    files gone from it (after loading, so that a moved file is a second source of its article, not a new one).
    Files are annotated by `annotator` if given (its owner closes it), else by one this run opens."""
    steps, engine, settings = run.steps, run.engine, run.settings
    plan = steps.plan_files(engine, settings.input_dir)
    run.counts.skipped += plan.unchanged
    done, total = 0, len(plan.pending)
    if progress:
        progress(done, total)
    logger = get_run_logger()
    logger.info("input folder %s: %d files to read, %d unchanged, %d missing", settings.input_dir, total,
                plan.unchanged, len(plan.missing))  # fmt: skip
    numbered = list(enumerate(batches(plan.pending, settings.batch_size), start=1))
    started = time.monotonic()
    for number, batch, counts in _loaded_batches(run, numbered, date_range, annotator):
        finished = time.monotonic()
        logger.info(batch_log_line(number, len(numbered), len(batch), counts, finished - started))
        started = finished
        run.counts.add(counts)
        done += len(batch)
        if progress:
            progress(done, total)
    run.counts.add(steps.settle_missing_files(engine, run.id, plan.missing, retire_missing))


Batches = Sequence[tuple[int, Sequence[PendingFile]]]


def _loaded_batches(
    run: Run, batches: Batches, date_range: DateRange | None, annotator: Annotator | None
) -> Iterator[tuple[int, Sequence[PendingFile], RunCounts]]:
    """Each numbered batch read and loaded in this process, in turn, with its counts; one annotator serves them all,
    so its workers (processes of this machine, or a Dask cluster's) start once per run (on the first article to
    parse, unless it was started before). Files are read one batch ahead, so that the annotator's workers parse the
    next batch while this process loads one."""
    with nullcontext(annotator) if annotator else annotator_for(run.settings) as annotator:
        read = read_ahead(run.engine, (batch for _, batch in batches), run.settings, annotator, date_range)
        for (number, batch), files in zip(batches, read, strict=True):
            counts = run.steps.load_files(run.engine, run.id, files, run.settings, annotator=annotator)
            yield number, batch, counts
