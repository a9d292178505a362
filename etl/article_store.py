"""The article store: each content stored once as an article, with the records that hold it, whole or not at all.

Each article is written in one transaction, in one savepoint of a caller's batch `transaction`, or set-wise with
others in one savepoint (`load_articles`), so a failure leaves no partial article. Re-loading unchanged content
writes nothing; a changed record replaces the article it used to hold. Lock and connection failures surface as
`TransientDatabaseError` for the caller to retry, a full disk as `DiskFullError` (etl.database's `database_errors`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from traceback import format_exc
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, select, tuple_, update
from sqlalchemy.exc import DBAPIError

from etl import annotation_store, event_clusters, near_duplicates
from etl.bulk_write import insert_rows, new_ids, upsert
from etl.database import DEFAULT_GROUPING, atomic, connected, database_errors, pages, write_transaction
from etl.errors import ArticleFailed, RejectedInput, article_stage, one_line
from etl.models import ArticleRow, ArticleSourceRow, EventRow, MentionRow
from etl.records import AnnotatedArticle, Annotation, Article, FileStatus, Grouping


def stored_content(target: Engine | Connection, content_sha256: Collection[str]) -> set[str]:
    """Which of these content hashes are stored as articles already (seen from `target`'s transaction if a
    connection)."""
    with database_errors("look up stored content"), connected(target) as connection:
        return _stored_content(connection, content_sha256)


def _stored_content(connection: Connection, content_sha256: Collection[str]) -> set[str]:
    stored: set[str] = set()
    for page in pages(sorted(set(content_sha256))):
        stored.update(connection.scalars(select(ArticleRow.content_sha256).where(ArticleRow.content_sha256.in_(page))))
    return stored


def load_stored_content(target: Engine | Connection, article: Article) -> FileStatus | None:
    """Record an article whose content is already stored, without annotating it: SKIPPED when this record
    already holds it, DUPLICATE when it is stored from another place (this record is added to its sources).
    None, with nothing written, when the content is not stored: the article must be annotated and loaded."""
    with atomic(target, f"look up article {article.source_path}#{article.record_index}") as connection:
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
    with atomic(target, f"load article {article.source_path}#{article.record_index}") as connection:
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
        annotation_store.insert_annotation(connection, article_id, item.annotation, grouping.cluster_days)
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
    same entities or content at once (on PostgreSQL) take their locks in one order and wait
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
        upserted = annotation_store.upsert_merged_entities(connection, [items[i][0].annotation for i in sorted(new)])
        try:
            with atomic(connection, f"load {len(new)} articles") as savepoint:
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
            except DBAPIError as exc:  # busy, unreachable or a full disk are not DBAPIErrors here (`atomic`)
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
    entity_ids = annotation_store.referenced_entity_ids(
        connection, [item.annotation for item, _ in items.values()], upserted
    )
    outcomes: dict[int, FileStatus | RejectedInput] = {}
    accepted: list[tuple[int, AnnotatedArticle, str, annotation_store.AnnotationRows]] = []
    for i, (item, version) in items.items():
        try:
            with article_stage("building rows"):
                rows = annotation_store.annotation_rows(item.annotation, entity_ids)
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
    article_ids = new_ids(connection, ArticleRow, len(accepted))
    stored = list(zip(article_ids, accepted, strict=True))
    insert_rows(
        connection,
        ArticleRow,
        [
            {"id": article_id, **_article_row(run_id, item.article, version)}
            for article_id, (_, item, version, _) in stored
        ],
    )
    insert_rows(
        connection, ArticleSourceRow, [_source_row(article_id, item.article) for article_id, (_, item, _, _) in stored]
    )
    near_duplicates.link_near_duplicates(
        connection,
        [(article_id, item.article.body) for article_id, (_, item, _, _) in stored],
        grouping.near_duplicate_threshold,
    )
    annotation_store.insert_aliases(connection, [item.annotation for _, item, _, _ in accepted], entity_ids)
    annotation_store.insert_annotation_rows(
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
        annotation_store.insert_annotation(connection, article_id, annotation, grouping.cluster_days)
        connection.execute(
            update(ArticleRow)
            .where(ArticleRow.id == article_id)
            .values(pipeline_version=pipeline_version, updated_run_id=run_id)
        )


def _insert_article(connection: Connection, run_id: int, article: Article, pipeline_version: str) -> int | None:
    """The new article's id; None when its content is already stored. Workers of a cluster load concurrently:
    PostgreSQL makes an insert of content another transaction is inserting wait for it, then do nothing."""
    statement = (
        upsert(connection, ArticleRow)
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
    statement = upsert(connection, ArticleSourceRow).values(_source_row(article_id, article))
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
        delete_articles(connection, [article_id])


def delete_articles(connection: Connection, article_ids: Sequence[int]) -> None:
    """Delete articles; cascades remove their mentions, events and participants, signatures and band keys. Their
    copies are linked to the next of their group and the clusters of their events recounted."""
    event_clusters.lock(connection)
    clusters = event_clusters.of_articles(connection, article_ids)
    near_duplicates.relink_copies(connection, article_ids)
    for page in pages(sorted(article_ids)):
        connection.execute(delete(ArticleRow).where(ArticleRow.id.in_(page)))
    event_clusters.refresh(connection, clusters)
