"""The load stage: annotated articles and run bookkeeping into the database, idempotently.

Plain functions over an Engine with SQLAlchemy Core; each article is written in one transaction, or in one
savepoint of a caller's batch `transaction`, so a failure leaves no partial article. Re-loading unchanged
content writes nothing; a changed record replaces the article it used to hold. Lock and connection failures
surface as `TransientDatabaseError` for the caller to retry, a full disk as `DiskFullError` (etl.database's
`database_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from etl.database import database_errors
from etl.errors import RejectedInput
from etl.models import (
    ArticleRow,
    ArticleSourceRow,
    EntityAliasRow,
    EntityRow,
    EventParticipantRow,
    EventRow,
    MentionRow,
    RejectedFileRow,
    RunRow,
    RunStatus,
    SourceFileRow,
)
from etl.records import (
    AnnotatedArticle,
    Annotation,
    Article,
    DateSource,
    FileStatus,
    Rejection,
    RunCounts,
    SourceFile,
)

ARTICLES_PER_QUERY = 200
INTERRUPTED_ERROR = "interrupted: its process ended before the run finished (found by the next run)"


@dataclass(frozen=True, slots=True)
class KnownFile:
    """What the database remembers of a file: enough to tell cheaply whether it changed."""

    size: int
    mtime_ns: int
    file_sha256: str
    status: FileStatus


def _upsert(connection: Connection, row_type: type[Any]) -> Any:
    """The dialect's INSERT, which has on_conflict_do_update / on_conflict_do_nothing."""
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(row_type)


def _now() -> datetime:
    return datetime.now(UTC)


def start_run(engine: Engine, flow: str, parameters: dict[str, Any]) -> int:
    """Record a new run as running; its id is stamped on every row the run writes."""
    with database_errors("start run"), engine.begin() as connection:
        result = connection.execute(
            insert(RunRow).values(
                flow=flow,
                parameters=json.dumps(parameters, sort_keys=True, default=str),
                started_at=_now(),
                status=RunStatus.RUNNING,
                files_loaded=0,
                files_skipped=0,
                files_duplicate=0,
                files_rejected=0,
                files_deleted=0,
                articles=0,
                mentions=0,
                events=0,
            )
        )
        return result.inserted_primary_key[0]


def fail_interrupted_runs(engine: Engine) -> list[int]:
    """Mark `failed` the runs still `running`: called by a run holding the run lock, which proves their
    process is gone (killed or crashed). Their finished_at stays null: when they stopped is unknown."""
    with database_errors("close interrupted runs"), engine.begin() as connection:
        interrupted = connection.scalars(
            update(RunRow)
            .where(RunRow.status == RunStatus.RUNNING)
            .values(status=RunStatus.FAILED, error=INTERRUPTED_ERROR)
            .returning(RunRow.id)
        ).all()
    return sorted(interrupted)


def finish_run(engine: Engine, run_id: int, counts: RunCounts, status: str, error: str | None = None) -> None:
    """Close a run with its counts; without `error`, the errors collected in `counts` are stored."""
    with database_errors(f"finish run {run_id}"), engine.begin() as connection:
        connection.execute(
            update(RunRow)
            .where(RunRow.id == run_id)
            .values(
                finished_at=_now(),
                status=RunStatus(status),
                files_loaded=counts.loaded,
                files_skipped=counts.skipped,
                files_duplicate=counts.duplicate,
                files_rejected=counts.rejected,
                files_deleted=counts.deleted,
                articles=counts.articles,
                mentions=counts.mentions,
                events=counts.events,
                error=error if error is not None else ("\n".join(counts.errors) or None),
            )
        )


def known_files(engine: Engine) -> dict[str, KnownFile]:
    """Every file path seen before, with its size, mtime, hash and last status."""
    with database_errors("read known files"), engine.connect() as connection:
        rows = connection.execute(
            select(
                SourceFileRow.path,
                SourceFileRow.size,
                SourceFileRow.mtime_ns,
                SourceFileRow.file_sha256,
                SourceFileRow.status,
            )
        )
        return {row.path: KnownFile(row.size, row.mtime_ns, row.file_sha256, FileStatus(row.status)) for row in rows}


