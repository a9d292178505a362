"""The database integrity check behind `newsetl db check`: what a killed run or a bad write could break.

Each check is one query (or one pass over the articles) that lists rows breaking a rule the load stage keeps:

- **foreign keys**: every reference points at a stored row (SQLite does not enforce them on a connection that
  turned them off, and a copied or hand-edited file may hold orphans; on PostgreSQL this finds none unless a
  constraint was dropped);
- **offsets**: every mention, event trigger and participant lies within its article's body and slices it to the
  stored text;
- **articles**: every article has at least one `article_sources` row, and its content hash is that of its title
  and body (a torn write would change one and not the other);
- **source files**: a file recorded as loaded or duplicate holds at least one article;
- **event clusters**: every cluster's `num_mentions`, `num_articles`, `num_sources` and `first_seen_at` equal what
  its events say, and no cluster is left without events;
- **near-duplicate links**: `articles.near_duplicate_of` names an earlier stored article that is not itself a copy;
- **runs**: a completed run's counts are at least the rows still stamped with its decisions (later runs may take
  files over, and retiring may delete articles, so only "at least" holds: files per status in `source_files`,
  articles first seen by it, files it rejected); a run still `running` has a process holding the run lock.

Problems are reported as found, at most `EXAMPLES_PER_CHECK` per check followed by a count of the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, Select, exists, func, literal_column, select
from sqlalchemy.orm import aliased

from etl.errors import RunLocked
from etl.models import (
    ArticleRow,
    ArticleSourceRow,
    Base,
    EventClusterRow,
    EventParticipantRow,
    EventRow,
    MentionRow,
    RejectedFileRow,
    RunRow,
    RunStatus,
    SourceFileRow,
)
from etl.records import FileStatus
from etl.runlock import run_lock

EXAMPLES_PER_CHECK = 20


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: the check that found it and the rows concerned, in words."""

    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


def check_database(engine: Engine) -> list[Problem]:
    """Every problem found in a newsetl database; an empty list when it is consistent."""
    problems: list[Problem] = []
    for check, details in (
        ("foreign keys", _orphans(engine)),
        ("mention offsets", _bad_spans(engine, _mention_spans())),
        ("event trigger offsets", _bad_spans(engine, _trigger_spans())),
        ("participant offsets", _bad_spans(engine, _participant_spans())),
        ("articles without a source", _articles_without_source(engine)),
        ("article content hash", _articles_with_wrong_hash(engine)),
        ("source files without articles", _loaded_files_without_articles(engine)),
        ("event cluster counts", _clusters_miscounted(engine)),
        ("near-duplicate links", _bad_near_duplicate_links(engine)),
        ("run counts", _runs_counting_less_than_their_rows(engine)),
        ("runs left running", _runs_left_running(engine)),
    ):
        problems.extend(_capped(check, details))
    return problems


def _capped(check: str, details: Iterable[str]) -> Iterator[Problem]:
    more = 0
    for number, detail in enumerate(details):
        if number < EXAMPLES_PER_CHECK:
            yield Problem(check, detail)
        else:
            more += 1
    if more:
        yield Problem(check, f"... and {more} more")


def _orphans(engine: Engine) -> Iterator[str]:
    """Rows whose non-null foreign key names no row, for every foreign key in the schema."""
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for foreign_key in table.foreign_keys:
                column, target = foreign_key.parent, foreign_key.column
                orphans = connection.execute(
                    select(column, func.count())
                    .where(column.is_not(None), ~exists().where(target == column))
                    .group_by(column)
                    .order_by(column)
                )
                for value, count in orphans:
                    yield f"{table.name}.{column.name} = {value} ({count} rows): no {target.table.name} row"


def _mention_spans() -> Select:
    return select(
        literal_column("'mention'"),
        MentionRow.id,
        MentionRow.start_char,
        MentionRow.end_char,
        MentionRow.text,
        ArticleRow.id,
        ArticleRow.body,
    ).join(ArticleRow, ArticleRow.id == MentionRow.article_id)


