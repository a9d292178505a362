"""Batches of files on a Dask cluster, through prefect-dask: each worker process reads and annotates batches.

With PostgreSQL a worker loads its own rows (loading is idempotent and each article is stored whole, so
concurrent workers store every content once); SQLite has one writer, so a worker sends its annotations back to
the run's process, which loads them. Workers are the parallelism: each annotates in its own process
(`n_process` 1), keeps one spaCy pipeline (`load_pipeline` is cached per process) and one engine per database.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from etl.article_store import stored_content
from etl.database import create_engine_for
from etl.input_files import PendingFile, ReadFile, read_files
from etl.pipeline import Annotations, annotate_files, load_files
from etl.records import DateRange, RunCounts
from etl.settings import Settings

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner


@contextmanager
def dask_task_runner(settings: Settings) -> Iterator["DaskTaskRunner"]:
    """A started task runner on the cluster at `dask_address`, or on a local cluster of `dask_workers` processes
    with one thread each (spaCy holds the GIL) that stops with the block."""
    from prefect_dask import DaskTaskRunner  # here: Dask adds a second to every run's start-up otherwise

    if settings.dask_address:
        runner = DaskTaskRunner(address=settings.dask_address)
    else:
        runner = DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={"n_workers": settings.dask_workers, "threads_per_worker": 1, "processes": True},
        )
    with runner:
        yield runner


def process_files_on_worker(
    run_id: int, files: Sequence[PendingFile], settings: Settings, date_range: DateRange | None
) -> RunCounts:
    """On a worker, with PostgreSQL: read and annotate a batch, then load it. Content already stored is not
    annotated; the load is one short transaction, after the annotation rather than around it."""
    settings = _worker_settings(settings)
    engine = _engine(settings.db_url, settings.sqlite_busy_timeout_ms)
    read = read_files(files, settings, date_range)
    stored = stored_content(engine, [article.content_sha256 for file in read for article in file.articles])
    return load_files(engine, run_id, read, settings, annotate_files(read, settings, stored))


def annotate_files_on_worker(
    files: Sequence[PendingFile], settings: Settings, date_range: DateRange | None
) -> tuple[list[ReadFile], Annotations]:
    """On a worker, with SQLite: read and annotate a batch without the database, for the run's process to load."""
    settings = _worker_settings(settings)
    read = read_files(files, settings, date_range)
    return read, annotate_files(read, settings)


def _worker_settings(settings: Settings) -> Settings:
    # Dask's worker processes are daemons, which may not start processes of their own.
    return settings.model_copy(update={"n_process": 1})


@cache
def _engine(db_url: str, sqlite_busy_timeout_ms: int) -> Engine:
    """One engine (and connection pool) per database per worker process; the run's process migrated the schema."""
    return create_engine_for(db_url, sqlite_busy_timeout_ms)