def record_file(
    target: Engine | Connection,
    source: SourceFile,
    file_sha256: str,
    status: FileStatus,
    run_id: int,
    rejections: Sequence[Rejection] = (),
) -> None:
    """Remember a file's identity and the status this run decided for it, with the rejections of the file or
    its records, in one transaction: a run killed in between leaves neither, and the next run reads the file."""
    values = {
        "size": source.size,
        "mtime_ns": source.mtime_ns,
        "file_sha256": file_sha256,
        "status": FileStatus(status),
        "last_run_id": run_id,
    }
    with _atomic(target, f"record file {source.path}") as connection:
        for rejection in rejections:
            _insert_rejection(connection, run_id, rejection)
        statement = _upsert(connection, SourceFileRow).values(path=source.path, **values)
        connection.execute(statement.on_conflict_do_update(index_elements=[SourceFileRow.path], set_=values))


def mark_missing(engine: Engine, path: str, run_id: int) -> None:
    """Remember that a file is gone from the input folder; its articles and their sources are kept."""
    with database_errors(f"mark {path} missing"), engine.begin() as connection:
        connection.execute(
            update(SourceFileRow)
            .where(SourceFileRow.path == path)
            .values(status=FileStatus.MISSING, last_run_id=run_id)
        )


def retire_file(engine: Engine, path: str) -> int:
    """Forget a file that is gone, in one transaction: its article sources, then the articles no other file
    holds (their mentions and events cascade), then the file itself. Returns the number of articles deleted."""
    with database_errors(f"retire {path}"), engine.begin() as connection:
        held = connection.scalars(select(ArticleSourceRow.article_id).where(ArticleSourceRow.source_path == path))
        article_ids = sorted(set(held))
        connection.execute(delete(ArticleSourceRow).where(ArticleSourceRow.source_path == path))
        still_held = exists().where(ArticleSourceRow.article_id == ArticleRow.id)
        deleted = connection.execute(delete(ArticleRow).where(ArticleRow.id.in_(article_ids), ~still_held))
        connection.execute(delete(SourceFileRow).where(SourceFileRow.path == path))
        return deleted.rowcount


def record_rejection(engine: Engine, run_id: int, rejection: Rejection) -> None:
    with database_errors(f"record rejection of {rejection.source_path}"), engine.begin() as connection:
        _insert_rejection(connection, run_id, rejection)


def _insert_rejection(connection: Connection, run_id: int, rejection: Rejection) -> None:
    connection.execute(
        insert(RejectedFileRow).values(
            run_id=run_id,
            source_path=rejection.source_path,
            record_index=rejection.record_index,
            content_sha256=rejection.content_sha256,
            reason=rejection.reason,
            rejected_at=_now(),
        )
    )


@contextmanager
def transaction(engine: Engine, step: str) -> Iterator[Connection]:
    """One transaction for many writes (committed when the block ends, rolled back if it raises); the
    functions below given its connection write in a savepoint of it, so each still succeeds or fails alone."""
    with database_errors(step), engine.begin() as connection:
        yield connection


@contextmanager
def _atomic(target: Engine | Connection, step: str) -> Iterator[Connection]:
    """A transaction of its own on an engine, or a savepoint inside the transaction of a given connection."""
    with database_errors(step):
        if isinstance(target, Connection):
            with target.begin_nested():
                yield target
        else:
            with target.begin() as connection:
                yield connection


def stored_content(engine: Engine, content_sha256: Collection[str]) -> set[str]:
    """Which of these content hashes are stored as articles already."""
    hashes = sorted(set(content_sha256))
    stored: set[str] = set()
    with database_errors("look up stored content"), engine.connect() as connection:
        for start in range(0, len(hashes), ARTICLES_PER_QUERY):
            page = hashes[start : start + ARTICLES_PER_QUERY]
            stored.update(
                connection.scalars(select(ArticleRow.content_sha256).where(ArticleRow.content_sha256.in_(page)))
            )
    return stored


