"""`etl.status`: the latest runs, the input folder's pending files and the runs' rejected files."""

from pathlib import Path

import pytest
from sqlalchemy import Engine

from etl.database import create_engine_for
from etl.errors import InputError
from etl.file_ledger import record_file
from etl.records import FileStatus, Rejection, RunCounts, SourceFile
from etl.run_ledger import fail_interrupted_runs, finish_run, start_run
from etl.status import PendingFiles, database_status


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _seen(path: Path) -> SourceFile:
    stat = path.stat()
    return SourceFile(path.as_posix(), stat.st_size, stat.st_mtime_ns)


def test_status_reports_runs_pending_files_and_rejections(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in ("kept.txt", "changed.txt", "new.txt", "empty.txt"):
        (folder / name).write_text("" if name == "empty.txt" else "Title\n\nBody.")
    first = start_run(engine, "nightly", {})
    record_file(engine, _seen(folder / "kept.txt"), "0" * 64, FileStatus.LOADED, first)
    record_file(engine, _seen(folder / "changed.txt"), "1" * 64, FileStatus.LOADED, first)
    record_file(engine, SourceFile((folder / "gone.txt").as_posix(), 5, 5), "2" * 64, FileStatus.LOADED, first)
    empty = Rejection((folder / "empty.txt").as_posix(), "empty file")
    record_file(engine, _seen(folder / "empty.txt"), "", FileStatus.REJECTED, first, [empty])
    finish_run(engine, first, RunCounts(loaded=3, rejected=1, articles=3), "completed")
    (folder / "changed.txt").write_text("Title\n\nA longer body.")
    killed = start_run(engine, "backfill", {})
    fail_interrupted_runs(engine)
    running = start_run(engine, "nightly", {})

    status = database_status(_url(engine), folder)

    assert [(run.id, run.flow, run.status) for run in status.runs] == [
        (running, "nightly", "running"),
        (killed, "backfill", "failed"),
        (first, "nightly", "completed"),
    ]
    newest, interrupted, completed = status.runs
    assert newest.duration is None and interrupted.duration is None and interrupted.error.startswith("interrupted")
    assert completed.duration is not None and completed.duration.total_seconds() >= 0
    assert (completed.counts.loaded, completed.counts.rejected, completed.counts.articles) == (3, 1, 3)
    assert status.pending == PendingFiles(new=1, changed=1, missing=1, unchanged=2)
    assert status.input_problem is None
    assert [(item.run_id, item.rejection.source_path, item.rejection.reason) for item in status.rejected] == [
        (first, empty.source_path, "empty file")
    ]
    assert [run.id for run in database_status(_url(engine), folder, last_runs=2).runs] == [running, killed]
    assert database_status(_url(engine), folder, last_runs=2).rejected == ()


def test_status_without_an_input_folder_still_reports_the_runs(engine: Engine, tmp_path: Path) -> None:
    start_run(engine, "nightly", {})
    status = database_status(_url(engine), tmp_path / "missing")
    assert len(status.runs) == 1 and status.pending is None
    assert status.input_problem == f"input folder does not exist: {tmp_path / 'missing'}"


def test_status_refuses_a_database_newsetl_has_not_created(db_url: str, tmp_path: Path) -> None:
    bare = create_engine_for(db_url)
    with bare.connect():  # an empty database (SQLite creates its file on connecting)
        pass
    bare.dispose()
    with pytest.raises(InputError, match=r"^the database has no newsetl schema yet: run `newsetl run`"):
        database_status(db_url, tmp_path)


def test_status_refuses_a_missing_sqlite_file_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(InputError, match=f"^database file {missing} does not exist"):
        database_status(f"sqlite:///{missing}", tmp_path)
    assert not missing.exists()