def _trigger_spans() -> Select:
    return select(
        literal_column("'event'"),
        EventRow.id,
        EventRow.trigger_start,
        EventRow.trigger_end,
        EventRow.trigger_text,
        ArticleRow.id,
        ArticleRow.body,
    ).join(ArticleRow, ArticleRow.id == EventRow.article_id)


def _participant_spans() -> Select:
    return (
        select(
            literal_column("'participant'"),
            EventParticipantRow.id,
            EventParticipantRow.start_char,
            EventParticipantRow.end_char,
            EventParticipantRow.text,
            ArticleRow.id,
            ArticleRow.body,
        )
        .join(EventRow, EventRow.id == EventParticipantRow.event_id)
        .join(ArticleRow, ArticleRow.id == EventRow.article_id)
    )


def _bad_spans(engine: Engine, spans: Select) -> Iterator[str]:
    """Spans outside their article's body or not slicing it to their text.

    Compared in Python, not SQL: SQLite's substr counts characters and PostgreSQL's too, but only Python's
    slicing is the definition the annotator used. One article body is in memory at a time.
    """
    with engine.connect() as connection:
        for kind, row_id, start, end, text, article_id, body in connection.execute(
            spans.order_by(spans.selected_columns[5], spans.selected_columns[1])
        ):
            if not 0 <= start < end <= len(body):
                yield f"{kind} {row_id} of article {article_id}: [{start}, {end}) is outside its body of {len(body)}"
            elif body[start:end] != text:
                yield f"{kind} {row_id} of article {article_id}: [{start}, {end}) is {body[start:end]!r}, not {text!r}"


def _articles_without_source(engine: Engine) -> Iterator[str]:
    with engine.connect() as connection:
        for article_id, source_path in connection.execute(
            select(ArticleRow.id, ArticleRow.source_path)
            .where(~exists().where(ArticleSourceRow.article_id == ArticleRow.id))
            .order_by(ArticleRow.id)
        ):
            yield f"article {article_id} ({source_path}) has no article_sources row"


def _articles_with_wrong_hash(engine: Engine) -> Iterator[str]:
    """Articles whose stored content hash is not that of their stored title and body (as `clean` computes it)."""
    with engine.connect() as connection:
        rows = connection.execution_options(yield_per=200).execute(
            select(ArticleRow.id, ArticleRow.title, ArticleRow.body, ArticleRow.content_sha256).order_by(ArticleRow.id)
        )
        for article_id, title, body, content_sha256 in rows:
            if hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest() != content_sha256:
                yield f"article {article_id}: its title and body do not hash to its content_sha256"


def _loaded_files_without_articles(engine: Engine) -> Iterator[str]:
    with engine.connect() as connection:
        for path, status in connection.execute(
            select(SourceFileRow.path, SourceFileRow.status)
            .where(
                SourceFileRow.status.in_([FileStatus.LOADED, FileStatus.DUPLICATE]),
                ~exists().where(ArticleSourceRow.source_path == SourceFileRow.path),
            )
            .order_by(SourceFileRow.path)
        ):
            yield f"{path} is recorded as {status} but holds no article"


def _clusters_miscounted(engine: Engine) -> Iterator[str]:
    """Clusters whose stored counts or first sighting differ from their events' (none for a cluster without)."""
    cluster = EventClusterRow
    counted = (
        select(
            EventRow.cluster_id,
            func.count().label("mentions"),
            func.count(func.distinct(EventRow.article_id)).label("articles"),
            func.count(func.distinct(ArticleRow.source)).label("sources"),
            func.min(ArticleRow.published_at).label("first_seen_at"),
        )
        .join(ArticleRow, ArticleRow.id == EventRow.article_id)
        .group_by(EventRow.cluster_id)
        .subquery()
    )
    stored = (cluster.num_mentions, cluster.num_articles, cluster.num_sources, cluster.first_seen_at)
    actual = (counted.c.mentions, counted.c.articles, counted.c.sources, counted.c.first_seen_at)
    with engine.connect() as connection:
        rows = connection.execute(
            select(cluster.id, *stored, *actual)
            .outerjoin(counted, counted.c.cluster_id == cluster.id)
            .order_by(cluster.id)
            .execution_options(yield_per=1000)
        )
        for cluster_id, *values in rows:
            recorded, found = values[:4], values[4:]
            if found[0] is None:
                yield f"event cluster {cluster_id} has no events"
            elif recorded != found:
                yield (
                    f"event cluster {cluster_id} counts {recorded[0]} mentions, {recorded[1]} articles and "
                    f"{recorded[2]} sources (first seen {recorded[3]}); its events say {found[0]}, {found[1]} and "
                    f"{found[2]} (first seen {found[3]})"
                )


