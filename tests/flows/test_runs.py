"""The frame every flow runs in (flows/runs.py): the run lock, interrupted runs, and deleted source files. A run
killed mid-load and completed by the next: tests/reliability/test_faults.py."""

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from etl.errors import RunLocked
from etl.models import ArticleRow, ArticleSourceRow, MentionRow, RunRow, SourceFileRow
from etl.run_ledger import INTERRUPTED_ERROR, start_run
from etl.runlock import run_lock
from flows.backfill import backfill
from flows.nightly import nightly


def _runs(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(RunRow.id, RunRow.status).order_by(RunRow.id))]


def test_runs_flows_refuse_to_start_while_another_run_holds_the_lock(engine: Engine, tmp_path: Path) -> None:
    db_url = engine.url.render_as_string(hide_password=False)
    with run_lock(engine):
        holder = start_run(engine, "nightly", {})
        with pytest.raises(RunLocked, match=rf"^another newsetl run \(run {holder}, started "):
            nightly(input_dir=str(tmp_path), db_url=db_url)
        with pytest.raises(RunLocked):
            backfill(input_dir=str(tmp_path), db_url=db_url)
    assert _runs(engine) == [(holder, "running")]


def _write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"{body.split('.')[0]}\n\n{body}\n", encoding="utf-8")
    return path


def _table(engine: Engine, row_type: type, *columns: str) -> list[tuple]:
    with engine.connect() as connection:
        selected = [getattr(row_type, name) for name in columns]
        return sorted(tuple(row) for row in connection.execute(select(*selected)))


@pytest.mark.slow
def test_runs_nightly_reports_deleted_files_and_retires_them_only_when_asked(engine: Engine, tmp_path: Path) -> None:
    db_url = engine.url.render_as_string(hide_password=False)
    folder = tmp_path / "articles"
    folder.mkdir()
    talks = "Serbian and Kosovo leaders met in Brussels on Monday. The European Union mediated the talks."
    aid = _write(folder, "aid.txt", "Germany pledged aid to Ukraine on Tuesday. Berlin will send generators.")
    talks_file = _write(folder, "talks.txt", talks)
    _write(folder, "talks-copy.txt", talks)  # the same article from a second path
    first = nightly(input_dir=str(folder), db_url=db_url)
    assert (first.loaded, first.duplicate, first.deleted) == (2, 1, 0)
    articles = _table(engine, ArticleRow, "id", "title")
    mentions = _table(engine, MentionRow, "id")

    aid.unlink()
    talks_file.unlink()
    for _ in range(2):  # reported on every run until retired, never silently dropped
        kept = nightly(input_dir=str(folder), db_url=db_url)
        assert (kept.deleted, kept.skipped, kept.loaded) == (2, 1, 0)
        assert _table(engine, ArticleRow, "id", "title") == articles
        assert _table(engine, MentionRow, "id") == mentions
        assert _table(engine, SourceFileRow, "path", "status") == [
            (aid.as_posix(), "missing"),
            ((folder / "talks-copy.txt").as_posix(), "loaded"),  # unchanged: its last decision stands
            (talks_file.as_posix(), "missing"),
        ]
    with engine.connect() as connection:
        assert connection.scalar(select(RunRow.files_deleted).order_by(RunRow.id.desc()).limit(1)) == 2

    retired = nightly(input_dir=str(folder), db_url=db_url, retire_missing=True)
    assert retired.deleted == 2
    # The aid article had no other source: gone with its mentions. The talks article lives on in its copy.
    assert [title for _, title in _table(engine, ArticleRow, "id", "title")] == [
        "Serbian and Kosovo leaders met in Brussels on Monday"
    ]
    assert _table(engine, ArticleSourceRow, "source_path") == [((folder / "talks-copy.txt").as_posix(),)]
    assert _table(engine, SourceFileRow, "path") == [((folder / "talks-copy.txt").as_posix(),)]
    assert len(_table(engine, MentionRow, "id")) < len(mentions)
    assert nightly(input_dir=str(folder), db_url=db_url).deleted == 0


def test_runs_next_run_marks_a_run_left_running_as_interrupted(engine: Engine, tmp_path: Path) -> None:
    db_url = engine.url.render_as_string(hide_password=False)
    dead = start_run(engine, "nightly", {})  # as a killed process leaves it: running, nobody holding the lock
    nightly(input_dir=str(tmp_path), db_url=db_url)
    with engine.connect() as connection:
        rows = connection.execute(select(RunRow.id, RunRow.status, RunRow.error).order_by(RunRow.id)).all()
    assert [tuple(row) for row in rows] == [(dead, "failed", INTERRUPTED_ERROR), (dead + 1, "completed", None)]


@pytest.mark.slow
def test_runs_artifact_reports_counts_slowest_files_and_rejections(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    folder = tmp_path / "articles"
    folder.mkdir()
    _write(folder, "aid.txt", "Germany pledged aid to Ukraine on Tuesday. Berlin will send generators.")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    nightly(input_dir=str(folder), db_url=f"sqlite:///{tmp_path / 'newsetl.db'}")

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["newsetl-nightly-run"]))
        )
    # The Prefect backend is the session's: other tests' runs publish theirs too.
    ours = [artifact for artifact in artifacts if (folder / "aid.txt").as_posix() in artifact.data]
    markdown = max(ours, key=lambda artifact: artifact.created).data
    assert "| files loaded | 1 |" in markdown and "| files rejected | 1 |" in markdown
    assert f"| {(folder / 'aid.txt').as_posix()} | " in markdown.split("## Slowest files")[1]
    assert f"| {(folder / 'empty.txt').as_posix()} | 0 | empty file |" in markdown.split("## Rejected")[1]
