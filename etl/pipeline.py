"""Annotating and loading the batches of files `etl.input_files` read: stored content recorded as it is, the rest
annotated (in this process, or by workers reading ahead: processes of this machine or a Dask cluster's) and loaded;
and re-annotation.

With `etl.input_files`, the steps that chain the stages: files → raw documents → articles → annotations → rows. Each
public function is one step a flow (or a test) can call on its own; none of them knows about Prefect.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import Engine

from etl.article_store import load_articles, load_stored_content, replace_annotations, stored_content
from etl.database import transaction
from etl.errors import RejectedInput, TransientDatabaseError
from etl.file_ledger import FileRecord, mark_missing, record_files, retire_file
from etl.input_files import PendingFile, ReadFile, plan_files, read_files, rejection
from etl.nlp.annotate import Outcome
from etl.nlp.annotator import Annotator
from etl.nlp.lexicon import load_lexicon
from etl.nlp.workers import DaskCluster
from etl.records import (
    AnnotatedArticle,
    Annotation,
    Article,
    DateRange,
    FileStatus,
    Rejection,
    RunCounts,
)
from etl.settings import Settings
from etl.stored_articles import articles_in_range as stored_articles_in_range

T = TypeVar("T")
logger = logging.getLogger(__name__)
# Articles stored per statement as their annotations arrive (see `load_files`).
LOAD_CHUNK_ARTICLES = 32


@dataclass(frozen=True, slots=True)
class Annotations:
    """Annotations made away from the database, before the load (`annotate_files`), by content hash, with the
    version of the pipeline that made them."""

    pipeline_version: str
    by_content: dict[str, Outcome]  # an annotation, or why the content could not be annotated


# Called with (files done, files to read) as a run goes; the CLI shows it as a progress bar.
Progress = Callable[[int, int], None]


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items (itertools.batched needs Python 3.12)."""
    return (items[start : start + size] for start in range(0, len(items), size))


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items of a stream, each as soon as it is full."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def annotator_for(settings: Settings) -> Annotator:
    """The annotator a run keeps open for all its batches, so that its workers load the model once: the Dask
    cluster's with the `dask` executor, else `n_process` processes of this machine."""
    cluster = DaskCluster(settings.dask_address, settings.dask_workers) if settings.executor == "dask" else None
    return Annotator(
        settings.spacy_model,
        load_lexicon(),
        batch_size=settings.nlp_batch_size,
        n_process=settings.n_process,
        cluster=cluster,
    )


def annotate_first_batch(engine: Engine, settings: Settings, annotator: Annotator) -> None:
    """Hand `annotator` the articles of the input folder's first batch of new and changed files now, before the run
    starts (its orchestrator takes seconds to), for the run's first load to collect. Only reads: the run plans and
    reads again under its lock, and parses anew what changed in between."""
    first = plan_files(engine, settings.input_dir).pending[: settings.batch_size]
    annotator.annotate_ahead(_texts_to_annotate(engine, read_files(first, settings)))


def read_ahead(
    engine: Engine,
    batches: Iterable[Sequence[PendingFile]],
    settings: Settings,
    annotator: Annotator,
    date_range: DateRange | None = None,
) -> Iterator[list[ReadFile]]:
    """Each batch's files read (`read_files`), one batch ahead: before a batch is yielded, the next is read and
    its articles whose content is not stored are queued on `annotator` (`Annotator.queue_next`). Its workers go
    on to them as soon as they have the yielded batch's, while this process loads that batch (`load_files` with
    the same annotator collects them): they never wait for the load, the commit and the next read in between.
    Content that the load before stores meanwhile is parsed for nothing, then found stored; only its time is lost.
    """
    upcoming = (read_files(batch, settings, date_range) for batch in batches)
    current = next(upcoming, None)
    while current is not None:
        following = next(upcoming, None)
        if following is not None:
            annotator.queue_next(_texts_to_annotate(engine, following))
        yield current
        current = following


