"""The input folder's side of a run: which files to read (`plan_files`, against the file ledger), and each one read,
its bytes hashed once, extracted and cleaned (`read_files`, without the database).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from etl.clean import clean_document
from etl.errors import ArticleFailed, RejectedInput, article_stage
from etl.extract import discover, parse_file, read_source, storable_path
from etl.file_ledger import known_files
from etl.language import LanguagePolicy
from etl.records import Article, DateRange, FileStatus, Rejection, SourceFile
from etl.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingFile:
    """A file whose path, size or mtime differs from what the database last saw, or that could not be read."""

    source: SourceFile
    known_sha256: str | None  # None for a file never seen before
    # Same size and mtime as when its bytes could not be read: tried again, but if it still cannot be read it is
    # skipped as unchanged, not rejected anew, so that runs over an unchanged folder add no rows.
    unreadable_before: bool = False


@dataclass(frozen=True, slots=True)
class ReadFile:
    """A pending file as read and cleaned; `sha256` None when its bytes equal the last loaded ones."""

    pending: PendingFile
    sha256: str | None
    articles: tuple[Article, ...]
    rejections: tuple[Rejection, ...]
    seconds: float  # time to read and clean it


@dataclass(frozen=True, slots=True)
class FilePlan:
    pending: tuple[PendingFile, ...]
    unchanged: int
    missing: tuple[str, ...] = ()  # paths the database knows that are gone from the input folder


def plan_files(engine: Engine, input_dir: Path) -> FilePlan:
    """Split the input folder into unchanged files (same path, size and mtime) and files to read, and list the
    known files that are gone from it. A file that was missing and is back is read again, and so is one whose bytes
    could not be read last time (permission denied, vanished, over the size limit), since no change shows in its
    size or mtime when the cause is fixed."""
    known = known_files(engine)
    pending, unchanged = [], 0
    for source in discover(input_dir):
        seen = known.pop(source.path, None)
        same_identity = seen is not None and (seen.size, seen.mtime_ns) == (source.size, source.mtime_ns)
        if same_identity and seen.status is not FileStatus.MISSING and seen.file_sha256:
            unchanged += 1
        else:
            # An empty hash: its bytes could not be read (denied, vanished, too large...): try again.
            unreadable = same_identity and seen.status is FileStatus.REJECTED and not seen.file_sha256
            pending.append(PendingFile(source, seen.file_sha256 if seen else None, unreadable))
    # Only files under this input folder: a run over another folder does not make the first one's files missing.
    root = storable_path(Path(os.path.abspath(input_dir)).as_posix()).rstrip("/") + "/"  # as `discover` spells paths
    missing = tuple(sorted(path for path in known if path.startswith(root)))
    return FilePlan(tuple(pending), unchanged, missing)


def read_files(files: Sequence[PendingFile], settings: Settings, date_range: DateRange | None = None) -> list[ReadFile]:
    """Read and clean a batch of files, without the database; files outside `date_range` are left out."""
    read = []
    languages = language_policy(settings)
    for pending in files:
        started = time.perf_counter()
        outcome = _read_articles(pending, settings, languages)
        seconds = time.perf_counter() - started
        if outcome is None:  # same bytes as last time: only the mtime moved
            read.append(ReadFile(pending, None, (), (), seconds))
            continue
        sha256, file_articles, file_rejections = outcome
        if date_range is not None:
            file_articles = [a for a in file_articles if date_range.contains(a.published_at)]
            if not file_articles and not file_rejections:
                continue
        read.append(ReadFile(pending, sha256, tuple(file_articles), tuple(file_rejections), seconds))
    return read


def language_policy(settings: Settings) -> LanguagePolicy:
    """The languages a run loads, from its settings."""
    return LanguagePolicy(settings.accepted_languages, settings.other_languages, settings.language_min_confidence)


def _read_articles(
    pending: PendingFile, settings: Settings, languages: LanguagePolicy
) -> tuple[str, list[Article], list[Rejection]] | None:
    """A file's hash, articles and rejections; None when its bytes equal the last loaded version, or when it still
    cannot be read as before. A file that extraction fails on unforeseen is rejected whole, an article that
    cleaning fails on alone (`article_stage`)."""
    source = pending.source
    try:
        data = read_source(source, settings.max_file_bytes)
    except RejectedInput as exc:
        return None if pending.unreadable_before else ("", [], [Rejection(source.path, exc.reason)])
    sha256 = hashlib.sha256(data).hexdigest()
    if sha256 == pending.known_sha256:
        return None
    try:
        with article_stage("extraction"):
            extract = parse_file(source, data)
    except RejectedInput as exc:
        return sha256, [], [rejection(source.path, 0, sha256, exc)]
    articles, rejections = [], list(extract.rejections)
    for document in extract.documents:
        try:
            articles.append(clean_document(document, languages, settings.max_article_chars))
        except RejectedInput as exc:
            rejections.append(rejection(source.path, document.record_index, sha256, exc))
    return sha256, articles, rejections


def rejection(path: str, record_index: int, content_sha256: str | None, exc: RejectedInput) -> Rejection:
    """The rejection of one file or record; the traceback of a failure nobody foresaw goes to the log (debug)."""
    if isinstance(exc, ArticleFailed):
        logger.debug("%s#%d rejected: %s\n%s", path, record_index, exc.reason, exc.details)
    return Rejection(path, exc.reason, record_index, content_sha256)
