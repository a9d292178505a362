"""The `newsetl` command: thin wrappers over `etl` and `flows`; errors become one `Error: …` line."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Column, Table

from etl.errors import NewsetlError, RejectedInput, RunLocked, TransientDatabaseError
from etl.records import RunCounts
from etl.settings import Settings, resolve_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from etl.nlp.annotate import Annotator
    from etl.query import QueryStream
    from etl.status import Status

T = TypeVar("T")

app = typer.Typer(
    name="newsetl",
    help=(
        "Turn a folder of news articles into a database of entities and PLOVER events.\n\n"
        'Example: `newsetl run && newsetl query "SELECT event_type, count(*) AS n FROM events GROUP BY event_type"`'
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Manage the database schema.\n\nExample: `newsetl db upgrade --db sqlite:///data/newsetl.db`",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

stdout = Console()
stderr = Console(stderr=True)

# Exit statuses for schedulers; 2, a usage error, is Typer's own.
EXIT_FAILED = 1
EXIT_LOCKED = 3

# The per-file outcomes a run counts, in the order summaries show them.
FILE_STATUSES = ("loaded", "skipped", "duplicate", "rejected", "deleted")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $NEWSETL_DB_URL or sqlite:///data/newsetl.db).",
        show_default=False,
    ),
]
InputOption = Annotated[
    Path | None,
    typer.Option(
        "--input",
        help="Folder of articles (default: $NEWSETL_INPUT_DIR or seeds/articles).",
        show_default=False,
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


class Executor(StrEnum):
    local = "local"
    dask = "dask"


def _print_version(wanted: bool) -> None:
    if wanted:
        from etl import __version__

        stdout.print(f"newsetl {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print newsetl's version and exit."),
    ] = False,
) -> None:
    """newsetl's own options, before any command (`--version` is handled by its callback)."""


def _fail(exc: NewsetlError) -> typer.Exit:
    """Print `exc` as one `Error: …` line; exit 3 when another run holds the lock (schedulers may retry), else 1."""
    stderr.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_LOCKED if isinstance(exc, RunLocked) else EXIT_FAILED)


def _failed_run(exc: Exception) -> typer.Exit:
    """A run that failed on an unexpected error: its first line, for schedulers and people; the traceback is in
    Prefect's log above it and the error in the run's `runs` row."""
    reason = str(exc).strip().splitlines()
    return _fail(NewsetlError(f"run failed: {type(exc).__name__}" + (f": {reason[0]}" if reason else "")))


def _prepare_flow(settings: Settings) -> None:
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
        raise _fail(exc) from exc
    except SQLAlchemyError as exc:  # e.g. a server refusing the connection: no such database
        raise _failed_run(exc) from exc

    configure_prefect(settings.data_dir)


@contextmanager
def _prefect_for_run() -> Iterator[Callable[[], None]]:
    """Prefect for one flow run: its server started at once (unless `PREFECT_API_URL` names one), then Prefect
    imported with its console quiet about errors the command reports itself. Yields a function that waits until
    the server answers, to call just before the flow; the server stops when the block exits."""
    with _local_prefect_server(serving=False) as wait_until_ready:
        _console_without_tracebacks_of(NewsetlError)
        yield wait_until_ready


def _local_prefect_server(serving: bool) -> AbstractContextManager[Callable[[], None]]:
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


def _console_without_tracebacks_of(*types: type[BaseException]) -> None:
    """Prefect logs the exception that failed a task or flow with its traceback. For a NewsetlError, which names the
    step and the cause and which the command prints as its `Error:` line, the console keeps Prefect's line but not
    the traceback; Prefect's API (its UI) still gets it whole, its handler running before the record reaches the
    console's. Unexpected errors keep their traceback."""
    import prefect.main  # noqa: F401  (configures Prefect's logging, console handler included)
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            handler.addFilter(_NoTraceback(types))


def _head_start(settings: Settings, annotator: Annotator) -> None:
    """The first batch of files handed to the annotator's workers while Prefect starts."""
    from etl.pipeline import annotate_first_batch

    _before_prefect(settings, lambda engine: annotate_first_batch(engine, settings, annotator))


def _nightly_if_idle(settings: Settings, retire_missing: bool) -> RunCounts | None:
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
        raise _fail(exc) from exc