def _bad_near_duplicate_links(engine: Engine) -> Iterator[str]:
    original = aliased(ArticleRow)
    with engine.connect() as connection:
        rows = connection.execute(
            select(ArticleRow.id, ArticleRow.near_duplicate_of, original.id, original.near_duplicate_of)
            .outerjoin(original, original.id == ArticleRow.near_duplicate_of)
            .where(ArticleRow.near_duplicate_of.is_not(None))
            .order_by(ArticleRow.id)
        )
        for article_id, of, found, of_of in rows:
            if found is None:
                yield f"article {article_id} is a near-duplicate of article {of}, which is not stored"
            elif of_of is not None or of >= article_id:
                yield f"article {article_id} is a near-duplicate of article {of}, which is not the first of its group"


# A run's count column for the files it left in each status.
_FILE_COUNT_COLUMNS = {
    FileStatus.LOADED: RunRow.files_loaded,
    FileStatus.SKIPPED: RunRow.files_skipped,
    FileStatus.DUPLICATE: RunRow.files_duplicate,
    FileStatus.REJECTED: RunRow.files_rejected,
    FileStatus.MISSING: RunRow.files_deleted,
}


def _runs_counting_less_than_their_rows(engine: Engine) -> Iterator[str]:
    completed = aliased(RunRow)
    with engine.connect() as connection:
        for status, count_column in _FILE_COUNT_COLUMNS.items():
            stamped = (
                select(func.count())
                .where(SourceFileRow.last_run_id == completed.id, SourceFileRow.status == status)
                .scalar_subquery()
            )
            yield from _undercounts(
                connection,
                completed,
                getattr(completed, count_column.key),
                stamped,
                f"files {status}",
                "source_files rows marked so by it",
            )
        first_seen = select(func.count()).where(ArticleRow.first_seen_run_id == completed.id).scalar_subquery()
        yield from _undercounts(
            connection, completed, completed.articles, first_seen, "articles", "articles first seen by it"
        )
        rejected = (
            select(func.count(func.distinct(RejectedFileRow.source_path)))
            .where(RejectedFileRow.run_id == completed.id)
            .scalar_subquery()
        )
        yield from _undercounts(
            connection,
            completed,
            completed.files_rejected,
            rejected,
            "files rejected",
            "files with a rejection reason",
            at_most=True,
        )


def _undercounts(
    connection: Connection,
    run: type[RunRow],
    counted: ColumnElement[int],
    rows: ColumnElement[int],
    what: str,
    rows_named: str,
    at_most: bool = False,
) -> Iterator[str]:
    """Completed runs whose `counted` column is below `rows` (or, with `at_most`, above it)."""
    broken = counted > rows if at_most else counted < rows
    for run_id, count, actual in connection.execute(
        select(run.id, counted, rows).where(run.status == RunStatus.COMPLETED, broken).order_by(run.id)
    ):
        relation = "more than" if at_most else "fewer than"
        yield f"run {run_id} counts {count} {what}, {relation} the {actual} {rows_named}"


def _runs_left_running(engine: Engine) -> Iterator[str]:
    """Runs marked running while no process holds the run lock: killed runs the next run will mark failed."""
    with engine.connect() as connection:
        running = connection.scalars(
            select(RunRow.id).where(RunRow.status == RunStatus.RUNNING).order_by(RunRow.id)
        ).all()
    if not running:
        return
    try:
        with run_lock(engine):
            pass
    except RunLocked:
        running = running[:-1]  # the newest is the live run holding the lock; any older one is dead
    for run_id in running:
        yield f"run {run_id} is marked running but its process is gone (the next run marks it failed)"
