"""Planning a run over the input folder (etl/input_files.py): what is new, changed, unchanged and gone; reading
ahead (etl/pipeline.py)."""

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import cast

from sqlalchemy import Engine

from etl.database import transaction
from etl.file_ledger import record_file
from etl.input_files import plan_files, read_files
from etl.nlp.annotator import Annotator
from etl.pipeline import Annotations, annotate_first_batch, batches, load_files, read_ahead
from etl.records import Annotation, FileStatus, SourceFile
from etl.run_ledger import start_run
from etl.settings import Settings


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


def test_pipeline_plan_files_over_thousands_of_files_finds_the_few_that_changed(engine: Engine, tmp_path: Path) -> None:
    """The path a nightly run over a large, loaded folder takes: every file but a few is unchanged."""
    folder = tmp_path / "articles"
    paths = [folder / f"{day:02d}" / f"article-{n:04d}.txt" for day in range(1, 21) for n in range(100)]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Title {path.stem}\n\nBody of {path.stem}.\n")
    run_id = start_run(engine, "nightly", {})
    with transaction(engine, "remember the folder") as connection:
        for path in paths:
            stat = path.stat()
            source = SourceFile(path.as_posix(), stat.st_size, stat.st_mtime_ns)
            record_file(connection, source, path.stem.rjust(64, "0"), FileStatus.LOADED, run_id)
    touched, grown, gone = paths[7], paths[1500], paths[-1]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1_000_000_000))
    grown.write_text("Title\n\nA longer body than before.\n")
    gone.unlink()
    new = folder / "15" / "article-new.txt"
    new.write_text("Title\n\nNew.\n")
    (folder / "15" / ".hidden.txt").write_text("Not an article.\n")

    plan = plan_files(engine, folder)

    assert plan.unchanged == len(paths) - 3
    assert {p.source.path: p.known_sha256 for p in plan.pending} == {
        touched.as_posix(): touched.stem.rjust(64, "0"),  # read again: only the hash says whether it changed
        grown.as_posix(): grown.stem.rjust(64, "0"),
        new.as_posix(): None,
    }
    assert plan.missing == (gone.as_posix(),)
    assert [p.source.path for p in plan.pending] == sorted(p.source.path for p in plan.pending)  # in path order


class _QueueRecorder:
    """Stands in for an `Annotator` where a run only tells it what comes next."""

    def __init__(self) -> None:
        self.queued: list[list[tuple[str, date | None]]] = []
        self.ahead: list[list[tuple[str, date | None]]] = []

    def queue_next(self, texts: Iterable[tuple[str, date | None]]) -> None:
        self.queued.append(list(texts))

    def annotate_ahead(self, texts: Iterable[tuple[str, date | None]]) -> None:
        self.ahead.append(list(texts))


def _four_files_one_stored(engine: Engine, folder: Path, db_url: str) -> Settings:
    """1.txt to 4.txt, of which 3.txt holds the content of 1.txt, which is stored."""
    folder.mkdir()
    for name, body in [("1.txt", "First"), ("2.txt", "Second"), ("3.txt", "First"), ("4.txt", "Fourth")]:
        (folder / name).write_text(f"Title\n\n{body} body, long enough to be an article of its own.\n")
    settings = Settings(db_url=db_url, input_dir=folder, batch_size=3)
    [stored] = read_files(plan_files(engine, folder).pending[:1], settings)
    annotations = Annotations("test", {stored.articles[0].content_sha256: Annotation((), (), ())})
    load_files(engine, start_run(engine, "nightly", {}), [stored], settings, annotations)
    return settings


def _first_words(texts: list[tuple[str, date | None]]) -> list[str]:
    return [text.splitlines()[-1].split()[0] for text, _ in texts]


def test_pipeline_read_ahead_queues_the_next_batch_but_its_stored_content(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = _four_files_one_stored(engine, tmp_path / "articles", db_url)
    first, second = batches(plan_files(engine, settings.input_dir).pending, 2)  # 2.txt, 3.txt; 4.txt
    recorder = _QueueRecorder()
    reads = read_ahead(engine, [first, second], settings, cast(Annotator, recorder))

    first_read = next(reads)
    assert [file.pending for file in first_read] == list(first)
    assert [_first_words(texts) for texts in recorder.queued] == [["Fourth"]]
    assert [file.pending for file in next(reads)] == list(second)
    assert len(recorder.queued) == 1  # nothing comes after the last batch
    assert next(reads, None) is None


def test_pipeline_annotate_first_batch_hands_over_the_first_batch_but_its_stored_content(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = _four_files_one_stored(engine, tmp_path / "articles", db_url)  # batches of 3: 2.txt, 3.txt, 4.txt
    recorder = _QueueRecorder()

    annotate_first_batch(engine, settings, cast(Annotator, recorder))

    assert [_first_words(texts) for texts in recorder.ahead] == [["Second", "Fourth"]]