def _texts_to_annotate(engine: Engine, read: Sequence[ReadFile]) -> list[tuple[str, date | None]]:
    """What `load_files` will give the annotator of these files, as far as the database tells now."""
    articles = [article for file in read for article in file.articles]
    try:
        stored = stored_content(engine, [article.content_sha256 for article in articles])
    except TransientDatabaseError:  # a head start only: the load, retried, annotates what it must itself
        return []
    return [(a.body, _day(a.published_at)) for a in articles if a.content_sha256 not in stored]


def annotate_files(read: Sequence[ReadFile], settings: Settings, stored: Collection[str] = ()) -> Annotations:
    """Annotate the articles of files read, except those whose content hash is in `stored`, without the database,
    for `load_files` to load in one go (`bench/load.py` times the load alone so)."""
    articles = [a for file in read for a in file.articles if a.content_sha256 not in stored]
    with annotator_for(settings) as annotator:
        return Annotations(
            annotator.version,
            {article.content_sha256: outcome for article, outcome in _annotated(articles, annotator)},
        )


def load_files(
    engine: Engine,
    run_id: int,
    read: Sequence[ReadFile],
    settings: Settings,
    annotations: Annotations | None = None,
    annotator: Annotator | None = None,
) -> RunCounts:
    """Load a batch of files read by `read_files`: content already stored is recorded as it is, the rest is
    annotated by `annotator` (or one opened for this batch) unless `annotations` (made elsewhere by
    `annotate_files`) holds it."""
    counts = RunCounts()
    rejections: dict[str, list[Rejection]] = {}
    records = []  # of the files recorded as they are, unread or unchanged
    for file in read:
        counts.file_seconds[file.pending.source.path] = file.seconds
        if file.sha256 is None:
            status = FileStatus.REJECTED if file.pending.unreadable_before else FileStatus.SKIPPED
            records.append(FileRecord(file.pending.source, file.pending.known_sha256 or "", status))
            counts.skipped += 1
        else:
            rejections[file.pending.source.path] = list(file.rejections)
    read = [file for file in read if file.sha256 is not None]

    statuses: dict[str, list[FileStatus]] = {path: [] for path in rejections}
    # One commit for the batch: its articles, stored set-wise (each whole or not at all), and its files' records.
    with transaction(engine, f"load a batch of {len(read)} files") as connection:
        articles = [a for file in read for a in file.articles]
        stored = stored_content(connection, [a.content_sha256 for a in articles])
        to_annotate = []  # content already stored is recorded as it is, not parsed again
        for article in articles:
            status = load_stored_content(connection, article) if article.content_sha256 in stored else None
            if status is None:
                to_annotate.append(article)
            else:
                statuses[article.source_path].append(status)
        # Loaded a few dozen at a time as the annotations come: set-wise, while the workers parse the next ones.
        # Annotations made before the load are all there, and are loaded in one go: only a whole batch's entities
        # upserted first, in key order, keep the order of locks the same in loads running at once (`load_articles`).
        # An article's time is its share of the time from the previous load to its own.
        chunk_size = max(len(to_annotate), 1) if annotations is not None else LOAD_CHUNK_ARTICLES
        started = time.perf_counter()
        annotated = _annotated_here_or_before(to_annotate, settings, annotations, annotator)
        # An article that could not be annotated, or whose rows cannot be stored, is rejected alone.
        for chunk in _chunks(annotated, chunk_size):
            loadable = [(AnnotatedArticle(a, outcome), v) for a, outcome, v in chunk if isinstance(outcome, Annotation)]
            loaded = iter(load_articles(connection, run_id, loadable, settings.grouping))
            finished = time.perf_counter()
            for article, outcome, _version in chunk:
                path = article.source_path
                status = outcome if isinstance(outcome, RejectedInput) else next(loaded)
                if isinstance(status, RejectedInput):  # this article only: nothing of it was written
                    rejections[path].append(rejection(path, article.record_index, article.content_sha256, status))
                    status = FileStatus.REJECTED
                statuses[path].append(status)
                counts.file_seconds[path] += (finished - started) / len(chunk)
                if status is FileStatus.LOADED:
                    counts.articles += 1
                    counts.mentions += len(outcome.mentions)
                    counts.events += len(outcome.events)
            started = finished

        for file in read:
            path = file.pending.source.path
            status = _file_status(statuses[path])
            records.append(FileRecord(file.pending.source, file.sha256, status, tuple(rejections[path])))
            setattr(counts, status.value, getattr(counts, status.value) + 1)
            counts.rejections.extend(rejections[path])
        record_files(connection, run_id, records)
    return counts


