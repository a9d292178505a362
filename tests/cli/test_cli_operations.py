"""`newsetl run` for schedulers: its exit status and one-line errors when locked or failed, and `newsetl status`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select

from etl.load import start_run
from etl.models import RunRow
from etl.runlock import run_lock

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds" / "articles"
NEWSETL = Path(sys.executable).parent / "newsetl"


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a real `newsetl` process: no settings leaking in from this test session."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSETL_", "PREFECT_"))}
    return {**env, "NEWSETL_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "120"}


def _newsetl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(NEWSETL), *args]
    return subprocess.run(command, cwd=tmp_path, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=600)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _runs(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(RunRow)).scalar_one()


def test_cli_run_exits_3_naming_the_run_that_holds_the_lock(engine: Engine, tmp_path: Path) -> None:
    with run_lock(engine):
        run_id = start_run(engine, "nightly", {})
        with engine.connect() as connection:
            started = connection.scalar(select(RunRow.started_at).where(RunRow.id == run_id))
        result = _newsetl(tmp_path, "run", "--input", str(SEEDS), "--db", _url(engine))
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        f"Error: another newsetl run (run {run_id}, started {started:%H:%M} UTC) holds the lock on this database; "
        "try again when it has finished"
    ]
    assert result.stdout == ""
    assert _runs(engine) == 1  # the refused run wrote nothing, not even its own run row