def load_stored_content(target: Engine | Connection, article: Article) -> FileStatus | None:
    """Record an article whose content is already stored, without annotating it: SKIPPED when this record
    already holds it, DUPLICATE when it is stored from another place (this record is added to its sources).
    None, with nothing written, when the content is not stored: the article must be annotated and loaded."""
    with _atomic(target, f"look up article {article.source_path}#{article.record_index}") as connection:
        return _load_stored_content(connection, article)


def load_article(target: Engine | Connection, run_id: int, item: AnnotatedArticle, pipeline_version: str) -> FileStatus:
    """Store one annotated article with its entities, mentions and events, all or nothing.

    SKIPPED when this record already holds this content; DUPLICATE when the content is already stored
    from another place (this record is added to its sources); LOADED otherwise. A record whose content
    changed is detached from its old article, which is deleted once no record holds it.
    """
    article = item.article
    with _atomic(target, f"load article {article.source_path}#{article.record_index}") as connection:
        status = _load_stored_content(connection, article)
        if status is not None:
            return status
        previous_id = _held_article_id(connection, article)
        if previous_id is not None:  # this record held other content before
            _detach_source(connection, previous_id, article)
        article_id = _insert_article(connection, run_id, article, pipeline_version)
        if article_id is None:  # another process stored this content since the lookup above
            return _load_stored_content(connection, article) or FileStatus.DUPLICATE
        _add_source(connection, article_id, article)
        _insert_annotation(connection, article_id, item.annotation)
        return FileStatus.LOADED


def _load_stored_content(connection: Connection, article: Article) -> FileStatus | None:
    existing_id = connection.scalar(select(ArticleRow.id).where(ArticleRow.content_sha256 == article.content_sha256))
    if existing_id is None:
        return None
    previous_id = _held_article_id(connection, article)
    if existing_id == previous_id:
        return FileStatus.SKIPPED
    if previous_id is not None:
        _detach_source(connection, previous_id, article)
    _add_source(connection, existing_id, article)
    return FileStatus.DUPLICATE


def _held_article_id(connection: Connection, article: Article) -> int | None:
    """The article this record held when last loaded."""
    return connection.scalar(
        select(ArticleSourceRow.article_id).where(
            ArticleSourceRow.source_path == article.source_path,
            ArticleSourceRow.record_index == article.record_index,
        )
    )


def replace_annotations(
    engine: Engine, article_id: int, annotation: Annotation, pipeline_version: str, run_id: int
) -> None:
    """Swap an article's mentions and events for a new annotation (re-processing with a newer pipeline)."""
    with database_errors(f"replace annotations of article {article_id}"), engine.begin() as connection:
        connection.execute(delete(MentionRow).where(MentionRow.article_id == article_id))
        connection.execute(delete(EventRow).where(EventRow.article_id == article_id))
        _insert_annotation(connection, article_id, annotation)
        connection.execute(
            update(ArticleRow)
            .where(ArticleRow.id == article_id)
            .values(pipeline_version=pipeline_version, updated_run_id=run_id)
        )


def articles_in_range(
    engine: Engine,
    since: date | None,
    until: date | None,
    not_version: str | None = None,
    updated_before_run: int | None = None,
) -> Iterator[tuple[int, Article]]:
    """Stored articles published on or after `since` and on or before `until` (UTC days), by id; only those
    annotated by another pipeline version than `not_version`, or last updated by a run before
    `updated_before_run`, when given.

    Read in pages by id, each in its own short transaction, so the caller may write between pages.
    With either bound set, articles without a publication date are left out.
    """
    conditions = _article_conditions(since, until, not_version, updated_before_run)
    last_id = 0
    while True:
        with database_errors("read articles"), engine.connect() as connection:
            rows = connection.execute(
                select(ArticleRow)
                .where(ArticleRow.id > last_id, *conditions)
                .order_by(ArticleRow.id)
                .limit(ARTICLES_PER_QUERY)
            ).all()
        if not rows:
            return
        for row in rows:
            yield row.id, _article_from_row(row)
        last_id = rows[-1].id


def count_articles_in_range(
    engine: Engine,
    since: date | None,
    until: date | None,
    not_version: str | None = None,
    updated_before_run: int | None = None,
) -> int:
    """How many articles `articles_in_range` would yield with the same arguments."""
    conditions = _article_conditions(since, until, not_version, updated_before_run)
    with database_errors("count articles"), engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(ArticleRow).where(*conditions))


