"""The frame every flow runs in (flows/runs.py): the run lock, interrupted runs, and deleted source files."""

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from etl.errors import RunLocked
from etl.load import start_run
from etl.models import RunRow
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
