"""What an on-call engineer asks first: how did the last runs go, what is waiting in the input folder, and
which files were rejected and why. The `status` command's library side; it reads, and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from etl.database import open_existing_database
from etl.errors import InputError
from etl.input_files import plan_files
from etl.models import RejectedFileRow, RunRow
from etl.records import Rejection, RunCounts


@dataclass(frozen=True, slots=True)
class RunReport:
    """One row of `runs`, as the status shows it."""

    id: int
    flow: str
    status: str
    started_at: datetime
    finished_at: datetime | None  # None while running, and for an interrupted run
    counts: RunCounts
    error: str | None

    @property
    def duration(self) -> timedelta | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


@dataclass(frozen=True, slots=True)
class PendingFiles:
    """What the next run would do with the input folder, decided from path, size and mtime alone."""

    new: int
    changed: int  # size or mtime moved: read again, loaded again only if the bytes changed
    missing: int  # known files gone from the folder
    unchanged: int


@dataclass(frozen=True, slots=True)
class RejectedFile:
    run_id: int
    rejection: Rejection


@dataclass(frozen=True, slots=True)
class Status:
    runs: tuple[RunReport, ...]  # newest first
    pending: PendingFiles | None  # None when the input folder cannot be read; `input_problem` says why
    input_problem: str | None
    rejected: tuple[RejectedFile, ...]  # of the runs listed, newest run first


def database_status(db_url: str, input_dir: Path, last_runs: int = 10) -> Status:
    """The last runs, the input folder's pending files, and the files those runs rejected.

    Refuses (InputError) a database that newsetl has not created, or one whose schema is older than this
    version's, rather than creating or migrating it: `status` only reads.
    """
    engine = open_existing_database(db_url)
    try:
        runs = _last_runs(engine, last_runs)
        try:
            plan = plan_files(engine, input_dir)
        except InputError as exc:
            pending, input_problem = None, str(exc)
        else:
            new = sum(1 for file in plan.pending if file.known_sha256 is None)
            # A file that could not be read is tried again by every run, but it has not changed.
            unreadable = sum(1 for file in plan.pending if file.unreadable_before)
            changed = len(plan.pending) - new - unreadable
            pending = PendingFiles(new, changed, len(plan.missing), plan.unchanged + unreadable)
            input_problem = None
        rejected = _rejected(engine, [run.id for run in runs])
    finally:
        engine.dispose()
    return Status(runs, pending, input_problem, rejected)


def _last_runs(engine: Engine, limit: int) -> tuple[RunReport, ...]:
    with engine.connect() as connection:
        rows = connection.execute(select(RunRow).order_by(RunRow.id.desc()).limit(limit)).all()
    return tuple(
        RunReport(
            id=row.id,
            flow=row.flow,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            counts=RunCounts(
                loaded=row.files_loaded,
                skipped=row.files_skipped,
                duplicate=row.files_duplicate,
                rejected=row.files_rejected,
                deleted=row.files_deleted,
                articles=row.articles,
                events=row.events,
                mentions=row.mentions,
            ),
            error=row.error,
        )
        for row in rows
    )


def _rejected(engine: Engine, run_ids: list[int]) -> tuple[RejectedFile, ...]:
    if not run_ids:
        return ()
    with engine.connect() as connection:
        rows = connection.execute(
            select(RejectedFileRow)
            .where(RejectedFileRow.run_id.in_(run_ids))
            .order_by(RejectedFileRow.run_id.desc(), RejectedFileRow.source_path, RejectedFileRow.record_index)
        ).all()
        return tuple(
            RejectedFile(row.run_id, Rejection(row.source_path, row.reason, row.record_index, row.content_sha256))
            for row in rows
        )
