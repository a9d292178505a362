"""The load stage: annotated articles and run bookkeeping into the database, idempotently.

Plain functions over an Engine with SQLAlchemy Core; each article is written in one transaction, in one
savepoint of a caller's batch `transaction`, or set-wise with others in one savepoint (`load_articles`), so a
failure leaves no partial article. Re-loading unchanged
content writes nothing; a changed record replaces the article it used to hold. Lock and connection failures
surface as `TransientDatabaseError` for the caller to retry, a full disk as `DiskFullError` (etl.database's
`database_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from pathlib import Path
from traceback import format_exc
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Result,
    String,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from etl import event_clusters, near_duplicates
from etl.database import DEFAULT_GROUPING, database_errors, pages, write_transaction
from etl.errors import ArticleFailed, RejectedInput, article_stage, one_line
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
    Entity,
    FileStatus,
    Grouping,
    Rejection,
    RunCounts,
    SourceFile,
)

ARTICLES_PER_QUERY = 200
INTERRUPTED_ERROR = "interrupted: its process ended before the run finished (found by the next run)"
# Entity attributes a later article fills in when the article that named the entity first did not know them.
_FILLED = ("country", "sector", "kb_id", "lat", "lon")
_FILE_STATUSES = {status.value: status for status in FileStatus}


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


def run_parameters(engine: Engine, input_dir: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """What a `runs` row records of a run's parameters: the flow's own, the input folder, and the database URL
    without its password."""
    return {**parameters, "input_dir": str(input_dir), "db_url": engine.url.render_as_string()}


def start_run(engine: Engine, flow: str, parameters: dict[str, Any]) -> int:
    """Record a new run as running; its id is stamped on every row the run writes."""
    with database_errors("start run"), write_transaction(engine) as connection:
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
    with database_errors("close interrupted runs"), write_transaction(engine) as connection:
        interrupted = connection.scalars(
            update(RunRow)
            .where(RunRow.status == RunStatus.RUNNING)
            .values(status=RunStatus.FAILED, error=INTERRUPTED_ERROR)
            .returning(RunRow.id)
        ).all()
    return sorted(interrupted)


def finish_run(engine: Engine, run_id: int, counts: RunCounts, status: str, error: str | None = None) -> None:
    """Close a run with its counts; without `error`, the errors collected in `counts` are stored."""
    with database_errors(f"finish run {run_id}"), write_transaction(engine) as connection:
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
        # Called on every run with a row per file ever seen: plain tuples, and a dict for the status enum.
        return {
            path: KnownFile(size, mtime_ns, file_sha256, _FILE_STATUSES[status])
            for path, size, mtime_ns, file_sha256, status in rows
        }


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
    record_files(target, run_id, [FileRecord(source, file_sha256, status, tuple(rejections))])


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What a run decided for one file: its identity, its hash, its status and its rejections."""

    source: SourceFile
    file_sha256: str
    status: FileStatus
    rejections: tuple[Rejection, ...] = ()


def record_files(target: Engine | Connection, run_id: int, files: Sequence[FileRecord]) -> None:
    """`record_file` for many files at once, one statement per table, all in one transaction (or savepoint)."""
    if not files:
        return
    columns = ("size", "mtime_ns", "file_sha256", "status", "last_run_id")
    rows = [
        {
            "path": file.source.path,
            "size": file.source.size,
            "mtime_ns": file.source.mtime_ns,
            "file_sha256": file.file_sha256,
            "status": FileStatus(file.status),
            "last_run_id": run_id,
        }
        # In path order: concurrent batches (workers of a cluster) lock the rows they share in one order.
        for file in sorted(files, key=lambda file: file.source.path)
    ]
    rejections = [_rejection_row(run_id, rejection) for file in files for rejection in file.rejections]
    step = f"record file {files[0].source.path}" if len(files) == 1 else f"record {len(files)} files"

    def latest(statement: Any) -> Any:
        newer = {column: statement.excluded[column] for column in columns}
        return statement.on_conflict_do_update(index_elements=[SourceFileRow.path], set_=newer)

    with _atomic(target, step) as connection:
        _insert_rows(connection, RejectedFileRow, rejections)
        _insert_rows(connection, SourceFileRow, rows, latest)


