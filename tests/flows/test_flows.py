"""The nightly and backfill flows end to end over the project's sample articles, on SQLite and PostgreSQL."""

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from etl.database import create_engine_for
from etl.integrity import check_database
from etl.models import Base
from flows.backfill import backfill
from flows.nightly import nightly

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "articles"


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "articles"
    shutil.copytree(SEEDS, copy)
    return copy


def _row_counts(db_url: str) -> dict[str, int]:
    engine = create_engine_for(db_url)
    with engine.connect() as connection:
        counts = {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }
    engine.dispose()
    return counts


def _query(db_url: str, statement):
    engine = create_engine_for(db_url)
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    engine.dispose()
    return rows


def test_nightly_loads_then_changes_nothing_then_replaces_one_changed_file(articles_dir: Path, db_url: str):
    tables = Base.metadata.tables
    files = [p for p in articles_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]

    first = nightly(input_dir=str(articles_dir), db_url=db_url)
    assert first.loaded + first.duplicate + first.rejected + first.skipped == len(files)
    assert first.loaded >= 25 and first.duplicate >= 1 and first.rejected >= 3
    assert first.articles > 0 and first.mentions > 0 and first.events > 0
    after_first = _row_counts(db_url)

    second = nightly(input_dir=str(articles_dir), db_url=db_url)
    assert second.skipped == len(files)
    assert second.loaded == second.articles == 0
    after_second = _row_counts(db_url)
    assert {k: v for k, v in after_second.items() if k != "runs"} == {
        k: v for k, v in after_first.items() if k != "runs"
    }
    assert after_second["runs"] == after_first["runs"] + 1

    # Change one article's text: only its rows are replaced.
    changed = next(p for p in sorted(articles_dir.rglob("*.txt")) if "2022/11/10" in p.as_posix())
    headline, body = changed.read_text(encoding="utf-8").split("\n\n", 1)
    changed.write_text(f"{headline}\n\nThe talks will resume next week.\n\n{body}", encoding="utf-8")
    before = {row.id: row.source_path for row in _query(db_url, select(tables["articles"]))}
    third = nightly(input_dir=str(articles_dir), db_url=db_url)
    assert third.loaded == 1 and third.articles == 1
    after = {row.id: row.source_path for row in _query(db_url, select(tables["articles"]))}
    replaced = {i for i, path in before.items() if path == changed.as_posix()}
    assert replaced and not replaced & after.keys()
    assert {i: p for i, p in before.items() if i not in replaced}.items() <= after.items()
    assert _row_counts(db_url)["articles"] == after_first["articles"]


def test_nightly_rows_are_consistent_with_stored_bodies(articles_dir: Path, db_url: str):
    nightly(input_dir=str(articles_dir), db_url=db_url)
    tables = Base.metadata.tables
    bodies = {row.id: row.body for row in _query(db_url, select(tables["articles"]))}
    mentions = _query(db_url, select(tables["mentions"]))
    assert mentions
    for mention in mentions:
        assert bodies[mention.article_id][mention.start_char : mention.end_char] == mention.text
    events = _query(db_url, select(tables["events"]))
    assert events
    for event in events:
        assert bodies[event.article_id][event.trigger_start : event.trigger_end] == event.trigger_text
    participants = _query(db_url, select(tables["event_participants"]))
    assert any(p.role == "actor" for p in participants)
    rejected = {Path(r.source_path).name: r.reason for r in _query(db_url, select(tables["rejected_files"]))}
    assert "empty" in rejected["empty.txt"].lower()
    assert "json" in rejected["broken.json"].lower()
    aliases = _query(db_url, select(tables["entity_aliases"]))
    assert len(aliases) >= len(_query(db_url, select(tables["entities"])))


def test_backfill_reprocess_reannotates_only_the_range(articles_dir: Path, tmp_path: Path):
    db_url = f"sqlite:///{tmp_path / 'backfill.db'}"
    nightly(input_dir=str(articles_dir), db_url=db_url)
    mentions_before = _row_counts(db_url)["mentions"]
    clusters_before = _row_counts(db_url)["event_clusters"]
    counts = backfill(
        since=date(2022, 11, 10),
        until=date(2022, 11, 10),
        input_dir=str(articles_dir),
        db_url=db_url,
        force=True,  # the articles are at the current pipeline version: only a forced backfill redoes them
    )
    in_range = _query(
        db_url,
        select(Base.metadata.tables["articles"].c.published_at),
    )
    expected = sum(1 for (published,) in in_range if published and published.date() == date(2022, 11, 10))
    assert expected > 0
    assert counts.articles == expected
    assert _row_counts(db_url)["mentions"] == mentions_before
    # The clusters the re-annotated events left are recounted and those they join found again: the same number.
    assert _row_counts(db_url)["event_clusters"] == clusters_before
    engine = create_engine_for(db_url)
    grouping = [str(p) for p in check_database(engine) if p.check in ("event cluster counts", "near-duplicate links")]
    engine.dispose()
    assert grouping == []
