"""Run bookkeeping that keeps a killed run harmless: interrupted runs closed, a file's outcome written at once."""

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from etl.file_ledger import record_file
from etl.models import RejectedFileRow, RunRow, SourceFileRow
from etl.records import FileStatus, Rejection, RunCounts, SourceFile
from etl.run_ledger import INTERRUPTED_ERROR, fail_interrupted_runs, finish_run, start_run


def test_load_fail_interrupted_runs_closes_only_runs_still_running(engine: Engine) -> None:
    done = start_run(engine, "nightly", {})
    finish_run(engine, done, RunCounts(), "completed")
    killed = [start_run(engine, "nightly", {}), start_run(engine, "backfill", {})]

    assert fail_interrupted_runs(engine) == killed
    with engine.connect() as connection:
        rows = connection.execute(select(RunRow.id, RunRow.status, RunRow.error, RunRow.finished_at)).all()
    assert sorted(rows) == [
        (done, "completed", None, rows[0].finished_at),
        (killed[0], "failed", INTERRUPTED_ERROR, None),
        (killed[1], "failed", INTERRUPTED_ERROR, None),
    ]
    assert fail_interrupted_runs(engine) == []


def test_load_record_file_writes_its_rejections_in_the_same_transaction(engine: Engine) -> None:
    run_id = start_run(engine, "nightly", {})
    source = SourceFile("/in/feed.jsonl", 10, 1)
    record_file(engine, source, "0" * 64, FileStatus.LOADED, run_id, [Rejection(source.path, "line 3: bad JSON", 3)])
    with engine.connect() as connection:
        assert connection.execute(select(RejectedFileRow.record_index, RejectedFileRow.reason)).all() == [
            (3, "line 3: bad JSON")
        ]

    # The file's own row fails to write (no size): the rejection written before it in the transaction goes too.
    broken = SourceFile("/in/x.txt", None, 1)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        record_file(engine, broken, "", FileStatus.REJECTED, run_id, [Rejection(broken.path, "empty file")])
    with engine.connect() as connection:
        assert connection.execute(select(RejectedFileRow.source_path)).scalars().all() == ["/in/feed.jsonl"]
        assert connection.execute(select(SourceFileRow.path)).scalars().all() == ["/in/feed.jsonl"]
