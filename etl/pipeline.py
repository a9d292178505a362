"""The one module that chains the stages: files → raw documents → articles → annotations → rows.

Each public function is one step a flow (or a test) can call on its own; none of them knows about Prefect.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

from etl.clean import clean_document
from etl.database import create_engine_for, upgrade
from etl.errors import RejectedInput
from etl.extract import discover, parse_file, read_source
from etl.load import articles_in_range as stored_articles_in_range
from etl.load import (
    known_files,
    load_article,
    load_stored_content,
    mark_missing,
    record_file,
    replace_annotations,
    retire_file,
    transaction,
)
from etl.nlp.annotate import annotate, pipeline_version
from etl.nlp.lexicon import load_lexicon
from etl.nlp.model import load_pipeline
from etl.records import AnnotatedArticle, Article, FileStatus, Rejection, RunCounts, SourceFile
from etl.settings import SQLITE_BUSY_TIMEOUT_MS, Settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DateRange:
    """An inclusive range of publication dates; an open end is unbounded."""

    since: date | None = None
    until: date | None = None

    def contains(self, published_at: datetime | None) -> bool:
        if published_at is None:
            return self.since is None and self.until is None
        day = published_at.date()
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)


@dataclass(frozen=True, slots=True)
class PendingFile:
    """A file whose path, size or mtime differs from what the database last saw."""

    source: SourceFile
    known_sha256: str | None  # None for a file never seen before


# Called with (files done, files to read) as a run goes; the CLI shows it as a progress bar.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class FilePlan:
    pending: tuple[PendingFile, ...]
    unchanged: int
    missing: tuple[str, ...] = ()  # paths the database knows that are gone from the input folder


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items (itertools.batched needs Python 3.12)."""
    return (items[start : start + size] for start in range(0, len(items), size))


