"""What the `newsetl` commands print: run summaries, the status and backfill-plan tables, query results as a
table, the progress bar on stderr, and a failure as one `Error: …` line with its exit status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, TaskID
from rich.table import Column, Table

from etl.errors import NewsetlError, RunLocked
from etl.records import RunCounts

if TYPE_CHECKING:
    from etl.backfill import BackfillPlan
    from etl.query import QueryStream
    from etl.status import Status

stdout = Console()
stderr = Console(stderr=True)

# Exit statuses for schedulers; 2, a usage error, is Typer's own.
EXIT_FAILED = 1
EXIT_LOCKED = 3

# The per-file outcomes a run counts, in the order summaries show them.
FILE_STATUSES = ("loaded", "skipped", "duplicate", "rejected", "deleted")


def fail(exc: NewsetlError) -> typer.Exit:
    """Print `exc` as one `Error: …` line; exit 3 when another run holds the lock (schedulers may retry), else 1."""
    stderr.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_LOCKED if isinstance(exc, RunLocked) else EXIT_FAILED)


def failed_run(exc: Exception) -> typer.Exit:
    """A run that failed on an unexpected error: its first line, for schedulers and people; the traceback is in
    Prefect's log above it and the error in the run's `runs` row."""
    reason = str(exc).strip().splitlines()
    return fail(NewsetlError(f"run failed: {type(exc).__name__}" + (f": {reason[0]}" if reason else "")))


@contextmanager
def file_progress() -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar over the files a run reads, on stderr so that stdout stays the summary; shown from its
    first update, so that a run refused or found idle before it reads shows none."""
    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    progress = Progress(*columns, console=stderr, transient=True)
    task: TaskID | None = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            progress.start()
            task = progress.add_task("reading files", total=None)
        progress.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if task is not None:
            progress.stop()


def print_counts(title: str, counts: RunCounts) -> None:
    table = Table(title=title, show_header=False)
    for name in FILE_STATUSES:
        table.add_row(f"files {name}", str(getattr(counts, name)))
    for name in ("articles", "mentions", "events"):
        table.add_row(f"{name} loaded", str(getattr(counts, name)))
    stdout.print(table)


def print_backfill_plan(plan: BackfillPlan, input_dir: Path, since: date, until: date) -> None:
    stdout.print(
        f"dry run, nothing written: {plan.files_to_read} new or changed files in {input_dir} to read "
        f"(their articles published {since} … {until} are loaded); pipeline version {plan.pipeline_version}",
        highlight=False,
    )
    if plan.resumes_run is not None:
        stdout.print(f"resumes forced backfill run {plan.resumes_run}", highlight=False)
    table = Table("chunk", "since", "until", "stored articles", "to re-annotate", title="chunks")
    for number, chunk in enumerate(plan.chunks, start=1):
        table.add_row(
            str(number),
            str(chunk.date_range.since),
            str(chunk.date_range.until),
            str(chunk.stored_articles),
            str(chunk.to_reannotate),
        )
    stdout.print(table)


def print_status(report: Status, input_dir: Path) -> None:
    colours = {"completed": "green", "failed": "red", "running": "yellow"}
    columns = ("run", "flow", "status", "started (UTC)", "duration", *FILE_STATUSES, "articles", "error")
    table = Table(*columns, title="latest runs")
    for run in report.runs:
        duration = "" if run.duration is None else f"{run.duration.total_seconds():.1f} s"
        table.add_row(
            str(run.id),
            run.flow,
            f"[{colours.get(run.status, 'default')}]{run.status}[/]",
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            duration,
            *(str(getattr(run.counts, name)) for name in FILE_STATUSES),
            str(run.counts.articles),
            (run.error or "").splitlines()[0] if run.error else "",
        )
    stdout.print(table if report.runs else "no runs yet")
    if report.pending is None:
        stdout.print(f"input folder: {report.input_problem}", highlight=False)
    else:
        pending = report.pending
        stdout.print(
            f"input folder {input_dir}: {pending.new} new, {pending.changed} changed, {pending.missing} missing, "
            f"{pending.unchanged} unchanged",
            highlight=False,
        )
    if not report.rejected:
        stdout.print("no rejected files in these runs")
        return
    rejected = Table("run", "file", "record", "reason", title="rejected files")
    for item in report.rejected:
        rejection = item.rejection
        rejected.add_row(str(item.run_id), rejection.source_path, str(rejection.record_index), rejection.reason)
    stdout.print(rejected)


def print_query_table(stream: QueryStream, output: Path | None) -> None:
    # Long values wrap rather than end in "…": a table must not drop data.
    table = Table(*(Column(name, overflow="fold") for name in stream.columns))
    for chunk in stream.chunks:
        for row in chunk:
            table.add_row(*("" if value is None else str(value) for value in row))
    if output:
        with output.open("w", encoding="utf-8") as file:
            Console(file=file).print(table)
    else:
        stdout.print(table)