def _article_conditions(
    since: date | None, until: date | None, not_version: str | None, updated_before_run: int | None
) -> list[Any]:
    conditions = []
    if since is not None:
        conditions.append(ArticleRow.published_at >= datetime.combine(since, time.min, UTC))
    if until is not None:
        conditions.append(ArticleRow.published_at < datetime.combine(until + timedelta(days=1), time.min, UTC))
    if not_version is not None:
        conditions.append(ArticleRow.pipeline_version != not_version)
    if updated_before_run is not None:
        conditions.append(ArticleRow.updated_run_id < updated_before_run)
    return conditions


def unfinished_run(engine: Engine, flow: str, parameters: dict[str, Any]) -> int | None:
    """The first of the runs of `flow` with these `parameters` that failed since the last one that completed:
    the run a new one with the same parameters resumes. None when the last such run completed (or none ran)."""
    with database_errors("find unfinished run"), engine.connect() as connection:
        rows = connection.execute(
            select(RunRow.id, RunRow.status, RunRow.parameters)
            .where(RunRow.flow == flow, RunRow.status != RunStatus.RUNNING)
            .order_by(RunRow.id.desc())
        )
        first_failed = None
        for row in rows:
            recorded = json.loads(row.parameters)
            if any(recorded.get(name) != value for name, value in parameters.items()):
                continue
            if row.status == RunStatus.COMPLETED:
                break
            first_failed = row.id
        return first_failed


def _article_from_row(row: Any) -> Article:
    return Article(
        source_path=row.source_path,
        record_index=row.record_index,
        title=row.title,
        body=row.body,
        content_sha256=row.content_sha256,
        word_count=row.word_count,
        url=row.url,
        source=row.source,
        language=row.language,
        published_at=row.published_at,
        published_at_source=DateSource(row.published_at_source),
    )


def _insert_article(connection: Connection, run_id: int, article: Article, pipeline_version: str) -> int | None:
    """The new article's id; None when its content is already stored. Workers of a cluster load concurrently:
    PostgreSQL makes an insert of content another transaction is inserting wait for it, then do nothing."""
    statement = (
        _upsert(connection, ArticleRow)
        .values(
            source_path=article.source_path,
            record_index=article.record_index,
            content_sha256=article.content_sha256,
            title=article.title,
            body=article.body,
            url=article.url,
            source=article.source,
            language=article.language,
            published_at=article.published_at,
            published_at_source=article.published_at_source,
            word_count=article.word_count,
            pipeline_version=pipeline_version,
            first_seen_run_id=run_id,
            updated_run_id=run_id,
        )
        .on_conflict_do_nothing(index_elements=[ArticleRow.content_sha256])
        .returning(ArticleRow.id)
    )
    return connection.scalar(statement)


def _add_source(connection: Connection, article_id: int, article: Article) -> None:
    statement = _upsert(connection, ArticleSourceRow).values(
        article_id=article_id, source_path=article.source_path, record_index=article.record_index
    )
    connection.execute(statement.on_conflict_do_nothing())


def _detach_source(connection: Connection, article_id: int, article: Article) -> None:
    """This record no longer holds `article_id`'s content; delete that article if nothing else holds it."""
    connection.execute(
        delete(ArticleSourceRow).where(
            ArticleSourceRow.source_path == article.source_path,
            ArticleSourceRow.record_index == article.record_index,
        )
    )
    still_held = exists().where(ArticleSourceRow.article_id == article_id)
    # Cascades remove the article's mentions, events and their participants.
    connection.execute(delete(ArticleRow).where(ArticleRow.id == article_id, ~still_held))