def open_database(db_url: str, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine on `db_url`, with the schema migrated to the newest revision."""
    engine = create_engine_for(db_url, sqlite_busy_timeout_ms)
    upgrade(engine)
    return engine


def plan_files(engine: Engine, input_dir: Path) -> FilePlan:
    """Split the input folder into unchanged files (same path, size and mtime) and files to read, and list the
    known files that are gone from it. A file that was missing and is back is read again, and so is one whose bytes
    could not be read last time (permission denied, vanished, over the size limit), since no change shows in its
    size or mtime when the cause is fixed."""
    known = known_files(engine)
    pending, unchanged = [], 0
    for source in discover(input_dir):
        seen = known.pop(source.path, None)
        if (
            seen is not None
            and seen.status is not FileStatus.MISSING
            and seen.file_sha256  # empty when its bytes could not be read (denied, vanished...): try again
            and (seen.size, seen.mtime_ns) == (source.size, source.mtime_ns)
        ):
            unchanged += 1
        else:
            pending.append(PendingFile(source, seen.file_sha256 if seen else None))
    # Only files under this input folder: a run over another folder does not make the first one's files missing.
    root = Path(os.path.abspath(input_dir)).as_posix().rstrip("/") + "/"  # as `discover` spells paths
    missing = tuple(sorted(path for path in known if path.startswith(root)))
    return FilePlan(tuple(pending), unchanged, missing)


def process_files(
    engine: Engine,
    run_id: int,
    files: Sequence[PendingFile],
    settings: Settings,
    date_range: DateRange | None = None,
) -> RunCounts:
    """Read, clean, annotate and load a batch of files; every file ends in exactly one `FileStatus`.

    Files outside `date_range` (all their articles published outside it) are left unrecorded, so that the
    next nightly run still sees them as new.
    """
    counts = RunCounts()
    articles: list[Article] = []
    rejections: dict[str, list[Rejection]] = {}
    read: list[tuple[PendingFile, str]] = []
    for pending in files:
        started = time.perf_counter()
        outcome = _read_articles(pending, settings.max_file_bytes)
        counts.file_seconds[pending.source.path] = time.perf_counter() - started
        if outcome is None:  # same bytes as last time: only the mtime moved
            record_file(engine, pending.source, pending.known_sha256 or "", FileStatus.SKIPPED, run_id)
            counts.skipped += 1
            continue
        sha256, file_articles, file_rejections = outcome
        if date_range is not None:
            file_articles = [a for a in file_articles if date_range.contains(a.published_at)]
            if not file_articles and not file_rejections:
                continue
        read.append((pending, sha256))
        articles.extend(file_articles)
        rejections[pending.source.path] = file_rejections

    statuses: dict[str, list[FileStatus]] = {path: [] for path in rejections}
    version = pipeline_version(load_pipeline(settings.spacy_model))
    # One commit for the batch; each article and file is a savepoint in it, so it is stored whole or not at all.
    with transaction(engine, f"load a batch of {len(read)} files") as connection:
        to_annotate = []  # content already stored is recorded as it is, not parsed again
        for article in articles:
            status = load_stored_content(connection, article)
            if status is None:
                to_annotate.append(article)
            else:
                statuses[article.source_path].append(status)
        # Articles are annotated in batches, so an article's time is the time from the previous one to its load.
        started = time.perf_counter()
        for item in _annotated(to_annotate, settings):
            path = item.article.source_path
            try:
                status = load_article(connection, run_id, item, version)
            except RejectedInput as exc:  # this article only: its savepoint is rolled back
                rejections[path].append(
                    Rejection(path, exc.reason, item.article.record_index, item.article.content_sha256)
                )
                status = FileStatus.REJECTED
            statuses[path].append(status)
            finished = time.perf_counter()
            counts.file_seconds[path] += finished - started
            started = finished
            if status is FileStatus.LOADED:
                counts.articles += 1
                counts.mentions += len(item.annotation.mentions)
                counts.events += len(item.annotation.events)

        for pending, sha256 in read:
            status = _file_status(statuses[pending.source.path])
            record_file(connection, pending.source, sha256, status, run_id, rejections[pending.source.path])
            setattr(counts, status.value, getattr(counts, status.value) + 1)
            counts.rejections.extend(rejections[pending.source.path])
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
    nlp = load_pipeline(settings.spacy_model)
    version = pipeline_version(nlp)
    counts = RunCounts()
    stored = stored_articles_in_range(
        engine,
        date_range.since,
        date_range.until,
        not_version=version if updated_before_run is None else None,
        updated_before_run=updated_before_run,
    )
    items = ((article.body, _day(article.published_at), article_id) for article_id, article in stored)
    for annotation, article_id in annotate(
        nlp, items, load_lexicon(), batch_size=settings.nlp_batch_size, n_process=settings.n_process
    ):
        replace_annotations(engine, article_id, annotation, version, run_id)
        counts.articles += 1
        counts.mentions += len(annotation.mentions)
        counts.events += len(annotation.events)
    return counts


def _read_articles(pending: PendingFile, max_file_bytes: int) -> tuple[str, list[Article], list[Rejection]] | None:
    """A file's hash, articles and rejections; None when its bytes equal the last loaded version."""
    source = pending.source
    try:
        data = read_source(source, max_file_bytes)
    except RejectedInput as exc:
        return "", [], [Rejection(source.path, exc.reason)]
    sha256 = hashlib.sha256(data).hexdigest()
    if sha256 == pending.known_sha256:
        return None
    extract = parse_file(source, data)
    articles, rejections = [], list(extract.rejections)
    for document in extract.documents:
        try:
            articles.append(clean_document(document))
        except RejectedInput as exc:
            rejections.append(Rejection(source.path, exc.reason, document.record_index, sha256))
    return sha256, articles, rejections


def _annotated(articles: Iterable[Article], settings: Settings) -> Iterator[AnnotatedArticle]:
    """Annotate each distinct content once; a repeat of the same content in the batch reuses it."""
    articles = list(articles)
    first_of: dict[str, Article] = {}
    for article in articles:
        first_of.setdefault(article.content_sha256, article)
    unique = ((a.body, _day(a.published_at), a) for a in first_of.values())
    nlp = load_pipeline(settings.spacy_model)
    by_sha = {}
    for annotation, article in annotate(
        nlp, unique, load_lexicon(), batch_size=settings.nlp_batch_size, n_process=settings.n_process
    ):
        by_sha[article.content_sha256] = annotation
        yield AnnotatedArticle(article, annotation)
    for article in articles:
        if first_of[article.content_sha256] is not article:
            yield AnnotatedArticle(article, by_sha[article.content_sha256])


def _file_status(article_statuses: Sequence[FileStatus]) -> FileStatus:
    """A file's status from its articles': loaded if any loaded, else duplicate, else skipped, else rejected."""
    for status in (FileStatus.LOADED, FileStatus.DUPLICATE, FileStatus.SKIPPED):
        if status in article_statuses:
            return status
    return FileStatus.REJECTED


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment else None