def mark_missing(engine: Engine, path: str, run_id: int) -> None:
    """Remember that a file is gone from the input folder; its articles and their sources are kept."""
    with database_errors(f"mark {path} missing"), write_transaction(engine) as connection:
        connection.execute(
            update(SourceFileRow)
            .where(SourceFileRow.path == path)
            .values(status=FileStatus.MISSING, last_run_id=run_id)
        )


def retire_file(engine: Engine, path: str) -> int:
    """Forget a file that is gone, in one transaction: its article sources, then the articles no other file
    holds (their mentions and events cascade), then the file itself. Returns the number of articles deleted."""
    with database_errors(f"retire {path}"), write_transaction(engine) as connection:
        event_clusters.lock(connection)
        held = connection.scalars(select(ArticleSourceRow.article_id).where(ArticleSourceRow.source_path == path))
        article_ids = sorted(set(held))
        connection.execute(delete(ArticleSourceRow).where(ArticleSourceRow.source_path == path))
        still_held = exists().where(ArticleSourceRow.article_id == ArticleRow.id)
        orphans = connection.scalars(select(ArticleRow.id).where(ArticleRow.id.in_(article_ids), ~still_held)).all()
        _delete_articles(connection, orphans)
        connection.execute(delete(SourceFileRow).where(SourceFileRow.path == path))
        return len(orphans)


def record_rejection(engine: Engine, run_id: int, rejection: Rejection) -> None:
    with database_errors(f"record rejection of {rejection.source_path}"), write_transaction(engine) as connection:
        _insert_rejection(connection, run_id, rejection)


def _insert_rejection(connection: Connection, run_id: int, rejection: Rejection) -> None:
    connection.execute(insert(RejectedFileRow).values(_rejection_row(run_id, rejection)))


def _rejection_row(run_id: int, rejection: Rejection) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "source_path": rejection.source_path,
        "record_index": rejection.record_index,
        "content_sha256": rejection.content_sha256,
        "reason": rejection.reason,
        "rejected_at": _now(),
    }


@contextmanager
def transaction(engine: Engine, step: str) -> Iterator[Connection]:
    """One transaction for many writes (committed when the block ends, rolled back if it raises); the
    functions below given its connection write in a savepoint of it, so each still succeeds or fails alone."""
    with database_errors(step), write_transaction(engine) as connection:
        yield connection


@contextmanager
def _atomic(target: Engine | Connection, step: str) -> Iterator[Connection]:
    """A transaction of its own on an engine, or a savepoint inside the transaction of a given connection."""
    with database_errors(step):
        if isinstance(target, Connection):
            with target.begin_nested():
                yield target
        else:
            with write_transaction(target) as connection:
                yield connection


def stored_content(target: Engine | Connection, content_sha256: Collection[str]) -> set[str]:
    """Which of these content hashes are stored as articles already (seen from `target`'s transaction if a
    connection)."""
    with database_errors("look up stored content"), _connected(target) as connection:
        return _stored_content(connection, content_sha256)


@contextmanager
def _connected(target: Engine | Connection) -> Iterator[Connection]:
    if isinstance(target, Connection):
        yield target
    else:
        with target.connect() as connection:
            yield connection


def _stored_content(connection: Connection, content_sha256: Collection[str]) -> set[str]:
    stored: set[str] = set()
    for page in pages(sorted(set(content_sha256))):
        stored.update(connection.scalars(select(ArticleRow.content_sha256).where(ArticleRow.content_sha256.in_(page))))
    return stored


