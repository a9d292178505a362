"""Planning a run over the input folder (etl/pipeline.py): what is new, changed, unchanged and gone."""

from pathlib import Path

from sqlalchemy import Engine

from etl.load import record_file, start_run
from etl.pipeline import plan_files
from etl.records import FileStatus, SourceFile


def _remember(engine: Engine, path: Path, status: FileStatus = FileStatus.LOADED) -> None:
    """Record `path` as the database would after a run: with its current size and mtime when it exists."""
    stat = path.stat() if path.exists() else None
    source = SourceFile(path.as_posix(), stat.st_size if stat else 1, stat.st_mtime_ns if stat else 1)
    record_file(engine, source, "0" * 64, status, start_run(engine, "nightly", {}))


def test_pipeline_plan_files_splits_new_changed_unchanged_and_missing(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "unchanged.txt").write_text("Title\n\nBody.")
    (folder / "changed.txt").write_text("Title\n\nBody.")
    (folder / "new.txt").write_text("Title\n\nBody.")
    _remember(engine, folder / "unchanged.txt")
    _remember(engine, folder / "changed.txt")
    (folder / "changed.txt").write_text("Title\n\nA longer body.")
    _remember(engine, folder / "gone.txt")
    _remember(engine, tmp_path / "elsewhere" / "other.txt")  # another input folder's file is not missing here

    plan = plan_files(engine, folder)

    assert plan.unchanged == 1
    pending = {Path(p.source.path).name: p.known_sha256 for p in plan.pending}
    assert pending == {"changed.txt": "0" * 64, "new.txt": None}
    assert plan.missing == ((folder / "gone.txt").as_posix(),)


def test_pipeline_plan_files_reads_again_a_missing_file_that_came_back(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "back.txt").write_text("Title\n\nBody.")
    _remember(engine, folder / "back.txt", FileStatus.MISSING)
    plan = plan_files(engine, folder)
    assert [p.source.path for p in plan.pending] == [(folder / "back.txt").as_posix()]
    assert plan.unchanged == 0 and plan.missing == ()
