"""The commands that run a flow: `run`, `backfill` and `serve`; they parse options, start the flow and print."""

from __future__ import annotations

import os
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import typer

from etl.errors import NewsetlError
from etl.settings import Settings, resolve_settings
from newsetl.options import DbOption, InputOption
from newsetl.rendering import fail, failed_run, file_progress, print_backfill_plan, print_counts, stdout


class Executor(StrEnum):
    local = "local"
    dask = "dask"


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
            help="Where articles are annotated: local (worker processes here) or dask. [default: NEWSETL_EXECUTOR]"
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
    `--retire-missing` is given. With `--executor dask`, articles are annotated by the workers of a Dask cluster
    (a local one of `--workers` processes, or the one whose scheduler is at `--address`) instead of this machine's.

    Exit status, for schedulers: **0** the run completed (rejected files alone do not fail it); **1** the run
    failed, with the reason on one `Error:` line; **2** a usage error; **3** another run holds the lock on this
    database, and this one did not start.

    Example: `newsetl run --input seeds/articles --db sqlite:///data/newsetl.db`
    """
    settings = resolve_settings(
        input_dir=input_dir, db_url=db, executor=executor, dask_address=address, dask_workers=workers
    )
    from flows.launch import run_nightly

    try:
        with file_progress() as progress:
            counts = run_nightly(settings, retire_missing, progress)
    except NewsetlError as exc:
        raise fail(exc) from exc
    except Exception as exc:
        raise failed_run(exc) from exc
    print_counts(f"newsetl run: {settings.input_dir}", counts)


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
        raise fail(NewsetlError(f"--since {since.date()} is after --until {until.date()}"))
    settings = resolve_settings(input_dir=input_dir, db_url=db)
    if dry_run:
        _backfill_plan(settings, since.date(), until.date(), reprocess or force, force)
        return
    from flows.launch import run_backfill

    try:
        with file_progress() as progress:
            counts = run_backfill(settings, since.date(), until.date(), reprocess, force, progress)
    except NewsetlError as exc:
        raise fail(exc) from exc
    except Exception as exc:
        raise failed_run(exc) from exc
    print_counts(f"newsetl backfill {since.date()} … {until.date()}", counts)


def _backfill_plan(settings: Settings, since: date, until: date, reprocess: bool, force: bool) -> None:
    from etl.backfill import plan_backfill
    from etl.database import open_existing_database
    from etl.records import DateRange

    try:
        engine = open_existing_database(settings.db_url)
        plan = plan_backfill(engine, settings, DateRange(since, until), reprocess, force)
    except NewsetlError as exc:
        raise fail(exc) from exc
    print_backfill_plan(plan, settings.input_dir, since, until)


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
        raise fail(NewsetlError(f"--timezone {timezone!r} is not an IANA time zone such as Europe/Berlin")) from None
    from sqlalchemy.exc import SQLAlchemyError

    from flows.launch import console_without_tracebacks_of, prefect_server, prepare_flow

    try:
        prepare_flow(settings)
    except NewsetlError as exc:
        raise fail(exc) from exc
    except SQLAlchemyError as exc:  # e.g. a server refusing the connection: no such database
        raise failed_run(exc) from exc
    given_api_url = os.environ.get("PREFECT_API_URL")
    try:
        with prefect_server(serving=True) as prefect_ready:
            console_without_tracebacks_of(NewsetlError)
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
                soft_wrap=True,  # one line, as the other messages that carry paths: "UI at <url>" stays whole in logs
            )
            serve_nightly(cron, timezone, str(settings.input_dir.resolve()), settings.db_url, retire_missing)
    except NewsetlError as exc:
        raise fail(exc) from exc