def load_stored_content(target: Engine | Connection, article: Article) -> FileStatus | None:
    """Record an article whose content is already stored, without annotating it: SKIPPED when this record
    already holds it, DUPLICATE when it is stored from another place (this record is added to its sources).
    None, with nothing written, when the content is not stored: the article must be annotated and loaded."""
    with _atomic(target, f"look up article {article.source_path}#{article.record_index}") as connection:
        return _load_stored_content(connection, article)


def load_article(
    target: Engine | Connection,
    run_id: int,
    item: AnnotatedArticle,
    pipeline_version: str,
    grouping: Grouping = DEFAULT_GROUPING,
) -> FileStatus:
    """Store one annotated article with its entities, mentions and events, all or nothing; it is linked to the
    article it is a near-duplicate of and its events join their clusters (`grouping`).

    SKIPPED when this record already holds this content; DUPLICATE when the content is already stored
    from another place (this record is added to its sources); LOADED otherwise. A record whose content
    changed is detached from its old article, which is deleted once no record holds it.
    """
    article = item.article
    with _atomic(target, f"load article {article.source_path}#{article.record_index}") as connection:
        event_clusters.lock(connection)
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
        near_duplicates.link_near_duplicates(
            connection, [(article_id, article.body)], grouping.near_duplicate_threshold
        )
        _insert_annotation(connection, article_id, item.annotation, grouping.cluster_days)
        return FileStatus.LOADED


def load_articles(
    connection: Connection,
    run_id: int,
    items: Sequence[tuple[AnnotatedArticle, str]],
    grouping: Grouping = DEFAULT_GROUPING,
) -> list[FileStatus | RejectedInput]:
    """Store annotated articles, each with its pipeline version, in a few statements for them all; each is stored
    whole or not at all, with the status `load_article` would give it, or refused with the `RejectedInput` it would
    raise (the rest are stored all the same).

    Content neither stored nor met earlier in `items` is inserted set-wise: every entity first, upserted in key order,
    then the articles in content-hash order and each table's rows in one statement, so two batches loading the
    same entities or content at once (workers of a cluster on PostgreSQL) take their locks in one order and wait
    for each other instead of deadlocking. Everything else (content stored meanwhile or repeated in `items`) goes
    article by article through `load_article`, as does the whole batch if a concurrent transaction stored one of
    its contents first. Unlike one by one, the entities of a refused article are stored (not its aliases).
    New articles are linked to those they are near-duplicates of and their events join clusters (`grouping`), under
    the clustering lock taken first of all.
    """
    event_clusters.lock(connection)
    order = sorted(range(len(items)), key=lambda i: items[i][0].article.content_sha256)
    new = _first_of_new_content(connection, [(i, items[i][0].article) for i in order])
    outcomes: dict[int, FileStatus | RejectedInput] = {}
    if new:
        # Merged in the given order, so the first article to name an entity names it, as one by one.
        upserted = _upsert_merged_entities(connection, [items[i][0].annotation for i in sorted(new)])
        try:
            with _atomic(connection, f"load {len(new)} articles") as savepoint:
                outcomes.update(_insert_articles(savepoint, run_id, {i: items[i] for i in new}, upserted, grouping))
        # Content another transaction stored since the look-up, or a row the database refuses (a value it cannot
        # hold): article by article below, each in a savepoint, so that only the article refused is rejected.
        except DBAPIError:
            outcomes.clear()
    for i in order:
        if i not in outcomes:
            item, version = items[i]
            try:
                outcomes[i] = load_article(connection, run_id, item, version, grouping)
            except RejectedInput as exc:
                outcomes[i] = exc
            except DBAPIError as exc:  # busy, unreachable or a full disk are not DBAPIErrors here (`_atomic`)
                outcomes[i] = ArticleFailed(f"loading failed: {one_line(exc.orig or exc)}", format_exc())
    return [outcomes[i] for i in range(len(items))]


