"""The file ledger: what the database remembers of each input file, and what each run decided for it and rejected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, insert, select, update

from etl import event_clusters
from etl.article_store import delete_articles
from etl.bulk_write import insert_rows
from etl.database import atomic, database_errors, write_transaction
from etl.models import ArticleRow, ArticleSourceRow, RejectedFileRow, SourceFileRow
from etl.records import FileStatus, Rejection, SourceFile

_FILE_STATUSES = {status.value: status for status in FileStatus}


@dataclass(frozen=True, slots=True)
class KnownFile:
    """What the database remembers of a file: enough to tell cheaply whether it changed."""

    size: int
    mtime_ns: int
    file_sha256: str
    status: FileStatus


def known_files(engine: Engine) -> dict[str, KnownFile]:
    """Every file path seen before, with its size, mtime, hash and last status."""
    with database_errors("read known files"), engine.connect() as connection:
        rows = connection.execute(
            select(
                SourceFileRow.path,
                SourceFileRow.size,
                SourceFileRow.mtime_ns,
                SourceFileRow.file_sha256,
                SourceFileRow.status,
            )
        )
        # Called on every run with a row per file ever seen: plain tuples, and a dict for the status enum.
        return {
            path: KnownFile(size, mtime_ns, file_sha256, _FILE_STATUSES[status])
            for path, size, mtime_ns, file_sha256, status in rows
        }


def record_file(
    target: Engine | Connection,
    source: SourceFile,
    file_sha256: str,
    status: FileStatus,
    run_id: int,
    rejections: Sequence[Rejection] = (),
) -> None:
    """Remember a file's identity and the status this run decided for it, with the rejections of the file or
    its records, in one transaction: a run killed in between leaves neither, and the next run reads the file."""
    record_files(target, run_id, [FileRecord(source, file_sha256, status, tuple(rejections))])


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What a run decided for one file: its identity, its hash, its status and its rejections."""

    source: SourceFile
    file_sha256: str
    status: FileStatus
    rejections: tuple[Rejection, ...] = ()


def record_files(target: Engine | Connection, run_id: int, files: Sequence[FileRecord]) -> None:
    """`record_file` for many files at once, one statement per table, all in one transaction (or savepoint)."""
    if not files:
        return
    columns = ("size", "mtime_ns", "file_sha256", "status", "last_run_id")
    rows = [
        {
            "path": file.source.path,
            "size": file.source.size,
            "mtime_ns": file.source.mtime_ns,
            "file_sha256": file.file_sha256,
            "status": FileStatus(file.status),
            "last_run_id": run_id,
        }
        # In path order: concurrent batches (workers of a cluster) lock the rows they share in one order.
        for file in sorted(files, key=lambda file: file.source.path)
    ]
    rejections = [_rejection_row(run_id, rejection) for file in files for rejection in file.rejections]
    step = f"record file {files[0].source.path}" if len(files) == 1 else f"record {len(files)} files"

    def latest(statement: Any) -> Any:
        newer = {column: statement.excluded[column] for column in columns}
        return statement.on_conflict_do_update(index_elements=[SourceFileRow.path], set_=newer)

    with atomic(target, step) as connection:
        insert_rows(connection, RejectedFileRow, rejections)
        insert_rows(connection, SourceFileRow, rows, latest)


def mark_missing(engine: Engine, path: str, run_id: int) -> None:
    """Remember that a file is gone from the input folder; its articles and their sources are kept."""
    with database_errors(f"mark {path} missing"), write_transaction(engine) as connection:
        connection.execute(
            update(SourceFileRow)
            .where(SourceFileRow.path == path)
            .values(status=FileStatus.MISSING, last_run_id=run_id)
        )


def retire_file(engine: Engine, path: str) -> int:
    """Forget a file that is gone, in one transaction: its article sources, then the articles no other file
    holds (their mentions and events cascade), then the file itself. Returns the number of articles deleted."""
    with database_errors(f"retire {path}"), write_transaction(engine) as connection:
        event_clusters.lock(connection)
        held = connection.scalars(select(ArticleSourceRow.article_id).where(ArticleSourceRow.source_path == path))
        article_ids = sorted(set(held))
        connection.execute(delete(ArticleSourceRow).where(ArticleSourceRow.source_path == path))
        still_held = exists().where(ArticleSourceRow.article_id == ArticleRow.id)
        orphans = connection.scalars(select(ArticleRow.id).where(ArticleRow.id.in_(article_ids), ~still_held)).all()
        delete_articles(connection, orphans)
        connection.execute(delete(SourceFileRow).where(SourceFileRow.path == path))
        return len(orphans)


def record_rejection(engine: Engine, run_id: int, rejection: Rejection) -> None:
    with database_errors(f"record rejection of {rejection.source_path}"), write_transaction(engine) as connection:
        _insert_rejection(connection, run_id, rejection)


def _insert_rejection(connection: Connection, run_id: int, rejection: Rejection) -> None:
    connection.execute(insert(RejectedFileRow).values(_rejection_row(run_id, rejection)))


def _rejection_row(run_id: int, rejection: Rejection) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "source_path": rejection.source_path,
        "record_index": rejection.record_index,
        "content_sha256": rejection.content_sha256,
        "reason": rejection.reason,
        "rejected_at": datetime.now(UTC),
    }
