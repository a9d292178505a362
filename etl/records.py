"""Typed records passed between the stages: files → raw documents → articles → annotations → rows.

Every stage takes and returns these frozen dataclasses; plain dicts appear only at the SQLAlchemy edge.
All character offsets are offsets into `Article.body`, the cleaned text that is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

# Defaults of the settings that group reports of one event (see `Grouping`).
NEAR_DUPLICATE_THRESHOLD = 0.7
EVENT_CLUSTER_DAYS = 1


class FileStatus(StrEnum):
    """The one state every input file ends a run in."""

    LOADED = "loaded"
    SKIPPED = "skipped"  # unchanged since it was last processed
    DUPLICATE = "duplicate"  # same content as an article already loaded from another path
    REJECTED = "rejected"
    MISSING = "missing"  # gone from the input folder since it was processed; its articles are kept


class DateSource(StrEnum):
    """Where an article's publication date came from, best first."""

    METADATA = "metadata"
    PATH = "path"  # a date folder (2022/11/10/) or a date in the file name
    MTIME = "mtime"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under the input folder, identified cheaply by path, size and mtime."""

    path: str  # absolute, POSIX form, as stored: valid UTF-8 (see `etl.extract.storable_path`)
    size: int
    mtime_ns: int
    os_path: str | None = None  # the path to open, when `path` had to escape a name that is not UTF-8


@dataclass(frozen=True, slots=True)
class RawDocument:
    """One article as read from a file, before cleaning (a JSON-lines file yields several)."""

    source_path: str
    record_index: int  # 0 for one-article files; the 1-based line number in a JSON-lines file
    format: str  # "txt" | "json" | "jsonl" | "html"
    title: str | None
    text: str
    url: str | None = None
    source: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    published_at_source: DateSource = DateSource.MTIME


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file, or one record in it, that cannot be loaded, with the reason a person can act on."""

    source_path: str
    reason: str
    record_index: int = 0
    content_sha256: str | None = None


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
class FileExtract:
    """What one file yielded: its documents, and its rejections (the whole file, or single bad records)."""

    source: SourceFile
    documents: tuple[RawDocument, ...] = ()
    rejections: tuple[Rejection, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article: what is stored in `articles` and what the NLP stage reads."""

    source_path: str
    record_index: int
    title: str
    body: str
    content_sha256: str  # of the cleaned title and body: equal content is one article
    word_count: int
    url: str | None = None
    source: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    published_at_source: DateSource = DateSource.MTIME


@dataclass(frozen=True, slots=True)
class Entity:
    """One real-world thing, keyed so that every article naming it maps to the same row."""

    entity_key: str  # e.g. "PERSON:vladimir putin", "GPE:kherson"
    canonical_name: str
    type: str  # spaCy label of the canonical mention
    aliases: tuple[str, ...] = ()
    country: str | None = None  # ISO 3166 alpha-3
    kb_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    sector: str | None = None  # PLOVER sector of a person or organisation (GOV, MIL, COP...)


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    text: str
    label: str
    sentence_index: int
    entity_key: str


@dataclass(frozen=True, slots=True)
class Participant:
    role: str  # "actor" | "recipient" | "source" (who reported it: "…, the ministry said")
    start: int
    end: int
    text: str
    entity_key: str | None = None
    canonical: str | None = None
    country: str | None = None
    sector: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    event_type: str  # one of the 16 PLOVER types
    mode: str | None
    trigger_start: int
    trigger_end: int
    trigger_text: str
    sentence_index: int
    sentence_text: str
    participants: tuple[Participant, ...] = ()
    event_date: date | None = None
    date_text: str | None = None
    location_key: str | None = None
    negated: bool = False
    hypothetical: bool = False
    # Set by the coder (`etl.nlp.confidence`, `etl.nlp.event_dates.is_background`); an event made by hand counts.
    confidence: float = 1.0
    is_background: bool = False  # dated well before its article: a quoted history, not news


@dataclass(frozen=True, slots=True)
class Annotation:
    """The NLP output for one text: entities, their mentions, and events."""

    entities: tuple[Entity, ...] = ()
    mentions: tuple[Mention, ...] = ()
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class AnnotatedArticle:
    article: Article
    annotation: Annotation


@dataclass(frozen=True, slots=True)
class Grouping:
    """How reports of one real-world event are grouped: an article whose body's estimated word-shingle Jaccard
    similarity to an earlier one is at least `near_duplicate_threshold` is its near-duplicate, and events of the
    same type between the same actor and recipient (or at the same location) whose dates are fewer than
    `cluster_days` days apart are one event cluster (1: the same day)."""

    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD
    cluster_days: int = EVENT_CLUSTER_DAYS


@dataclass(slots=True)
class RunCounts:
    """Per-status file counts of one run (mutable: the run adds to it as batches finish)."""

    loaded: int = 0
    skipped: int = 0
    duplicate: int = 0
    rejected: int = 0
    deleted: int = 0  # files processed before and gone from the input folder now
    articles: int = 0
    events: int = 0
    mentions: int = 0
    errors: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)  # of the files and records this run rejected
    file_seconds: dict[str, float] = field(default_factory=dict)  # time spent on each file read, for the report

    def add(self, other: RunCounts) -> None:
        for name in ("loaded", "skipped", "duplicate", "rejected", "deleted", "articles", "events", "mentions"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
        self.rejections.extend(other.rejections)
        for path, seconds in other.file_seconds.items():
            self.file_seconds[path] = self.file_seconds.get(path, 0.0) + seconds