def _first_of_new_content(connection: Connection, articles: Sequence[tuple[int, Article]]) -> list[int]:
    """The indices of the articles whose content is not stored, the first of each content only."""
    stored = _stored_content(connection, [article.content_sha256 for _, article in articles])
    new = []
    for i, article in articles:
        if article.content_sha256 not in stored:
            stored.add(article.content_sha256)
            new.append(i)
    return new


def _insert_articles(
    connection: Connection,
    run_id: int,
    items: dict[int, tuple[AnnotatedArticle, str]],
    upserted: dict[str, int],
    grouping: Grouping,
) -> dict[int, FileStatus | RejectedInput]:
    """Insert articles whose content is not stored, with their sources and annotations, their entities already
    upserted (with the ids `upserted`); an article whose annotation refers to an unknown entity is refused and
    nothing of it is written."""
    entity_ids = _entity_ids(connection, [item.annotation for item, _ in items.values()], upserted)
    outcomes: dict[int, FileStatus | RejectedInput] = {}
    accepted: list[tuple[int, AnnotatedArticle, str, _AnnotationRows]] = []
    for i, (item, version) in items.items():
        try:
            with article_stage("building rows"):
                rows = _annotation_rows(item.annotation, entity_ids)
        except RejectedInput as exc:
            outcomes[i] = exc
            continue
        accepted.append((i, item, version, rows))
    if not accepted:
        return outcomes
    held = _held_article_ids(connection, [item.article for _, item, _, _ in accepted])
    for _, item, _, _ in accepted:
        previous_id = held.get((item.article.source_path, item.article.record_index))
        if previous_id is not None:  # this record held other content before
            _detach_source(connection, previous_id, item.article)
    article_ids = _new_ids(connection, ArticleRow, len(accepted))
    stored = list(zip(article_ids, accepted, strict=True))
    _insert_rows(
        connection,
        ArticleRow,
        [
            {"id": article_id, **_article_row(run_id, item.article, version)}
            for article_id, (_, item, version, _) in stored
        ],
    )
    _insert_rows(
        connection, ArticleSourceRow, [_source_row(article_id, item.article) for article_id, (_, item, _, _) in stored]
    )
    near_duplicates.link_near_duplicates(
        connection,
        [(article_id, item.article.body) for article_id, (_, item, _, _) in stored],
        grouping.near_duplicate_threshold,
    )
    _insert_aliases(connection, [item.annotation for _, item, _, _ in accepted], entity_ids)
    _insert_annotation_rows(
        connection, [(article_id, rows) for article_id, (_, _, _, rows) in stored], grouping.cluster_days
    )
    outcomes.update((i, FileStatus.LOADED) for i, _, _, _ in accepted)
    return outcomes


def _held_article_ids(connection: Connection, articles: Sequence[Article]) -> dict[tuple[str, int], int]:
    """The article each of these records held when last loaded, by (source path, record index)."""
    records = sorted({(article.source_path, article.record_index) for article in articles})
    held: dict[tuple[str, int], int] = {}
    for page in pages(records):
        rows = connection.execute(
            select(ArticleSourceRow.source_path, ArticleSourceRow.record_index, ArticleSourceRow.article_id).where(
                tuple_(ArticleSourceRow.source_path, ArticleSourceRow.record_index).in_(page)
            )
        )
        held.update(((path, index), article_id) for path, index, article_id in rows)
    return held


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
    engine: Engine,
    article_id: int,
    annotation: Annotation,
    pipeline_version: str,
    run_id: int,
    grouping: Grouping = DEFAULT_GROUPING,
) -> None:
    """Swap an article's mentions and events for a new annotation (re-processing with a newer pipeline); the
    clusters its old events left are recounted, its new events join clusters."""
    with database_errors(f"replace annotations of article {article_id}"), write_transaction(engine) as connection:
        event_clusters.lock(connection)
        left = event_clusters.of_articles(connection, [article_id])
        connection.execute(delete(MentionRow).where(MentionRow.article_id == article_id))
        connection.execute(delete(EventRow).where(EventRow.article_id == article_id))
        event_clusters.refresh(connection, left)
        _insert_annotation(connection, article_id, annotation, grouping.cluster_days)
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
        .values(**_article_row(run_id, article, pipeline_version))
        .on_conflict_do_nothing(index_elements=[ArticleRow.content_sha256])
        .returning(ArticleRow.id)
    )
    return connection.scalar(statement)


