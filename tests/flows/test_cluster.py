"""The nightly flow annotating on a Dask cluster of two workers gives the rows of a run in one process: the run's
process reads and loads, one batch of files ahead of the workers, as with local worker processes."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster
from sqlalchemy import func, select

from etl.database import create_engine_for
from etl.models import ArticleRow, EntityRow, EventClusterRow, EventRow, MentionRow, RunRow
from flows.nightly import nightly

# One xdist worker runs the module, so that its runs share one cluster (a local cluster of the flow's own, which
# `dask_workers` starts, is tested in tests/reliability/test_article_faults.py).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dask")]

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


def _first_run_counts(db_url: str) -> dict[str, int]:
    engine = create_engine_for(db_url)
    with engine.connect() as connection:
        run = connection.execute(select(RunRow.__table__).order_by(RunRow.id).limit(1)).mappings().one()
    engine.dispose()
    return {status: run[f"files_{status}"] for status in ("loaded", "duplicate", "rejected", "skipped")} | {
        rows: run[rows] for rows in ("articles", "mentions", "events")
    }


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    """A local Dask cluster of two worker processes, as `newsetl run --executor dask --workers 2` starts, for the
    module's runs: its workers start and load the model once."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        yield cluster.scheduler_address


# PostgreSQL alone: the run's process loads the rows whatever the executor, and the Dask executor on SQLite runs in
# tests/reliability/test_article_faults.py; a second run of the whole sample on SQLite cost a minute of CPU.
@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_cluster_nightly_on_two_dask_workers_writes_the_rows_of_one_process(
    db_url: str, sample_db: str, dask_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    articles_dir = tmp_path / "articles"
    shutil.copytree(SEEDS, articles_dir)
    monkeypatch.setenv("NEWSETL_BATCH_SIZE", "4")  # about ten batches to spread over the workers

    spread = nightly(input_dir=str(articles_dir), db_url=db_url, executor="dask", dask_address=dask_address)

    alone = _first_run_counts(sample_db)  # the same articles, loaded by the flow in one process
    assert {status: getattr(spread, status) for status in alone} == alone
    assert alone["articles"] > 0 and alone["events"] > 0
    expected, got = _rows(sample_db), _rows(db_url)
    for table in expected:
        assert got[table] == expected[table], table

    again = nightly(input_dir=str(articles_dir), db_url=db_url, executor="dask", dask_address=dask_address)
    assert again.loaded == again.articles == 0
    assert _rows(db_url) == expected
