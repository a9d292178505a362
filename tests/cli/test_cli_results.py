"""`newsetl query` streaming and Parquet, `newsetl export` and `newsetl report`, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from etl.export import WHOLE, write_csv, write_json
from etl.models import ArticleRow, EntityRow, EventClusterRow, EventParticipantRow, EventRow, RejectedFileRow, RunRow
from etl.query import stream_query
from newsetl.cli import app

runner = CliRunner()
HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


@pytest.fixture
def results(engine: Engine) -> Engine:
    """Two articles, on 8 and 20 November 2022, each with an assault on Kherson; one rejected file."""
    day = datetime(2022, 11, 8, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(insert(RunRow).values(id=1, flow="nightly", parameters="{}", started_at=day,
                                                 status="completed"))  # fmt: skip
        connection.execute(insert(RejectedFileRow).values(run_id=1, source_path="/in/<b>.txt", record_index=0,
                                                          reason="empty file", rejected_at=day))  # fmt: skip
        connection.execute(insert(EntityRow).values(id=1, entity_key="GPE:kherson", canonical_name="Kherson",
                                                    type="GPE", country="UKR", lat=46.64, lon=32.61))  # fmt: skip
        for article_id, published in ((1, day), (2, datetime(2022, 11, 20, tzinfo=UTC))):
            connection.execute(insert(ArticleRow).values(
                id=article_id, source_path=f"/in/{article_id}.txt", record_index=0, content_sha256=str(article_id),
                title=f"Article {article_id}", body="…", published_at=published, published_at_source="metadata",
                word_count=1, pipeline_version="v", first_seen_run_id=1, updated_run_id=1,
            ))  # fmt: skip
            connection.execute(insert(EventClusterRow).values(
                id=article_id, event_type="ASSAULT", location_entity_id=1, event_date=published.date(),
                first_seen_at=published, num_articles=1, num_sources=0, num_mentions=1,
            ))  # fmt: skip
            connection.execute(insert(EventRow).values(
                id=article_id, article_id=article_id, event_type="ASSAULT", trigger_text="shelled", trigger_start=0,
                trigger_end=7, sentence_index=0, sentence_text="…", event_date=published.date(),
                location_entity_id=1, negated=False, hypothetical=False, cluster_id=article_id,
            ))  # fmt: skip
            connection.execute(insert(EventParticipantRow).values(
                event_id=article_id, role="actor", text="Russian forces", start_char=0, end_char=14, country="RUS",
            ))  # fmt: skip
    return engine


def _db(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_query_streams_rows_in_chunks_and_writes_them_as_they_come(results: Engine):
    sql = "SELECT id, title, published_at FROM articles ORDER BY id"
    with stream_query(_db(results), sql, chunk_rows=1) as stream:
        chunks = list(stream.chunks)
    assert [len(chunk) for chunk in chunks] == [1, 1]

    as_csv, as_json = io.StringIO(), io.StringIO()
    with stream_query(_db(results), sql, chunk_rows=1) as stream:
        assert write_csv(stream, as_csv) == 2
    with stream_query(_db(results), sql, chunk_rows=1) as stream:
        assert write_json(stream, as_json) == 2
    assert as_csv.getvalue().splitlines()[0] == "id,title,published_at"
    assert [record["title"] for record in json.loads(as_json.getvalue())] == ["Article 1", "Article 2"]


def test_query_parquet_needs_an_output_file(results: Engine):
    result = runner.invoke(app, ["query", "SELECT 1 AS x", "--format", "parquet", "--db", _db(results)])
    assert result.exit_code == 1
    assert result.stderr == "Error: --format parquet needs --output FILE\n"


def test_query_parquet_is_written_or_refused_plainly_without_pyarrow(results: Engine, tmp_path: Path):
    target = tmp_path / "articles.parquet"
    args = ["query", "SELECT id, title FROM articles ORDER BY id", "--format", "parquet", "--output", str(target)]
    result = runner.invoke(app, [*args, "--db", _db(results)])
    if HAS_PYARROW:
        assert result.exit_code == 0, result.output
        assert pd.read_parquet(target)["title"].tolist() == ["Article 1", "Article 2"]
    else:
        assert result.exit_code == 1
        assert result.stderr == (
            "Error: Parquet output needs the pyarrow package, which is not installed: use --format csv\n"
        )
        assert not target.exists()


def test_export_writes_every_table_and_view_limited_to_the_range(results: Engine, tmp_path: Path):
    out = tmp_path / "export"
    args = ["export", "--since", "2022-11-15", "--until", "2022-11-30", "--output", str(out), "--db", _db(results)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote 17 files to {out}\n"
    frames = {path.stem: pd.read_csv(path) for path in out.glob("*.csv")}
    assert len(frames) == 17 and set(WHOLE) <= frames.keys()
    assert frames["articles"]["title"].tolist() == ["Article 2"]
    assert frames["event_facts"]["article_id"].tolist() == [2]
    assert frames["event_participants"]["event_id"].tolist() == [2]
    assert frames["event_clusters"]["id"].tolist() == frames["event_facts"]["cluster_id"].tolist()
    assert frames["event_cluster_facts"]["num_mentions"].tolist() == [1]
    assert frames["entity_daily_mentions"].empty and list(frames["entity_daily_mentions"].columns)[:2] == [
        "entity_id",
        "entity",
    ]
    assert frames["actor_dyads"].empty  # no recipients
    assert len(frames["event_types"]) > 16 and "UKR" in frames["countries"]["iso3"].tolist()
    # Nullable integers stay integers: no "1.0" for a column that has nulls.
    assert (out / "event_facts.csv").read_text(encoding="utf-8").splitlines()[1].startswith("2,2022-11-20,")


def test_export_parquet_without_pyarrow_is_refused_before_writing(results: Engine, tmp_path: Path):
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", "--format", "parquet", "--output", str(out), "--db", _db(results)])
    if HAS_PYARROW:
        assert result.exit_code == 0, result.output
        assert pd.read_parquet(out / "articles.parquet")["id"].tolist() == [1, 2]
    else:
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: Parquet output needs the pyarrow package")
        assert not out.exists()


def test_report_is_one_self_contained_page(results: Engine, tmp_path: Path):
    page = tmp_path / "report.html"
    args = ["report", "--since", "2022-11-01", "--until", "2022-11-10", "--output", str(page), "--db", _db(results)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings[0] == "Articles per day" and "Event locations" in headings and "Latest runs" in headings
    assert "Articles published from 2022-11-01 to 2022-11-10." in html
    assert "1 of 1 event locations have coordinates" in html
    charts = re.findall(r'<figure class="chart"><svg.*?</svg>\s*</figure>', html, flags=re.DOTALL)
    assert len(charts) == 3  # articles per day, events per type, the map
    assert "ASSAULT" in charts[1] and ">Kherson<" in charts[2]  # matplotlib keeps text as text
    assert "/in/&lt;b&gt;.txt" in html and "/in/<b>" not in html  # data is escaped
    assert not re.search(r"(src|href)=\"https?:", html)  # nothing to fetch


def test_report_before_the_first_article_shows_empty_sections(results: Engine, tmp_path: Path):
    page = tmp_path / "report.html"
    args = ["report", "--until", "2022-01-01", "--output", str(page), "--db", _db(results)]
    assert runner.invoke(app, args).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert "0 of 0 event locations have coordinates" in html
    assert html.count('<p class="empty">none</p>') >= 4
    assert date(2022, 11, 8).isoformat() not in html.split("Latest runs")[0]


@pytest.mark.parametrize("command", [["export", "--output", "exported"], ["report", "--output", "report.html"]])
def test_results_commands_on_a_missing_sqlite_file_say_so_and_create_nothing(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "data" / "newsetl.db"
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: database file {missing} does not exist: run `newsetl run` to create it\n"
    assert list(tmp_path.iterdir()) == []  # no database file or folder, no export folder, no page


@pytest.mark.parametrize("command", [["export", "--output", "exported"], ["report", "--output", "report.html"]])
def test_results_commands_on_a_database_without_schema_say_so(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty.db"
    empty.touch()
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{empty}"])
    assert result.exit_code == 1
    assert result.stderr == "Error: the database has no newsetl schema yet: run `newsetl run` or `newsetl db upgrade`\n"


@pytest.mark.parametrize("command", ["query", "export", "report"])
def test_results_commands_help_ends_with_an_example(command: str):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
