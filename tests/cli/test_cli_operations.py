"""`newsetl run` for schedulers: its exit status and one-line errors when locked or failed, and `newsetl status`."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from newsetl_process import NEWSETL, cli_env  # tests/newsetl_process.py
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from etl.database import create_engine_for
from etl.file_ledger import record_file
from etl.models import RunRow
from etl.records import FileStatus, Rejection, RunCounts, SourceFile
from etl.run_ledger import finish_run, start_run
from etl.runlock import run_lock
from flows.runtime import free_loopback_port
from newsetl import cli
from newsetl.cli import app

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds" / "articles"

runner = CliRunner()


@pytest.fixture
def in_process(prefect_api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run flows in this process on the session's Prefect backend, with no settings leaking in but the number of
    annotation processes (tests/conftest.py)."""
    for name in [name for name in os.environ if name.startswith("NEWSETL_") and name != "NEWSETL_N_PROCESS"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PREFECT_API_URL", prefect_api_url)  # a run does not start a Prefect server of its own


def _newsetl(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(NEWSETL), *args]
    env = cli_env(tmp_path) if env is None else env
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _runs(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(RunRow)).scalar_one()


@pytest.mark.slow
def test_cli_run_loads_the_samples_then_skips_them_all(in_process: None, tmp_path: Path) -> None:
    articles = shutil.copytree(SEEDS, tmp_path / "articles")
    files = [p for p in articles.rglob("*") if p.is_file() and not p.name.startswith(".")]
    command = ["run", "--input", str(articles), "--db", f"sqlite:///{tmp_path / 'news.db'}"]

    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    assert "Traceback" not in first.stderr and "Error" not in first.stderr
    summary = _summary(first.stdout)
    assert summary["files loaded"] + summary["files duplicate"] + summary["files rejected"] == len(files)
    assert summary["files rejected"] == 5 and summary["articles loaded"] > 0 and summary["events loaded"] > 0

    second = runner.invoke(app, command)
    assert second.exit_code == 0, second.output
    assert _summary(second.stdout) == {
        "files loaded": 0,
        "files skipped": len(files),
        "files duplicate": 0,
        "files rejected": 0,
        "files deleted": 0,
        "articles loaded": 0,
        "mentions loaded": 0,
        "events loaded": 0,
    }


def _summary(stdout: str) -> dict[str, int]:
    """The counts of the run summary table: `│ files loaded │ 33 │` rows."""
    cells = (line.strip("│ ").split("│") for line in stdout.splitlines() if line.count("│") == 3)
    return {name.strip(): int(value) for name, value in cells}


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


def test_cli_run_exits_1_with_the_reason_on_one_error_line(in_process: None, tmp_path: Path) -> None:
    not_a_database = tmp_path / "news.db"
    not_a_database.write_bytes(b"these bytes are not a SQLite database" * 100)
    result = runner.invoke(app, ["run", "--input", str(tmp_path), "--db", f"sqlite:///{not_a_database}"])
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("Error:")] == [
        "Error: run failed: DatabaseError: (sqlite3.DatabaseError) file is not a database"
    ]
    assert result.stderr.splitlines()[-1].startswith("Error:")
    assert result.stdout == ""


def test_cli_run_usage_error_exits_2() -> None:
    result = runner.invoke(app, ["run", "--no-such-option"])
    assert result.exit_code == 2
    assert "No such option: --no-such-option" in result.stderr


@pytest.mark.slow
def test_cli_run_with_rejected_files_exits_0(in_process: None, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "empty.txt").write_text("")
    (articles / "talks.txt").write_text("Talks in Ankara\n\nTurkey hosted talks between the two delegations.\n")
    result = runner.invoke(app, ["run", "--input", str(articles), "--db", f"sqlite:///{tmp_path / 'news.db'}"])
    assert result.exit_code == 0, result.stderr
    assert "Error" not in result.stderr
    rows = {
        cells[0].strip(): cells[1].strip()
        for line in result.stdout.splitlines()
        if len(cells := line.strip("│ ").split("│")) == 2
    }
    assert (rows["files loaded"], rows["files rejected"]) == ("1", "1")


@pytest.mark.slow
def test_cli_run_with_nothing_new_is_recorded_without_prefect(in_process: None, tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'newsetl.db'}")  # recording a run is tested on both backends
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "talks.txt").write_text("Talks in Ankara\n\nTurkey hosted talks between the two delegations.\n")
    # The first run in this process: only the runs after it need a process of their own, without Prefect.
    loaded = runner.invoke(app, ["run", "--input", str(articles), "--db", _url(engine)])
    assert loaded.exit_code == 0, loaded.output

    # No Prefect API answers on port 9 of the loopback: a run that used Prefect would fail to reach it.
    unreachable = cli_env(tmp_path, "http://127.0.0.1:9/api")
    command = [str(NEWSETL), "run", "--input", str(articles), "--db", _url(engine)]
    idle = subprocess.run(command, cwd=tmp_path, env=unreachable, capture_output=True, text=True, timeout=600)
    assert idle.returncode == 0, idle.stderr
    assert "files skipped   │ 1" in idle.stdout
    with engine.connect() as connection:
        runs = connection.execute(select(RunRow.flow, RunRow.status, RunRow.files_skipped, RunRow.parameters)).all()
    assert [(flow, status, skipped) for flow, status, skipped, _ in runs] == [
        ("nightly", "completed", 0),
        ("nightly", "completed", 1),
    ]
    assert runs[0].parameters == runs[1].parameters  # recorded as the flow records them

    (articles / "aid.txt").write_text("Aid for Kyiv\n\nGermany pledged aid to Ukraine on Tuesday.\n")
    with_work = subprocess.run(command, cwd=tmp_path, env=unreachable, capture_output=True, text=True, timeout=600)
    assert with_work.returncode == 1  # a file to load: the run is a Prefect flow, and Prefect is unreachable
    assert "Failed to reach API at http://127.0.0.1:9/api" in with_work.stderr