def _article_row(run_id: int, article: Article, pipeline_version: str) -> dict[str, Any]:
    return {
        "source_path": article.source_path,
        "record_index": article.record_index,
        "content_sha256": article.content_sha256,
        "title": article.title,
        "body": article.body,
        "url": article.url,
        "source": article.source,
        "language": article.language,
        "published_at": article.published_at,
        "published_at_source": article.published_at_source,
        "word_count": article.word_count,
        "pipeline_version": pipeline_version,
        "first_seen_run_id": run_id,
        "updated_run_id": run_id,
    }


def _add_source(connection: Connection, article_id: int, article: Article) -> None:
    statement = _upsert(connection, ArticleSourceRow).values(_source_row(article_id, article))
    connection.execute(statement.on_conflict_do_nothing())


def _source_row(article_id: int, article: Article) -> dict[str, Any]:
    return {"article_id": article_id, "source_path": article.source_path, "record_index": article.record_index}


def _detach_source(connection: Connection, article_id: int, article: Article) -> None:
    """This record no longer holds `article_id`'s content; delete that article if nothing else holds it."""
    connection.execute(
        delete(ArticleSourceRow).where(
            ArticleSourceRow.source_path == article.source_path,
            ArticleSourceRow.record_index == article.record_index,
        )
    )
    if not connection.scalar(select(exists().where(ArticleSourceRow.article_id == article_id))):
        _delete_articles(connection, [article_id])


def _delete_articles(connection: Connection, article_ids: Sequence[int]) -> None:
    """Delete articles; cascades remove their mentions, events and participants, signatures and band keys. Their
    copies are linked to the next of their group and the clusters of their events recounted."""
    event_clusters.lock(connection)
    clusters = event_clusters.of_articles(connection, article_ids)
    near_duplicates.relink_copies(connection, article_ids)
    for page in pages(sorted(article_ids)):
        connection.execute(delete(ArticleRow).where(ArticleRow.id.in_(page)))
    event_clusters.refresh(connection, clusters)


def _insert_annotation(connection: Connection, article_id: int, annotation: Annotation, cluster_days: int) -> None:
    entity_ids = _entity_ids(connection, [annotation], _upsert_merged_entities(connection, [annotation]))
    with article_stage("building rows"):
        rows = _annotation_rows(annotation, entity_ids)
    _insert_aliases(connection, [annotation], entity_ids)
    _insert_annotation_rows(connection, [(article_id, rows)], cluster_days)


@dataclass(frozen=True, slots=True)
class _AnnotationRows:
    """The rows of one article's annotation, ready to insert but for its article's id and its events' ids, which
    `_insert_annotation_rows` sets in them (rather than copy thousands of dicts to add a key)."""

    mentions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    participants: list[list[dict[str, Any]]]  # those of each event, without its event_id


