"""The commands over the database and texts: `status`, `annotate`, `query`, `export`, `report` and `db`'s."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from etl.errors import NewsetlError, RejectedInput
from etl.settings import resolve_settings
from newsetl.options import DbOption, InputOption, SinceOption, UntilOption
from newsetl.rendering import EXIT_FAILED, fail, print_query_table, print_status, stderr, stdout


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
        raise fail(exc) from exc
    print_status(report, settings.input_dir)


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
        raise fail(exc) from exc
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
        raise fail(exc) from exc


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
        raise fail(exc) from exc
    for problem in problems:
        stdout.print(str(problem), highlight=False, soft_wrap=True, markup=False)
    if problems:
        stderr.print(f"[bold red]Error:[/] {len(problems)} integrity problems found", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    stdout.print("database is consistent", highlight=False)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


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
                print_query_table(stream, output)
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
        raise fail(exc) from exc


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


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
        raise fail(exc) from exc
    stdout.print(f"wrote {len(files)} files to {output}", highlight=False, soft_wrap=True)


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
        raise fail(exc) from exc
    output.write_text(page, encoding="utf-8")
    stdout.print(f"wrote {output}", highlight=False, soft_wrap=True)