def _prefect_servers_of(prefect_home: Path) -> list[int]:
    """Live processes running a Prefect API server with its state under `prefect_home`."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):  # not a process, or gone
            continue
        if b"-m\0prefect\0server\0start\0" in command and f"PREFECT_HOME={prefect_home}".encode() in environ:
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_cli_run_records_its_flow_runs_on_the_prefect_server_it_starts_and_stops(tmp_path: Path) -> None:
    """Without PREFECT_API_URL, `newsetl run` starts Prefect's temporary server itself (so that it starts while the
    model loads, as do the annotation workers): the flow and its tasks are recorded in Prefect's database under the
    data folder, as Prefect's own temporary server records them, and the server is gone when the command ends.
    A run that fails sends its log records before it stops the server: nothing about logging to an API that has
    gone follows its `Error:` line. (One data folder for both runs: the second finds Prefect's database made.)"""
    articles = tmp_path / "articles"
    articles.mkdir()
    prefect_home = tmp_path / "data" / "prefect"
    (articles / "talks.txt").write_text("Talks in Ankara\n\nTurkey hosted talks between the two delegations.\n")
    unreachable = f"postgresql+psycopg://newsetl@127.0.0.1:{free_loopback_port()}/news"
    failing = [str(NEWSETL), "run", "--input", str(articles), "--db", unreachable]
    env = cli_env(tmp_path, retry_delays="[]")  # an unreachable database fails the flow at once
    failed = subprocess.run(failing, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.splitlines()[-1].startswith("Error: upgrade the database: database busy or unreachable")
    assert "Error logging to API" not in failed.stderr
    assert _prefect_servers_of(prefect_home) == []

    shutil.copy(SEEDS / "2022-11-17-black-sea-grain-deal-extended.txt", articles)
    default_workers = cli_env(tmp_path, n_process="0")  # one per CPU, as by default
    result = _newsetl(
        tmp_path, "run", "--input", str(articles), "--db", f"sqlite:///{tmp_path / 'newsetl.db'}", env=default_workers
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(prefect_home / "prefect.db") as prefect_db:
        flow_runs = prefect_db.execute(
            "SELECT flow_run.state_type, flow.name FROM flow_run JOIN flow ON flow.id = flow_run.flow_id"
            " ORDER BY flow_run.created"
        ).fetchall()
        task_runs = prefect_db.execute("SELECT count(*) FROM task_run WHERE state_type = 'COMPLETED'").fetchone()[0]
    assert flow_runs == [("FAILED", "newsetl-nightly"), ("COMPLETED", "newsetl-nightly")]
    assert task_runs > 0
    assert _prefect_servers_of(prefect_home) == []


@pytest.mark.slow
def test_cli_run_killed_leaves_no_prefect_server_behind(tmp_path: Path) -> None:
    prefect_home = tmp_path / "data" / "prefect"
    command = [str(NEWSETL), "run", "--input", str(SEEDS), "--db", f"sqlite:///{tmp_path / 'newsetl.db'}"]
    run = subprocess.Popen(
        command, cwd=tmp_path, env=cli_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not (servers := _prefect_servers_of(prefect_home)):
            assert run.poll() is None and time.monotonic() < deadline, "no Prefect server started"
            time.sleep(0.1)
    finally:
        run.kill()
        run.wait()
    deadline = time.monotonic() + 30
    while _prefect_servers_of(prefect_home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _prefect_servers_of(prefect_home) == [], f"server {servers} outlived its killed run"


def test_cli_status_shows_runs_pending_files_and_rejections(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wide enough for whole cells. The console read COLUMNS when the module was imported (pytest-xdist's workers
    # set it to 80), so an environment given to this invocation would come too late.
    monkeypatch.setattr(cli.stdout, "_width", 160)
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "new.txt").write_text("Title\n\nBody.")
    run_id = start_run(engine, "nightly", {})
    record_file(
        engine,
        SourceFile("/in/notes.pdf", 3, 3),
        "",
        FileStatus.REJECTED,
        run_id,
        [Rejection("/in/notes.pdf", "unsupported file type '.pdf'")],
    )
    finish_run(engine, run_id, RunCounts(rejected=1), "completed")

    result = runner.invoke(app, ["status", "--input", str(folder), "--db", _url(engine)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    run_row = next(line for line in lines if line.startswith(f"│ {run_id} "))
    assert [cell.strip() for cell in run_row.strip("│").split("│")][:3] == [str(run_id), "nightly", "completed"]
    assert f"input folder {folder}: 1 new, 0 changed, 0 missing, 0 unchanged" in lines
    assert any("/in/notes.pdf" in line and "unsupported file type '.pdf'" in line for line in lines)


def test_cli_status_on_a_missing_database_is_one_error_line(tmp_path: Path) -> None:
    missing = tmp_path / "news.db"
    result = runner.invoke(app, ["status", "--input", str(tmp_path), "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: database file {missing} does not exist: run `newsetl run` to create it\n"