def _annotation_rows(annotation: Annotation, entity_ids: dict[str, int]) -> _AnnotationRows:
    """`RejectedInput` when the annotation refers to an entity that is neither in it nor stored."""
    mentions = [
        {
            "entity_id": _entity_id(entity_ids, mention.entity_key, "mention"),
            "start_char": mention.start,
            "end_char": mention.end,
            "text": mention.text,
            "label": mention.label,
            "sentence_index": mention.sentence_index,
        }
        for mention in annotation.mentions
    ]
    events = [
        {
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
            "confidence": event.confidence,
            "is_background": event.is_background,
        }
        for event in annotation.events
    ]
    participants = [
        [
            {
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
            for participant in event.participants
        ]
        for event in annotation.events
    ]
    return _AnnotationRows(mentions, events, participants)


def _insert_annotation_rows(
    connection: Connection, annotations: Sequence[tuple[int, _AnnotationRows]], cluster_days: int
) -> None:
    """Mentions, events and their participants of many articles, by article id, one statement per table; each
    event in its cluster (`etl.event_clusters`), whose counts are then recomputed."""
    for article_id, rows in annotations:
        for row in (*rows.mentions, *rows.events):
            row["article_id"] = article_id
    _insert_rows(connection, MentionRow, [row for _, rows in annotations for row in rows.mentions])
    events = [row for _, rows in annotations for row in rows.events]
    event_ids = _new_ids(connection, EventRow, len(events))
    event_participants = [participants for _, rows in annotations for participants in rows.participants]
    to_cluster = [
        event_clusters.to_cluster(row, participants)
        for row, participants in zip(events, event_participants, strict=True)
    ]
    cluster_ids = event_clusters.assign(connection, to_cluster, cluster_days)
    for event_id, cluster_id, row, participants in zip(event_ids, cluster_ids, events, event_participants, strict=True):
        row["id"] = event_id
        row["cluster_id"] = cluster_id
        for participant in participants:
            participant["event_id"] = event_id
    _insert_rows(connection, EventRow, events)
    _insert_rows(connection, EventParticipantRow, [row for participants in event_participants for row in participants])
    event_clusters.refresh(connection, cluster_ids)


def _new_ids(connection: Connection, row_type: type[Any], count: int) -> Sequence[int]:
    """`count` ids for new rows of `row_type`, so that rows referring to them are built before any is inserted.

    PostgreSQL draws them from the table's sequence, which concurrent transactions share safely. SQLite takes
    those after the largest id, as it would itself: a SQLite transaction that writes is the only writer, and one
    whose snapshot another has written since is refused at its first write (busy, retried)."""
    if not count:
        return []
    table = row_type.__table__
    if connection.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, table.c.id.name)
        series = func.generate_series(1, count)
        return sorted(connection.scalars(select(func.nextval(sequence)).select_from(series)))
    largest = connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return range(largest + 1, largest + 1 + count)


def _insert_rows(
    connection: Connection,
    row_type: type[Any],
    rows: Sequence[dict[str, Any]],
    finish: Callable[[Any], Any] = lambda statement: statement,
) -> Result[Any] | None:
    """Insert rows, each with the same columns, in one statement per table: the dialect's INSERT, which `finish`
    may give an ON CONFLICT clause or RETURNING. None when there are no rows.

    On PostgreSQL, the rows go as one array per column into `INSERT … SELECT … FROM unnest(…)`, in their order:
    one short statement to parse and one round trip, where psycopg's executemany pays both per row and
    insertmanyvalues sends a statement of thousands of parameters. SQLAlchemy binds each array as its column's
    type, so a TypeDecorator still applies; a string column's array has no length, as a cast to varchar(n)[]
    would cut longer values short where inserting them fails.

    On SQLite, the statement is compiled once and run by the driver's executemany on the rows as tuples, each
    value through its column type's bind processor as Core would: Core's executemany spends most of its time
    building a new dict of parameters per row. A statement returning rows goes through Core (insertmanyvalues)."""
    if not rows:
        return None
    table = row_type.__table__
    columns = list(rows[0])
    dialect = connection.dialect
    if dialect.name == "postgresql":
        arrays = [bindparam(None, [row[name] for row in rows], type_=_array_of(table.c[name].type)) for name in columns]
        source = func.unnest(*arrays).table_valued(*columns).render_derived()
        return connection.execute(finish(postgresql.insert(row_type).from_select(columns, select(*source.c))))
    statement = finish(sqlite.insert(row_type))
    compiled = statement.compile(dialect=dialect, column_keys=columns)
    if compiled.effective_returning:
        return connection.execute(statement, rows)
    keys = compiled.positiontup or []
    processors = [(i, table.c[key].type.dialect_impl(dialect).bind_processor(dialect)) for i, key in enumerate(keys)]
    converted = [(i, processor) for i, processor in processors if processor is not None]
    values_of = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    parameters = [values_of(row) for row in rows]  # tuples built in C: no list per row to convert
    if converted:
        parameters = [_processed(values, converted) for values in parameters]
    connection.exec_driver_sql(compiled.string, parameters)
    return None


