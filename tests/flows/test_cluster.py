"""The nightly flow on a local Dask cluster of two workers gives the rows of a run in one process: on
PostgreSQL the workers load their own rows, on SQLite the run's process loads what they annotated."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from etl.database import create_engine_for
from etl.models import ArticleRow, EntityRow, EventClusterRow, EventRow, MentionRow
from flows.nightly import nightly

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "articles"


def _rows(db_url: str) -> dict[str, set[tuple]]:
    """The rows a run wrote, keyed by content rather than by ids, which depend on the order of loading."""
    engine = create_engine_for(db_url)
    sha = ArticleRow.content_sha256
    with engine.connect() as connection:
        rows = {
            "articles": set(connection.execute(select(sha))),
            "entities": set(connection.execute(select(EntityRow.entity_key))),
            "mentions": set(
                connection.execute(
                    select(sha, MentionRow.start_char, MentionRow.end_char, EntityRow.entity_key)
                    .join(ArticleRow, MentionRow.article_id == ArticleRow.id)
                    .join(EntityRow, MentionRow.entity_id == EntityRow.id)
                )
            ),
            "events": set(
                connection.execute(
                    select(sha, EventRow.event_type, EventRow.trigger_start).join(
                        ArticleRow, EventRow.article_id == ArticleRow.id
                    )
                )
            ),
        }
        # Each event cluster as the set of its events: the same whichever worker loaded which batch first.
        members: dict[int, set[tuple]] = {}
        for cluster_id, *event in connection.execute(
            select(EventRow.cluster_id, sha, EventRow.trigger_start).join(
                ArticleRow, EventRow.article_id == ArticleRow.id
            )
        ):
            members.setdefault(cluster_id, set()).add(tuple(event))
        rows["event_clusters"] = {frozenset(events) for events in members.values()}
        counts = connection.execute(select(func.count(), func.sum(EventClusterRow.num_mentions))).one()
        rows["cluster_counts"] = {tuple(counts)}
    engine.dispose()
    return rows


def test_cluster_nightly_on_two_dask_workers_writes_the_rows_of_one_process(
    db_url: str, second_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    articles_dir = tmp_path / "articles"
    shutil.copytree(SEEDS, articles_dir)
    monkeypatch.setenv("NEWSETL_BATCH_SIZE", "4")  # about ten batches to spread over the workers
    monkeypatch.setenv("NEWSETL_N_PROCESS", "1")

    alone = nightly(input_dir=str(articles_dir), db_url=second_db_url)
    spread = nightly(input_dir=str(articles_dir), db_url=db_url, executor="dask", dask_workers=2)

    for status in ("loaded", "duplicate", "rejected", "skipped", "articles", "mentions", "events"):
        assert getattr(spread, status) == getattr(alone, status), status
    assert alone.articles > 0 and alone.events > 0
    expected, got = _rows(second_db_url), _rows(db_url)
    for table in expected:
        assert got[table] == expected[table], table

    again = nightly(input_dir=str(articles_dir), db_url=db_url, executor="dask", dask_workers=2)
    assert again.loaded == again.articles == 0
    assert _rows(db_url) == expected
