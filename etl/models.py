"""The database schema as SQLAlchemy 2 declarative models, portable across SQLite and PostgreSQL.

The load stage (`etl/run_ledger.py`, `file_ledger.py`, `article_store.py`, `annotation_store.py`) writes these
tables with Core statements; Alembic's migrations in `migrations/` create them,
and a test runs `alembic check` so the two never drift. `docs/schema.md` explains every column.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from etl.records import FileStatus

# Stable constraint names on every dialect: Alembic's batch mode on SQLite rebuilds tables by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PARTICIPANT_ROLES = ("actor", "recipient", "source")


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC.

    SQLite keeps no offset, so values are normalised to UTC on the way in and read back as UTC; a naive
    value is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (CheckConstraint(_one_of("status", tuple(RunStatus)), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[str] = mapped_column(Text)  # JSON
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    files_loaded: Mapped[int] = mapped_column(Integer, default=0)
    files_skipped: Mapped[int] = mapped_column(Integer, default=0)
    files_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    files_rejected: Mapped[int] = mapped_column(Integer, default=0)
    files_deleted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    articles: Mapped[int] = mapped_column(Integer, default=0)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class SourceFileRow(Base):
    __tablename__ = "source_files"
    __table_args__ = (CheckConstraint(_one_of("status", tuple(FileStatus)), name="status"),)

    path: Mapped[str] = mapped_column(Text, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)


class ArticleRow(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_path: Mapped[str] = mapped_column(Text)
    record_index: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    published_at_source: Mapped[str] = mapped_column(String(16))
    word_count: Mapped[int] = mapped_column(Integer)
    pipeline_version: Mapped[str] = mapped_column(String(64))
    first_seen_run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    updated_run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    # The article of its near-duplicate group stored first; null for that one and for articles without copies.
    # No foreign key: SQLite could add one only by rebuilding `articles`, which every table refers to; the load
    # stage relinks the copies of an article it deletes, and `newsetl db check` verifies the links.
    near_duplicate_of: Mapped[int | None] = mapped_column(Integer, index=True)


class ArticleSignatureRow(Base):
    """An article body's MinHash signature (`etl.near_duplicates`), kept so later articles are compared with it
    without reading the body again."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)


class ArticleBandRow(Base):
    """One LSH band of an article's signature, hashed: articles sharing a band's key are candidate near-duplicates,
    found by an indexed look-up (the primary key's prefix) instead of a comparison with every article."""

    __tablename__ = "article_bands"

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True)


class ArticleSourceRow(Base):
    """One place (a file, or one record of a JSON-lines file) that held an article's content."""

    __tablename__ = "article_sources"

    source_path: Mapped[str] = mapped_column(Text, primary_key=True)
    record_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)


class EntityRow(Base):
    __tablename__ = "entities"
    __table_args__ = (Index(None, "canonical_name"),)  # analysts look entities up by name

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_key: Mapped[str] = mapped_column(Text, unique=True)
    canonical_name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(3))
    sector: Mapped[str | None] = mapped_column(String(16))
    kb_id: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class EntityAliasRow(Base):
    __tablename__ = "entity_aliases"

    # The primary key (entity_id, alias) also serves as the index on entity_id.
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True)
    alias: Mapped[str] = mapped_column(Text, primary_key=True)


class MentionRow(Base):
    __tablename__ = "mentions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(32))
    sentence_index: Mapped[int] = mapped_column(Integer)


class EventClusterRow(Base):
    """One real-world event: the coded events (mentions) of every article reporting it (`etl.event_clusters`)."""

    __tablename__ = "event_clusters"
    # Candidate clusters of an event are looked up by type and date.
    __table_args__ = (Index(None, "event_type", "event_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str | None] = mapped_column(String(64))
    actor_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    recipient_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    location_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    event_date: Mapped[date | None] = mapped_column(Date)
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    num_articles: Mapped[int] = mapped_column(Integer)
    num_sources: Mapped[int] = mapped_column(Integer)
    num_mentions: Mapped[int] = mapped_column(Integer)


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(32), index=True)
    mode: Mapped[str | None] = mapped_column(String(64))
    trigger_text: Mapped[str] = mapped_column(Text)
    trigger_start: Mapped[int] = mapped_column(Integer)
    trigger_end: Mapped[int] = mapped_column(Integer)
    sentence_index: Mapped[int] = mapped_column(Integer)
    sentence_text: Mapped[str] = mapped_column(Text)
    event_date: Mapped[date | None] = mapped_column(Date, index=True)
    date_text: Mapped[str | None] = mapped_column(Text)
    location_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    negated: Mapped[bool] = mapped_column(Boolean)
    hypothetical: Mapped[bool] = mapped_column(Boolean)
    # Defaults because SQLite adds a NOT NULL column in place only with one (migration 0006); the loader always
    # writes both. A row written by hand counts, as an `Event` record made by hand does.
    confidence: Mapped[float] = mapped_column(Float, server_default="1")  # etl/nlp/confidence.py
    is_background: Mapped[bool] = mapped_column(Boolean, server_default=false())
    cluster_id: Mapped[int] = mapped_column(ForeignKey("event_clusters.id"), index=True)


class EventParticipantRow(Base):
    __tablename__ = "event_participants"
    __table_args__ = (
        CheckConstraint(_one_of("role", PARTICIPANT_ROLES), name="role"),
        # "What did Russia's military do": participants picked by country and sector, then their events.
        Index(None, "country", "sector"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    country: Mapped[str | None] = mapped_column(String(3))
    sector: Mapped[str | None] = mapped_column(String(64))


class RejectedFileRow(Base):
    __tablename__ = "rejected_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    source_path: Mapped[str] = mapped_column(Text)
    record_index: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventTypeRow(Base):
    """A PLOVER event type (`mode` empty) or one of its modes, loaded from `etl/reference_data/event_types.csv`."""

    __tablename__ = "event_types"

    event_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Empty, not null, for the type itself: a primary key column cannot be null on PostgreSQL.
    mode: Mapped[str] = mapped_column(String(64), primary_key=True)
    quad_class: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)


class CountryRow(Base):
    """A country, loaded from `etl/reference_data/countries.csv`."""

    __tablename__ = "countries"

    iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(32))
