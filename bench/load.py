"""Loading alone: newsetl's load of rows already computed, against a bare SQLAlchemy Core `executemany` of the
same rows (issue 8: within 1.3×), on SQLite and, given a server, PostgreSQL.

The articles are read, cleaned and annotated once, outside any timing. Then, per backend and repeat:
- **newsetl**: `etl.pipeline.load_files` of those files into a fresh, migrated database, with the annotations
  made beforehand (what the SQLite path of a Dask run does): look-ups of stored content, upserts of entities and
  aliases, savepoints per article and per file, one commit;
- **executemany**: the rows that load left in the database, read back table by table, inserted into another
  fresh, migrated database with one `connection.execute(insert(table), rows)` per table in one transaction:
  no look-ups, no upserts, no savepoints, ids given.

Example: `.venv/bin/python bench/load.py ../shared/data/bbc --limit 500 --postgres postgresql+psycopg://…/postgres`
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import DEFAULT_CORPUS, article_paths, machine
from etl.database import open_database
from etl.input_files import PendingFile, ReadFile, read_files
from etl.models import Base
from etl.pipeline import Annotations, annotate_files, load_files
from etl.records import SourceFile
from etl.run_ledger import start_run
from etl.settings import resolve_settings

console = Console(width=None if sys.stdout.isatty() else 160)


def prepared(paths: Sequence[Path]) -> tuple[list[ReadFile], Annotations]:
    """The files read and cleaned, and their annotations, as the load receives them."""
    pending = []
    for path in paths:
        stat = path.stat()
        pending.append(PendingFile(SourceFile(path.resolve().as_posix(), stat.st_size, stat.st_mtime_ns), None))
    settings = resolve_settings()
    read = read_files(pending, settings)
    return read, annotate_files(read, settings)


def load_with_newsetl(db_url: str, read: list[ReadFile], annotations: Annotations) -> tuple[float, Engine]:
    engine = open_database(db_url)
    run_id = start_run(engine, "nightly", {})
    gc.collect()  # the garbage of what ran before is not this load's to collect
    started = time.perf_counter()
    load_files(engine, run_id, read, resolve_settings(db_url=db_url), annotations)
    return time.perf_counter() - started, engine


def load_with_executemany(db_url: str, loaded: Engine) -> tuple[float, int]:
    """Seconds to insert every row `loaded` holds (beyond what migrating gives a fresh database), and their count."""
    engine = open_database(db_url)
    with engine.connect() as fresh, loaded.connect() as source:
        tables = [
            table for table in Base.metadata.sorted_tables if not fresh.scalar(select(func.count()).select_from(table))
        ]
        rows = {table: [dict(row._mapping) for row in source.execute(select(table))] for table in tables}
    gc.collect()
    started = time.perf_counter()
    with engine.begin() as connection:
        for table, table_rows in rows.items():
            if table_rows:
                connection.execute(insert(table), table_rows)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, sum(len(table_rows) for table_rows in rows.values())


@contextmanager
def sqlite_databases(folder: Path) -> Iterator[Callable[[], str]]:
    def fresh() -> str:
        return f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"

    yield fresh


@contextmanager
def postgres_databases(server_url: str) -> Iterator[Callable[[], str]]:
    """New databases on the server of `server_url`, dropped at the end."""
    admin_url = server_url.replace("postgresql+psycopg://", "postgresql://")
    names: list[str] = []

    def fresh() -> str:
        names.append(f"bench_{uuid.uuid4().hex}")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{names[-1]}"')
        return server_url.rsplit("/", 1)[0] + f"/{names[-1]}"

    try:
        yield fresh
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(
    corpus: Annotated[Path, typer.Argument(help="Folder of articles (*.txt, read recursively).")] = DEFAULT_CORPUS,
    limit: Annotated[int, typer.Option(help="Use only the first N articles (in path order).")] = 500,
    exclude: Annotated[list[str], typer.Option(help="Glob of *.txt files that are not articles.")] = ["SOURCE.txt"],  # noqa: B006
    repeat: Annotated[int, typer.Option(min=1, help="Loads per backend; the median is reported.")] = 3,
    postgres: Annotated[
        str | None, typer.Option(help="postgresql+psycopg:// URL of a server's maintenance database, to bench it too.")
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Folder for the SQLite databases.")] = Path("/tmp/newsetl-bench-load"),
) -> None:
    """Time newsetl's load against a bare Core executemany of the same rows, and print the ratio."""
    info = machine()
    console.print(f"{info['nproc']} × {info['cpu']}, load {info['load_average']}")
    started = time.perf_counter()
    read, annotations = prepared(article_paths(corpus.resolve(), exclude)[:limit])
    articles = sum(len(file.articles) for file in read)
    console.print(f"{len(read)} files, {articles} articles read and annotated in {time.perf_counter() - started:.1f} s")
    workdir.mkdir(parents=True, exist_ok=True)
    backends: dict[str, Any] = {"sqlite": sqlite_databases(workdir)}
    if postgres:
        backends["postgresql"] = postgres_databases(postgres)
    table = Table("backend", "rows", "newsetl s (median)", "executemany s (median)", "ratio", title="Loading alone")
    for name, databases in backends.items():
        with databases as fresh:
            ours, bare, row_count = [], [], 0
            for _ in range(repeat):
                seconds, loaded = load_with_newsetl(fresh(), read, annotations)
                ours.append(seconds)
                seconds, row_count = load_with_executemany(fresh(), loaded)
                bare.append(seconds)
                loaded.dispose()
        ratio = statistics.median(ours) / statistics.median(bare)
        table.add_row(
            name, f"{row_count:,}", f"{statistics.median(ours):.2f}", f"{statistics.median(bare):.2f}", f"{ratio:.2f}"
        )
    console.print(table)
    console.print(f"load after: {machine()['load_average']}")


if __name__ == "__main__":
    typer.run(main)
