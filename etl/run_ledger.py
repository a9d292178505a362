"""The run ledger: one `runs` row per run, opened as running, closed with its counts, and found again to resume."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from etl.database import database_errors, write_transaction
from etl.models import RunRow, RunStatus
from etl.records import RunCounts

INTERRUPTED_ERROR = "interrupted: its process ended before the run finished (found by the next run)"


def _now() -> datetime:
    return datetime.now(UTC)


def run_parameters(engine: Engine, input_dir: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """What a `runs` row records of a run's parameters: the flow's own, the input folder, and the database URL
    without its password."""
    return {**parameters, "input_dir": str(input_dir), "db_url": engine.url.render_as_string()}


def start_run(engine: Engine, flow: str, parameters: dict[str, Any]) -> int:
    """Record a new run as running; its id is stamped on every row the run writes."""
    with database_errors("start run"), write_transaction(engine) as connection:
        result = connection.execute(
            insert(RunRow).values(
                flow=flow,
                parameters=json.dumps(parameters, sort_keys=True, default=str),
                started_at=_now(),
                status=RunStatus.RUNNING,
                files_loaded=0,
                files_skipped=0,
                files_duplicate=0,
                files_rejected=0,
                files_deleted=0,
                articles=0,
                mentions=0,
                events=0,
            )
        )
        return result.inserted_primary_key[0]


def fail_interrupted_runs(engine: Engine) -> list[int]:
    """Mark `failed` the runs still `running`: called by a run holding the run lock, which proves their
    process is gone (killed or crashed). Their finished_at stays null: when they stopped is unknown."""
    with database_errors("close interrupted runs"), write_transaction(engine) as connection:
        interrupted = connection.scalars(
            update(RunRow)
            .where(RunRow.status == RunStatus.RUNNING)
            .values(status=RunStatus.FAILED, error=INTERRUPTED_ERROR)
            .returning(RunRow.id)
        ).all()
    return sorted(interrupted)


def finish_run(engine: Engine, run_id: int, counts: RunCounts, status: str, error: str | None = None) -> None:
    """Close a run with its counts; without `error`, the errors collected in `counts` are stored."""
    with database_errors(f"finish run {run_id}"), write_transaction(engine) as connection:
        connection.execute(
            update(RunRow)
            .where(RunRow.id == run_id)
            .values(
                finished_at=_now(),
                status=RunStatus(status),
                files_loaded=counts.loaded,
                files_skipped=counts.skipped,
                files_duplicate=counts.duplicate,
                files_rejected=counts.rejected,
                files_deleted=counts.deleted,
                articles=counts.articles,
                mentions=counts.mentions,
                events=counts.events,
                error=error if error is not None else ("\n".join(counts.errors) or None),
            )
        )


def unfinished_run(engine: Engine, flow: str, parameters: dict[str, Any]) -> int | None:
    """The first of the runs of `flow` with these `parameters` that failed since the last one that completed:
    the run a new one with the same parameters resumes. None when the last such run completed (or none ran)."""
    with database_errors("find unfinished run"), engine.connect() as connection:
        rows = connection.execute(
            select(RunRow.id, RunRow.status, RunRow.parameters)
            .where(RunRow.flow == flow, RunRow.status != RunStatus.RUNNING)
            .order_by(RunRow.id.desc())
        )
        first_failed = None
        for row in rows:
            recorded = json.loads(row.parameters)
            if any(recorded.get(name) != value for name, value in parameters.items()):
                continue
            if row.status == RunStatus.COMPLETED:
                break
            first_failed = row.id
        return first_failed