def settle_missing_files(engine: Engine, run_id: int, paths: Sequence[str], retire: bool) -> RunCounts:
    """Files gone from the input folder: with `retire`, forget them and delete the articles only they held,
    one transaction per file; otherwise mark them missing and keep their articles. Either way they are counted."""
    for path in paths:
        if retire:
            retire_file(engine, path)
        else:
            mark_missing(engine, path, run_id)
    return RunCounts(deleted=len(paths))


def reprocess_articles(
    engine: Engine,
    run_id: int,
    date_range: DateRange,
    settings: Settings,
    updated_before_run: int | None = None,
) -> RunCounts:
    """Re-annotate, in place, the stored articles published in `date_range` that another pipeline version
    annotated (after a model, lexicon or reference data change); with `updated_before_run`, every article not
    updated since that run began, whatever its version (a forced backfill, resumable from that run)."""
    counts = RunCounts()
    annotator = annotator_for(settings)
    version = annotator.version
    stored = stored_articles_in_range(
        engine,
        date_range.since,
        date_range.until,
        not_version=version if updated_before_run is None else None,
        updated_before_run=updated_before_run,
    )
    items = ((article.body, _day(article.published_at), article_id) for article_id, article in stored)
    with annotator:
        for annotation, article_id in annotator.annotate(items):
            failure = annotation if isinstance(annotation, RejectedInput) else None
            if failure is None:
                try:
                    replace_annotations(engine, article_id, annotation, version, run_id, settings.grouping)
                except RejectedInput as exc:  # its rows could not be built: rolled back
                    failure = exc
            if failure is not None:  # the article is kept as it is, with the annotation it had
                counts.errors.append(f"article {article_id} not re-annotated: {failure.reason}")
                continue
            counts.articles += 1
            counts.mentions += len(annotation.mentions)
            counts.events += len(annotation.events)
    return counts


def _annotated(articles: Iterable[Article], annotator: Annotator) -> Iterator[tuple[Article, Outcome]]:
    """Annotate each distinct content once; a repeat of the same content in the batch reuses its outcome."""
    articles = list(articles)
    first_of: dict[str, Article] = {}
    for article in articles:
        first_of.setdefault(article.content_sha256, article)
    unique = ((a.body, _day(a.published_at), a) for a in first_of.values())
    by_sha = {}
    for outcome, article in annotator.annotate(unique):
        by_sha[article.content_sha256] = outcome
        yield article, outcome
    for article in articles:
        if first_of[article.content_sha256] is not article:
            yield article, by_sha[article.content_sha256]


def _annotated_here_or_before(
    articles: Sequence[Article], settings: Settings, annotations: Annotations | None, annotator: Annotator | None
) -> Iterator[tuple[Article, Outcome, str]]:
    """Each article with its outcome and the pipeline version that made it: from `annotations` when they hold its
    content, else annotated here (content another file's change freed since `annotate_files` ran)."""
    made = annotations.by_content if annotations else {}
    for article in articles:
        if article.content_sha256 in made:
            yield article, made[article.content_sha256], annotations.pipeline_version
    rest = [article for article in articles if article.content_sha256 not in made]
    if not rest:
        return
    with nullcontext(annotator) if annotator else annotator_for(settings) as batch_annotator:
        for article, outcome in _annotated(rest, batch_annotator):
            yield article, outcome, batch_annotator.version


def _file_status(article_statuses: Sequence[FileStatus]) -> FileStatus:
    """A file's status from its articles': loaded if any loaded, else duplicate, else skipped, else rejected."""
    for status in (FileStatus.LOADED, FileStatus.DUPLICATE, FileStatus.SKIPPED):
        if status in article_statuses:
            return status
    return FileStatus.REJECTED


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment else None