@contextmanager
def _file_progress() -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar over the files a run reads, on stderr so that stdout stays the summary."""
    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task("reading files", total=None)
        yield _ProgressBar(lambda done, total: progress.update(task, completed=done, total=total))


class _ProgressBar:
    """Moves the run's progress bar. A flow's parameters travel with its tasks to Dask workers (Prefect sends
    the flow run's context), where a copy has no bar to move: it is sent without it and does nothing."""

    def __init__(self, update: Callable[[int, int], None] | None) -> None:
        self._update = update

    def __call__(self, done: int, total: int) -> None:
        if self._update is not None:
            self._update(done, total)

    def __reduce__(self) -> tuple[type[_ProgressBar], tuple[None]]:
        return _ProgressBar, (None,)


def _print_counts(title: str, counts: RunCounts) -> None:
    table = Table(title=title, show_header=False)
    for name in FILE_STATUSES:
        table.add_row(f"files {name}", str(getattr(counts, name)))
    for name in ("articles", "mentions", "events"):
        table.add_row(f"{name} loaded", str(getattr(counts, name)))
    stdout.print(table)


@app.command()
def run(
    input_dir: InputOption = None,
    db: DbOption = None,
    retire_missing: Annotated[
        bool,
        typer.Option(help="Delete the articles of files gone from the input folder (default: keep and report them)."),
    ] = False,
    executor: Annotated[
        Executor | None,
        typer.Option(
            help="Where batches are read and annotated: local (this process) or dask. [default: NEWSETL_EXECUTOR]"
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Dask scheduler to use with --executor dask (tcp://host:8786). [default: a local cluster]"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes of the local Dask cluster. [default: NEWSETL_DASK_WORKERS, 2]"),
    ] = None,
) -> None:
    """Load new and changed articles from the input folder (the nightly flow).

    Files unchanged since the last run are skipped; bad files are recorded in `rejected_files` and do not
    stop the run. Files gone from the input folder are reported as deleted and their articles kept, unless
    `--retire-missing` is given. With `--executor dask`, batches of files are spread over the workers of a Dask
    cluster: a local one of `--workers` processes, or the one whose scheduler is at `--address`.

    Exit status, for schedulers: **0** the run completed (rejected files alone do not fail it); **1** the run
    failed, with the reason on one `Error:` line; **2** a usage error; **3** another run holds the lock on this
    database, and this one did not start.

    Example: `newsetl run --input seeds/articles --db sqlite:///data/newsetl.db`
    """
    settings = resolve_settings(
        input_dir=input_dir, db_url=db, executor=executor, dask_address=address, dask_workers=workers
    )
    _prepare_flow(settings)
    counts = _nightly_if_idle(settings, retire_missing)
    if counts is not None:
        _print_counts(f"newsetl run: {settings.input_dir}", counts)
        return
    from etl.pipeline import annotator_for

    try:
        with _prefect_for_run() as prefect_ready, _file_progress() as progress, annotator_for(settings) as annotator:
            local = settings.executor == "local"
            if local:
                annotator.start()  # its workers load the model while Prefect's server starts and Prefect is imported
                _head_start(settings, annotator)
            from flows.nightly import nightly

            prefect_ready()
            counts = nightly(
                input_dir=str(settings.input_dir),
                db_url=settings.db_url,
                retire_missing=retire_missing,
                progress=progress,
                executor=settings.executor,
                dask_address=settings.dask_address,
                dask_workers=settings.dask_workers,
                annotator=annotator if local else None,
            )
    except NewsetlError as exc:
        raise _fail(exc) from exc
    except Exception as exc:
        raise _failed_run(exc) from exc
    _print_counts(f"newsetl run: {settings.input_dir}", counts)


@app.command()
def backfill(
    since: Annotated[datetime, typer.Option(help="First publication date (YYYY-MM-DD).", formats=["%Y-%m-%d"])],
    until: Annotated[datetime, typer.Option(help="Last publication date (YYYY-MM-DD).", formats=["%Y-%m-%d"])],
    reprocess: Annotated[
        bool,
        typer.Option(
            help="Also re-annotate the stored articles in the range that an older pipeline version annotated."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Re-annotate every stored article in the range, whatever its version.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Say what would be read and re-annotated, chunk by chunk, without writing.")
    ] = False,
    input_dir: InputOption = None,
    db: DbOption = None,
) -> None:
    """Redo a range of publication dates (the backfill flow).

    Loads the new and changed files whose articles fall in the range. With `--reprocess`, articles stored
    earlier by another pipeline version (model, lexicon or reference data) are annotated again, their rows
    replaced in one transaction each; `--force` takes every article in the range. Re-annotation runs in chunks
    of `NEWSETL_BACKFILL_CHUNK_DAYS` days, in parallel. After a failure, run the same command again: it does only
    what is left. Exit statuses as for `newsetl run`.

    Example: `newsetl backfill --since 2022-11-01 --until 2022-11-30 --reprocess --dry-run`
    """
    if since > until:
        raise _fail(NewsetlError(f"--since {since.date()} is after --until {until.date()}"))
    settings = resolve_settings(input_dir=input_dir, db_url=db)
    if dry_run:
        _print_backfill_plan(settings, since.date(), until.date(), reprocess or force, force)
        return
    _prepare_flow(settings)
    try:
        with _prefect_for_run() as prefect_ready, _file_progress() as progress:
            from flows.backfill import backfill as backfill_flow

            prefect_ready()
            counts = backfill_flow(
                since=since.date(),
                until=until.date(),
                input_dir=str(settings.input_dir),
                db_url=settings.db_url,
                reprocess=reprocess,
                force=force,
                progress=progress,
            )
    except NewsetlError as exc:
        raise _fail(exc) from exc
    except Exception as exc:
        raise _failed_run(exc) from exc
    _print_counts(f"newsetl backfill {since.date()} … {until.date()}", counts)


def _print_backfill_plan(settings: Settings, since: date, until: date, reprocess: bool, force: bool) -> None:
    from etl.backfill import plan_backfill
    from etl.database import open_existing_database
    from etl.pipeline import DateRange

    try:
        engine = open_existing_database(settings.db_url)
        plan = plan_backfill(engine, settings, DateRange(since, until), reprocess, force)
    except NewsetlError as exc:
        raise _fail(exc) from exc
    stdout.print(
        f"dry run, nothing written: {plan.files_to_read} new or changed files in {settings.input_dir} to read "
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


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="When to run, as a cron expression.")] = "0 2 * * *",
    timezone: Annotated[str, typer.Option(help="IANA time zone the cron expression is read in.")] = "UTC",
    input_dir: InputOption = None,
    db: DbOption = None,
    retire_missing: Annotated[
        bool, typer.Option(help="Scheduled runs delete the articles of files gone from the input folder.")
    ] = False,
) -> None:
    """Run the nightly flow on a schedule, with Prefect's scheduler, until stopped (Ctrl-C or SIGTERM).

    With `PREFECT_API_URL` set, the schedule is registered on that Prefect server. Otherwise a local Prefect
    server is started on 127.0.0.1 (state under `NEWSETL_DATA_DIR`/prefect, the address of its UI printed) and
    stopped on exit. Each scheduled run is a `runs` row like one from `newsetl run`.

    Example: `newsetl serve --cron "30 2 * * *" --timezone Europe/Berlin --input /srv/wire/articles`
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    settings = resolve_settings(input_dir=input_dir, db_url=db)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(NewsetlError(f"--timezone {timezone!r} is not an IANA time zone such as Europe/Berlin")) from None
    _prepare_flow(settings)
    given_api_url = os.environ.get("PREFECT_API_URL")
    try:
        with _local_prefect_server(serving=True) as prefect_ready:
            _console_without_tracebacks_of(NewsetlError)
            from prefect.schedules import Cron

            try:
                Cron(cron, timezone=timezone)
            except ValueError as exc:
                raise NewsetlError(f"--cron: {exc}") from None
            from flows.serve import serve_nightly

            prefect_ready()
            api_url = os.environ["PREFECT_API_URL"]
            scheduler = (
                f"the Prefect server at {api_url}"
                if given_api_url
                else f"a local Prefect server, UI at {api_url.removesuffix('/api')}"
            )
            stdout.print(
                f"serving the nightly flow on cron {cron!r} ({timezone}) over {settings.input_dir}, scheduled by "
                f"{scheduler}; stop with Ctrl-C",
                highlight=False,
            )
            serve_nightly(cron, timezone, str(settings.input_dir.resolve()), settings.db_url, retire_missing)
    except NewsetlError as exc:
        raise _fail(exc) from exc


@app.command()
def status(
    input_dir: InputOption = None,
    db: DbOption = None,
    runs: Annotated[int, typer.Option(min=1, help="How many of the latest runs to show.")] = 10,
) -> None:
    """Show the latest runs, what is pending in the input folder, and the files those runs rejected.

    Pending files are found from path, size and modification time alone, without reading them. A run shown as
    `running` whose process is gone is marked failed (interrupted) by the next run.

    Example: `newsetl status --db sqlite:///data/newsetl.db --input seeds/articles`
    """
    from etl.status import database_status

    settings = resolve_settings(input_dir=input_dir, db_url=db)
    try:
        report = database_status(settings.db_url, settings.input_dir, last_runs=runs)
    except NewsetlError as exc:
        raise _fail(exc) from exc
    _print_status(report, settings.input_dir)


def _print_status(report: Status, input_dir: Path) -> None:
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


@app.command()
def annotate(
    model: Annotated[str | None, typer.Option(help="spaCy model (default: $NEWSETL_SPACY_MODEL).")] = None,
) -> None:
    """Annotate JSON lines from stdin without a database: the transform alone, for trying it on any text.

    Each input line is `{"id", "text"}` (optional `published_at`, to resolve dates such as "on Wednesday");
    each output line is `{"id", "entities": [...], "events": [...]}` with offsets into the given text.

    Example: `echo '{"id": 1, "text": "Russia withdrew its troops from Kherson."}' | newsetl annotate`
    """
    from etl.nlp.annotate import annotate as annotate_texts
    from etl.nlp.annotate import annotation_json
    from etl.nlp.lexicon import load_lexicon
    from etl.nlp.model import load_pipeline

    settings = resolve_settings(spacy_model=model)
    bad_lines: list[str] = []
    try:
        nlp = load_pipeline(settings.spacy_model)
        items = _annotate_inputs(sys.stdin, bad_lines)
        for annotation, record_id in annotate_texts(nlp, items, load_lexicon(), batch_size=settings.nlp_batch_size):
            if isinstance(annotation, RejectedInput):
                bad_lines.append(f"id {json.dumps(record_id)}: {annotation.reason}")
                continue
            sys.stdout.write(json.dumps(annotation_json(record_id, annotation), ensure_ascii=False) + "\n")
    except NewsetlError as exc:
        raise _fail(exc) from exc
    for message in bad_lines:
        stderr.print(f"[bold red]Error:[/] stdin {message}", highlight=False, soft_wrap=True)
    if bad_lines:
        raise typer.Exit(1)


def _annotate_inputs(lines: Any, bad_lines: list[str]) -> Iterator[tuple[str, date | None, Any]]:
    """Valid `(text, publication date, id)` inputs; a bad line is noted and skipped, the rest go on."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            # Without its line end: a cut-off string would otherwise read as "Invalid control character".
            record = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            bad_lines.append(f"line {number}: invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            bad_lines.append(f"line {number}: expected an object with a string field 'text'")
            continue
        published = record.get("published_at")
        try:
            day = datetime.fromisoformat(published).date() if isinstance(published, str) else None
        except ValueError:
            bad_lines.append(f"line {number}: published_at {published!r} is not an ISO 8601 date")
            continue
        yield record["text"], day, record.get("id")


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create the database or migrate it to the newest schema (run automatically by `newsetl run`).

    Example: `newsetl db upgrade --db postgresql+psycopg://etl@localhost/news`
    """
    from etl.database import create_engine_for, current_revision, upgrade

    settings = resolve_settings(db_url=db)
    try:
        engine = create_engine_for(settings.db_url)
        upgrade(engine, settings.grouping)
        stdout.print(f"database at revision {current_revision(engine)}")
    except NewsetlError as exc:
        raise _fail(exc) from exc


@db_app.command("check")
def db_check(db: DbOption = None) -> None:
    """Check the database's integrity: foreign keys, offsets that slice their article bodies, every article with
    its source, event cluster counts against their events, near-duplicate links, run counts against their rows,
    and no run left running by a dead process.

    Exit status: **0** consistent; **1** problems, one per line (see docs/reliability.md for each check).

    Example: `newsetl db check --db sqlite:///data/newsetl.db`
    """
    from etl.database import open_existing_database
    from etl.integrity import check_database

    settings = resolve_settings(db_url=db)
    try:
        problems = check_database(open_existing_database(settings.db_url))
    except NewsetlError as exc:
        raise _fail(exc) from exc
    for problem in problems:
        stdout.print(str(problem), highlight=False, soft_wrap=True, markup=False)
    if problems:
        stderr.print(f"[bold red]Error:[/] {len(problems)} integrity problems found", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    stdout.print("database is consistent", highlight=False)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One SQL statement; the connection is read-only.")],
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    db: DbOption = None,
) -> None:
    """Run read-only SQL on the results and print them as a table, CSV, JSON (one array of objects) or Parquet.

    CSV, JSON and Parquet are written as the rows arrive, a chunk at a time, so large results fit in memory;
    Parquet needs `--output` and the pyarrow package.

    Example: `newsetl query "SELECT * FROM event_facts WHERE event_type = 'ASSAULT'" --format csv --output a.csv`
    """
    from etl.export import require_parquet, write_csv, write_json, write_parquet
    from etl.query import stream_query

    settings = resolve_settings(db_url=db)
    try:
        if output_format is OutputFormat.parquet:
            if output is None:
                raise NewsetlError("--format parquet needs --output FILE")
            require_parquet()
        with stream_query(settings.db_url, sql) as stream:
            if output_format is OutputFormat.table:
                _print_query_table(stream, output)
            elif output_format is OutputFormat.parquet and output is not None:
                write_parquet(stream, output)
            else:
                write = write_csv if output_format is OutputFormat.csv else write_json
                if output is None:
                    write(stream, sys.stdout)
                else:
                    with output.open("w", encoding="utf-8", newline="") as file:
                        write(stream, file)
    except NewsetlError as exc:
        raise _fail(exc) from exc


def _print_query_table(stream: QueryStream, output: Path | None) -> None:
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


SinceOption = Annotated[
    datetime | None, typer.Option(help="First publication date (YYYY-MM-DD).", formats=["%Y-%m-%d"])
]
UntilOption = Annotated[datetime | None, typer.Option(help="Last publication date (YYYY-MM-DD).", formats=["%Y-%m-%d"])]


@app.command()
def export(
    output: Annotated[Path, typer.Option(help="Folder to write one file per table and view into.")],
    file_format: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.csv,
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = None,
) -> None:
    """Write the main tables and views, one file each, for pandas, DuckDB or a BI tool.

    With `--since`/`--until`, rows that belong to an article (articles, mentions, events and their
    participants, `event_facts`, `article_overview`, `entity_daily_mentions`) are those of articles published
    in that range, both ends included; entities, reference tables, runs and `actor_dyads` are written whole.

    Example: `newsetl export --since 2022-11-01 --until 2022-11-30 --format parquet --output exports/november`
    """
    from etl.database import open_existing_database
    from etl.export import FileFormat, export_tables

    settings = resolve_settings(db_url=db)
    try:
        files = export_tables(
            open_existing_database(settings.db_url),
            output,
            FileFormat(file_format.value),
            since=since.date() if since else None,
            until=until.date() if until else None,
        )
    except NewsetlError as exc:
        raise _fail(exc) from exc
    stdout.print(f"wrote {len(files)} files to {output}", highlight=False, soft_wrap=True)


@app.command()
def report(
    output: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = None,
) -> None:
    """Write one self-contained HTML page: articles per day, events per type, top actors and dyads, most
    mentioned entities, a map of event locations, the latest runs and the files they rejected.

    The page needs no network: styles and drawing are inline.

    Example: `newsetl report --since 2022-11-01 --until 2022-11-30 --output report.html`
    """
    from etl.database import open_existing_database
    from etl.report import build_report

    settings = resolve_settings(db_url=db)
    try:
        page = build_report(
            open_existing_database(settings.db_url), since.date() if since else None, until.date() if until else None
        )
    except NewsetlError as exc:
        raise _fail(exc) from exc
    output.write_text(page, encoding="utf-8")
    stdout.print(f"wrote {output}", highlight=False, soft_wrap=True)
