"""The wheel installed as a user would: built from the checkout, installed by the pip that `python3 -m venv` brings
into a venv outside it (the locked dependencies and the wheel, by hash), and run from an empty folder: it loads the
sample articles as the editable install does."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from etl.database import create_engine_for

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds" / "articles"
LOCK = ROOT / "requirements.lock"
# What a checkout holds beside its sources (.gitignore's names, git's folder): never part of a build.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "data", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"
)
COUNTED_TABLES = ("articles", "mentions", "events", "entities")


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
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    # As make installs: the locked set by hash, all of it (pip resolves nothing), then the wheel alone; pip check
    # proves the wheel's declared dependencies are all there.
    for step in (
        ["install", "--quiet", "--no-deps", "--no-compile", "--require-hashes", "-r", str(LOCK)],
        ["install", "--quiet", "--no-deps", str(wheel)],
        ["check"],
    ):
        done = subprocess.run([*pip, *step], capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, f"pip {' '.join(step)}:\n{done.stdout}{done.stderr}"
    return venv / "bin"


def _environment() -> dict[str, str]:
    """This session's environment without what would point a process at the checkout or at this session's settings."""
    leaking = ("NEWSETL_", "PREFECT_", "PYTHONPATH", "VIRTUAL_ENV")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(leaking)}, "COLUMNS": "120"}


def _newsetl(bin_dir: Path, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(bin_dir / "newsetl"), *args]
    env = _environment()
    return subprocess.run(command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=600)


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
    wheel_bin: Path, sample_db: str, tmp_path: Path
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
    run = _newsetl(wheel_bin, empty, "run", "--input", str(SEEDS), "--db", db_url)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert _loaded(db_url) == _loaded(sample_db)

    report = _newsetl(wheel_bin, empty, "report", "--output", "report.html", "--db", db_url)
    assert report.returncode == 0, report.stderr
    assert "Events per type" in (empty / "report.html").read_text(encoding="utf-8")
    line = json.dumps({"id": "k", "text": "Russian forces shelled Kherson on Wednesday.", "published_at": "2022-11-11"})
    annotated = _newsetl(wheel_bin, empty, "annotate", stdin=line)
    assert annotated.returncode == 0, annotated.stderr
    assert [event["type"] for event in json.loads(annotated.stdout)["events"]] == ["ASSAULT"]


def _deployments(api_url: str) -> list[str]:
    """Names of the deployments a Prefect server knows; none while it does not answer."""
    request = urllib.request.Request(f"{api_url}/deployments/filter", data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return [deployment["name"] for deployment in json.load(response)]
    except OSError:
        return []


@pytest.mark.slow
def test_wheel_serves_from_an_empty_folder(wheel_bin: Path, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    command = [str(wheel_bin / "newsetl"), "serve", "--input", str(SEEDS), "--db", f"sqlite:///{tmp_path / 'serve.db'}"]
    with log.open("w", encoding="utf-8") as output:
        serve = subprocess.Popen(command, cwd=tmp_path, env=_environment(), stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not (ui := re.search(r"UI at (http://127\.0\.0\.1:\d+)", log.read_text(encoding="utf-8"))):
            assert serve.poll() is None and time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(1)
        # Served: the nightly flow's deployment is on the Prefect server, waiting for its schedule (test_serve.py
        # checks a scheduled run and the stop).
        while not _deployments(f"{ui.group(1)}/api"):
            assert serve.poll() is None and time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(1)
    finally:
        serve.terminate()
        serve.wait(timeout=60)