def _processed(values: tuple[Any, ...], processors: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    processed = list(values)
    for i, processor in processors:
        processed[i] = processor(processed[i])
    return tuple(processed)


def _array_of(column_type: Any) -> postgresql.ARRAY:
    return postgresql.ARRAY(String() if isinstance(column_type, String) else column_type)


def _insert_aliases(connection: Connection, annotations: Sequence[Annotation], entity_ids: dict[str, int]) -> None:
    """Every name the annotations give their entities; an article's own canonical name is kept as an alias, so it is
    not lost when another article's won."""
    aliases = {
        (entity_ids[entity.entity_key], alias)
        for annotation in annotations
        for entity in annotation.entities
        for alias in (entity.canonical_name, *entity.aliases)
    }
    rows = [{"entity_id": entity_id, "alias": alias} for entity_id, alias in sorted(aliases)]
    _insert_rows(connection, EntityAliasRow, rows, lambda statement: statement.on_conflict_do_nothing())


def _entity_ids(connection: Connection, annotations: Sequence[Annotation], known: dict[str, int]) -> dict[str, int]:
    """The ids of the entities the annotations refer to: `known`, and those stored before, looked up."""
    ids = dict(known)
    keys = sorted({key for annotation in annotations for key in _referenced_keys(annotation)} - ids.keys())
    for page in pages(keys):
        ids.update(
            connection.execute(select(EntityRow.entity_key, EntityRow.id).where(EntityRow.entity_key.in_(page))).all()
        )
    return ids


def _upsert_merged_entities(connection: Connection, annotations: Sequence[Annotation]) -> dict[str, int]:
    """Upsert at once, in key order, the entities of the annotations a transaction is about to load, as loading
    them one annotation after another would leave them (the first names an entity, later ones fill only what it
    did not know). Called first in a batch transaction, it takes every entity lock the batch needs in one global
    order, so two batches loading the same entities at once wait for each other and never deadlock. Returns their
    ids by key."""
    merged: dict[str, Entity] = {}
    for annotation in annotations:
        for entity in annotation.entities:
            first = merged.setdefault(entity.entity_key, entity)
            known = {name: getattr(entity, name) for name in _FILLED if getattr(first, name) is None}
            if first is not entity and any(value is not None for value in known.values()):
                merged[entity.entity_key] = replace(first, **known)
    return _upsert_entity_rows(connection, merged.values())


def _upsert_entity_rows(connection: Connection, entities: Iterable[Entity]) -> dict[str, int]:
    """Insert entities not stored yet; an existing row keeps its canonical name and fills only its unknown
    attributes. In key order: transactions upserting the same entities lock them in one order, never waiting on
    each other in a cycle. Returns their ids by key, from the upsert itself (no look-up after)."""
    rows = [
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
        for entity in sorted(entities, key=lambda entity: entity.entity_key)
    ]

    def known_or_new(statement: Any) -> Any:
        filled = {column: func.coalesce(getattr(EntityRow, column), statement.excluded[column]) for column in _FILLED}
        upsert = statement.on_conflict_do_update(index_elements=[EntityRow.entity_key], set_=filled)
        return upsert.returning(EntityRow.entity_key, EntityRow.id)

    result = _insert_rows(connection, EntityRow, rows, known_or_new)
    return {} if result is None else dict(result.tuples().all())


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