def _insert_annotation(connection: Connection, article_id: int, annotation: Annotation) -> None:
    entity_ids = _upsert_entities(connection, annotation)
    if annotation.mentions:
        connection.execute(
            insert(MentionRow),
            [
                {
                    "article_id": article_id,
                    "entity_id": _entity_id(entity_ids, mention.entity_key, "mention"),
                    "start_char": mention.start,
                    "end_char": mention.end,
                    "text": mention.text,
                    "label": mention.label,
                    "sentence_index": mention.sentence_index,
                }
                for mention in annotation.mentions
            ],
        )
    if not annotation.events:
        return
    event_ids = connection.scalars(
        insert(EventRow).returning(EventRow.id, sort_by_parameter_order=True),
        [
            {
                "article_id": article_id,
                "event_type": event.event_type,
                "mode": event.mode,
                "trigger_text": event.trigger_text,
                "trigger_start": event.trigger_start,
                "trigger_end": event.trigger_end,
                "sentence_index": event.sentence_index,
                "sentence_text": event.sentence_text,
                "event_date": event.event_date,
                "date_text": event.date_text,
                "location_entity_id": (
                    None if event.location_key is None else _entity_id(entity_ids, event.location_key, "event location")
                ),
                "negated": event.negated,
                "hypothetical": event.hypothetical,
            }
            for event in annotation.events
        ],
    ).all()
    participants = [
        {
            "event_id": event_id,
            "role": participant.role,
            "entity_id": (
                None
                if participant.entity_key is None
                else _entity_id(entity_ids, participant.entity_key, "event participant")
            ),
            "text": participant.text,
            "start_char": participant.start,
            "end_char": participant.end,
            "country": participant.country,
            "sector": participant.sector,
        }
        for event_id, event in zip(event_ids, annotation.events, strict=True)
        for participant in event.participants
    ]
    if participants:
        connection.execute(insert(EventParticipantRow), participants)


def _upsert_entities(connection: Connection, annotation: Annotation) -> dict[str, int]:
    """Insert entities not stored yet (an existing row keeps its canonical name and fills only its unknown
    attributes), add their aliases, and return the ids of every key the annotation refers to."""
    if annotation.entities:
        statement = _upsert(connection, EntityRow)
        # The first writer keeps the name; attributes it did not know are filled in by later articles.
        known_or_new = {
            column: func.coalesce(getattr(EntityRow, column), getattr(statement.excluded, column))
            for column in ("country", "sector", "kb_id", "lat", "lon")
        }
        connection.execute(
            statement.on_conflict_do_update(index_elements=[EntityRow.entity_key], set_=known_or_new),
            [
                {
                    "entity_key": entity.entity_key,
                    "canonical_name": entity.canonical_name,
                    "type": entity.type,
                    "country": entity.country,
                    "sector": entity.sector,
                    "kb_id": entity.kb_id,
                    "lat": entity.lat,
                    "lon": entity.lon,
                }
                # In key order: workers of a cluster upserting the same entities lock them in one order, never
                # waiting on each other in a cycle.
                for entity in sorted(annotation.entities, key=lambda entity: entity.entity_key)
            ],
        )
    keys = _referenced_keys(annotation)
    if not keys:
        return {}
    entity_ids = dict(
        connection.execute(select(EntityRow.entity_key, EntityRow.id).where(EntityRow.entity_key.in_(keys))).all()
    )
    # An article's own canonical name is kept as an alias, so it is not lost when another article won.
    aliases = {
        (entity_ids[entity.entity_key], alias)
        for entity in annotation.entities
        for alias in (entity.canonical_name, *entity.aliases)
    }
    if aliases:
        connection.execute(
            _upsert(connection, EntityAliasRow).on_conflict_do_nothing(),
            [{"entity_id": entity_id, "alias": alias} for entity_id, alias in sorted(aliases)],
        )
    return entity_ids


def _referenced_keys(annotation: Annotation) -> list[str]:
    keys: set[str] = {entity.entity_key for entity in annotation.entities}
    keys.update(mention.entity_key for mention in annotation.mentions)
    for event in annotation.events:
        if event.location_key is not None:
            keys.add(event.location_key)
        keys.update(p.entity_key for p in event.participants if p.entity_key is not None)
    return sorted(keys)


def _entity_id(entity_ids: dict[str, int], key: str, referrer: str) -> int:
    try:
        return entity_ids[key]
    except KeyError:
        raise RejectedInput(
            f"{referrer} refers to entity {key!r}, which is neither in the annotation nor stored"
        ) from None
