"""The frame every flow runs in: a `runs` row opened first and closed last, and a Markdown artifact."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.artifacts import create_markdown_artifact
from sqlalchemy import Engine

from etl.pipeline import DateRange, Progress, batches
from etl.records import RunCounts
from etl.runlock import run_lock
from etl.settings import Settings
from etl.summary import run_summary_markdown
from flows import tasks


@contextmanager
def recorded_run(engine: Engine, flow: str, parameters: dict[str, Any]) -> Iterator[tuple[int, RunCounts]]:
    """Yield the run id and the counts to fill; the run ends `completed`, or `failed` with the error.

    The database's run lock is held throughout: a second run raises RunLocked before writing anything. Holding
    it proves that runs left `running` are dead, so they are marked failed; this run then loads what they did
    not (loading is idempotent: nothing they stored is stored twice).
    """
    with run_lock(engine):
        tasks.fail_interrupted_runs(engine)
        run_id = tasks.start_run(engine, flow, parameters)
        counts = RunCounts()
        try:
            yield run_id, counts
        except BaseException as exc:
            tasks.finish_run(engine, run_id, counts, "failed", f"{type(exc).__name__}: {exc}")
            raise
        tasks.finish_run(engine, run_id, counts, "completed")
    create_markdown_artifact(
        markdown=run_summary_markdown(flow, run_id, counts),
        key=f"newsetl-{flow}-run",
        description=f"newsetl {flow} run {run_id}",
    )


def load_input_folder(
    engine: Engine,
    run_id: int,
    counts: RunCounts,
    settings: Settings,
    date_range: DateRange | None = None,
    progress: Progress | None = None,
    retire_missing: bool = False,
) -> None:
    """Plan the input folder, read, annotate and load its new and changed files batch by batch, then settle the
    files gone from it (after loading, so that a moved file is a second source of its article, not a new one)."""
    plan = tasks.plan_files(engine, settings.input_dir)
    counts.skipped += plan.unchanged
    done, total = 0, len(plan.pending)
    if progress:
        progress(done, total)
    for batch in batches(plan.pending, settings.batch_size):
        counts.add(tasks.process_files(engine, run_id, batch, settings, date_range))
        done += len(batch)
        if progress:
            progress(done, total)
    counts.add(tasks.settle_missing_files(engine, run_id, plan.missing, retire_missing))
