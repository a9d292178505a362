"""Re-annotation's reads: stored articles by publication date and pipeline version, a page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, select

from etl.database import database_errors
from etl.models import ArticleRow
from etl.records import Article, DateSource

ARTICLES_PER_QUERY = 200


def published_in(since: date | None, until: date | None) -> list[ColumnElement[bool]]:
    """Conditions keeping the articles published on or after `since` and on or before `until` (UTC days); an open
    end sets none, and with either set an article without a publication date is left out."""
    conditions = []
    if since is not None:
        conditions.append(ArticleRow.published_at >= datetime.combine(since, time.min, UTC))
    if until is not None:
        conditions.append(ArticleRow.published_at < datetime.combine(until + timedelta(days=1), time.min, UTC))
    return conditions


def _article_conditions(
    since: date | None, until: date | None, not_version: str | None, updated_before_run: int | None
) -> list[ColumnElement[bool]]:
    conditions = published_in(since, until)
    if not_version is not None:
        conditions.append(ArticleRow.pipeline_version != not_version)
    if updated_before_run is not None:
        conditions.append(ArticleRow.updated_run_id < updated_before_run)
    return conditions


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
