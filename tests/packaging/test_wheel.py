"""The wheel installed as a user would: built from the checkout, installed by the pip that `python3 -m venv` brings
into a venv outside it beside the locked dependencies, and run from an empty folder: it loads the sample articles as
the editable install does, and serves the nightly flow on a schedule through a Prefect server it starts and stops."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from etl.database import create_engine_for

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds" / "articles"
ARTICLE = SEEDS / "2022-11-14-ankara-talks.txt"
# What a checkout holds beside its sources (.gitignore's names, git's folder): never part of a build.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "data", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"
)
COUNTED_TABLES = ("articles", "mentions", "events", "entities")
# Both tests on one pytest-xdist worker (`--dist loadgroup`), which builds and installs the wheel once.
pytestmark = pytest.mark.xdist_group("wheel")


@pytest.fixture(scope="module")
def wheel_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a new venv, outside the checkout, holding newsetl's wheel and its locked dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy: a build writes build/ and *.egg-info into its source folder, and takes stale files from them.
    source = shutil.copytree(ROOT, work / "source", ignore=NOT_SOURCES)
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "dist"), source]
    subprocess.run(build, check=True, capture_output=True, timeout=600)
    (wheel,) = (work / "dist").glob("newsetl-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    _link_locked_dependencies(venv)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    # The wheel alone, by the venv's own pip; pip check proves its declared dependencies are all there.
    for step in (["install", "--quiet", "--no-deps", str(wheel)], ["check"]):
        done = subprocess.run([*pip, *step], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"pip {' '.join(step)}:\n{done.stdout}{done.stderr}"
    return venv / "bin"


def _link_locked_dependencies(venv: Path) -> None:
    """Link into a new venv the dependencies installed in this session's venv, all but newsetl's own files and what
    the new venv has already (pip, setuptools). `make` installed them from the lock by hash; installing them again
    (minutes of downloads) would test the installer, not newsetl: the wheel is what is under test."""
    (site,) = (venv / "lib").glob("python3*/site-packages")
    own = {distribution.name.lower() for distribution in importlib.metadata.distributions(path=[str(site)])}
    installed = Path(sysconfig.get_paths()["purelib"])
    for distribution in importlib.metadata.distributions(path=[str(installed)]):
        if distribution.name.lower() in own | {"newsetl"}:
            continue
        for top in {Path(file).parts[0] for file in distribution.files or ()} - {"..", "__pycache__"}:
            if (installed / top).exists() and not (site / top).exists():
                (site / top).symlink_to(installed / top)


def _environment() -> dict[str, str]:
    """This session's environment without what would point a process at the checkout or at this session's settings."""
    leaking = ("NEWSETL_", "PREFECT_", "PYTHONPATH", "VIRTUAL_ENV")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(leaking)}, "COLUMNS": "120"}


def _newsetl(
    bin_dir: Path, cwd: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    command = [str(bin_dir / "newsetl"), *args]
    return subprocess.run(
        command, cwd=cwd, env=_environment() | env, input=stdin, capture_output=True, text=True, timeout=600
    )


def _loaded(db_url: str) -> dict[str, object]:
    """The rows each counted table holds, and the pipeline versions the articles were annotated with (which hash
    the model, the lexicon and every reference file)."""
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as connection:
            loaded: dict[str, object] = {
                table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in COUNTED_TABLES
            }
            versions = connection.execute(text("SELECT DISTINCT pipeline_version FROM articles")).scalars()
            loaded["pipeline versions"] = sorted(versions)
    finally:
        engine.dispose()
    return loaded


@pytest.mark.slow
def test_wheel_runs_the_samples_from_an_empty_folder_as_the_editable_install_does(
    wheel_bin: Path, sample_db: str, tmp_path: Path, prefect_api_url: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run(
        [str(wheel_bin / "python"), "-c", "import etl, flows, migrations, newsetl; print(etl.__file__)"],
        cwd=empty, env=_environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(wheel_bin.parent), where.stdout  # not the checkout
    version = _newsetl(wheel_bin, empty, "--version")
    assert version.stdout == f"newsetl {importlib.metadata.version('newsetl')}\n", version.stderr

    db_url = f"sqlite:///{tmp_path / 'wheel.db'}"
    upgrade = _newsetl(wheel_bin, empty, "db", "upgrade", "--db", db_url)
    assert upgrade.returncode == 0 and upgrade.stdout.startswith("database at revision"), upgrade.stderr
    # The run on the session's Prefect server, annotating in its own process: the wheel's serve test below starts a
    # Prefect server and annotation workers of its own, as a user's run does.
    session = {"PREFECT_API_URL": prefect_api_url, "NEWSETL_N_PROCESS": "1"}
    run = _newsetl(wheel_bin, empty, "run", "--input", str(SEEDS), "--db", db_url, **session)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert _loaded(db_url) == _loaded(sample_db)

    report = _newsetl(wheel_bin, empty, "report", "--output", "report.html", "--db", db_url)
    assert report.returncode == 0, report.stderr
    assert "Events per type" in (empty / "report.html").read_text(encoding="utf-8")
    line = json.dumps({"id": "k", "text": "Russian forces shelled Kherson on Wednesday.", "published_at": "2022-11-11"})
    annotated = _newsetl(wheel_bin, empty, "annotate", stdin=line)
    assert annotated.returncode == 0, annotated.stderr
    assert [event["type"] for event in json.loads(annotated.stdout)["events"]] == ["ASSAULT"]


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
def test_wheel_serve_fires_a_scheduled_run_and_stops_its_prefect_server(wheel_bin: Path, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    database = tmp_path / "newsetl.db"
    empty = tmp_path / "empty"
    empty.mkdir()
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    serve = subprocess.Popen(
        [str(wheel_bin / "newsetl"), "serve", "--cron", "* * * * *", "--input", str(articles), "--db", f"sqlite:///{database}"],
        cwd=empty, env=_environment(), stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    port = None
    try:
        # A minute to the first cron tick, then a server start, a worker pool and a run: under the full suite's load on
        # 2 cores, and more on the machine, this passed 300 s once.
        deadline = time.monotonic() + 480
        while not _completed_runs(database):
            assert serve.poll() is None, f"serve ended ({serve.returncode}):\n{Path(log.name).read_text()}"
            assert time.monotonic() < deadline, f"no completed run in 480 s:\n{Path(log.name).read_text()}"
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
