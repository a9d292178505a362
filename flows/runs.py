"""The frame every flow runs in: a `runs` row opened first and closed last, and a Markdown artifact."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from sqlalchemy import Engine

from etl.pipeline import DateRange, Progress, batches
from etl.records import RunCounts
from etl.runlock import run_lock
from etl.settings import Settings
from etl.summary import batch_log_line, run_summary_markdown
from flows.tasks import DatabaseSteps, database_steps


@dataclass(slots=True)
class Run:
    """A run in progress: its id, the counts it fills, and what its steps need."""

    id: int
    engine: Engine
    steps: DatabaseSteps
    settings: Settings
    counts: RunCounts = field(default_factory=RunCounts)


@contextmanager
def recorded_run(settings: Settings, flow: str, parameters: dict[str, Any]) -> Iterator[Run]:
    """Open the database and yield the run; it ends `completed`, or `failed` with the error.

    The database's run lock is held throughout: a second run raises RunLocked before writing anything. Holding
    it proves that runs left `running` are dead, so they are marked failed; this run then loads what they did
    not (loading is idempotent: nothing they stored is stored twice). The recorded parameters add the input
    folder and the database URL (without its password) to the flow's own.
    """
    steps = database_steps(settings.retry_delays)
    engine = steps.open_database(settings.db_url, settings.sqlite_busy_timeout_ms)
    parameters = {
        **parameters,
        "input_dir": str(settings.input_dir),
        "db_url": engine.url.render_as_string(),
    }
    with run_lock(engine):
        steps.fail_interrupted_runs(engine)
        run = Run(steps.start_run(engine, flow, parameters), engine, steps, settings)
        try:
            yield run
        except BaseException as exc:
            steps.finish_run(engine, run.id, run.counts, "failed", f"{type(exc).__name__}: {exc}")
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
) -> None:
    """Plan the input folder, read, annotate and load its new and changed files batch by batch, then settle the
    files gone from it (after loading, so that a moved file is a second source of its article, not a new one)."""
    steps, engine, settings = run.steps, run.engine, run.settings
    plan = steps.plan_files(engine, settings.input_dir)
    run.counts.skipped += plan.unchanged
    done, total = 0, len(plan.pending)
    if progress:
        progress(done, total)
    logger = get_run_logger()
    logger.info("input folder %s: %d files to read, %d unchanged, %d missing", settings.input_dir, total,
                plan.unchanged, len(plan.missing))  # fmt: skip
    batch_count = -(-total // settings.batch_size)
    for number, batch in enumerate(batches(plan.pending, settings.batch_size), start=1):
        started = time.monotonic()
        counts = steps.process_files(engine, run.id, batch, settings, date_range)
        logger.info(batch_log_line(number, batch_count, len(batch), counts, time.monotonic() - started))
        run.counts.add(counts)
        done += len(batch)
        if progress:
            progress(done, total)
    run.counts.add(steps.settle_missing_files(engine, run.id, plan.missing, retire_missing))
