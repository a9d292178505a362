"""`newsetl serve` in a real process: its schedule fires a run through a local Prefect server, which stops with it."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

NEWSETL = Path(sys.executable).parent / "newsetl"
ARTICLE = Path(__file__).resolve().parents[2] / "seeds" / "articles" / "2022-11-14-ankara-talks.txt"


def _completed_runs(database: Path) -> list[tuple[int, str]]:
    if not database.exists():
        return []
    try:
        with sqlite3.connect(database) as connection:
            return connection.execute("SELECT id, flow FROM runs WHERE status = 'completed'").fetchall()
    except sqlite3.OperationalError:  # no schema yet
        return []


def _pids_serving(port: int) -> list[int]:
    """Processes whose command line names this port: the Prefect server and its uvicorn worker."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                arguments = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:  # ended meanwhile
                continue
            if b"--port" in arguments and str(port).encode() in arguments:
                pids.append(int(entry.name))
    return pids


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_serve_fires_a_scheduled_run_and_stops_its_prefect_server(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    database = tmp_path / "newsetl.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSETL_", "PREFECT_"))}
    env |= {"NEWSETL_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "300"}
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    serve = subprocess.Popen(
        [str(NEWSETL), "serve", "--cron", "* * * * *", "--input", str(articles), "--db", f"sqlite:///{database}"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    port = None
    try:
        # A minute to the first cron tick, then a server start, a worker pool and a run: under the full suite's load on
        # 2 cores this passed 150 s once.
        deadline = time.monotonic() + 300
        while not _completed_runs(database):
            assert serve.poll() is None, f"serve ended ({serve.returncode}):\n{Path(log.name).read_text()}"
            assert time.monotonic() < deadline, f"no completed run in 300 s:\n{Path(log.name).read_text()}"
            time.sleep(1)
        output = Path(log.name).read_text()
        ui = re.search(r"UI at (http://127\.0\.0\.1:(\d+))", output)
        assert ui, output
        port = int(ui.group(2))
        assert _answers(f"{ui.group(1)}/api/health")
        assert _completed_runs(database)[0][1] == "nightly"

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0
        assert not _answers(f"{ui.group(1)}/api/health")
        assert _pids_serving(port) == []
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        for pid in _pids_serving(port) if port else []:  # the server this test started, if it outlived serve
            os.kill(pid, signal.SIGKILL)
        log.close()
