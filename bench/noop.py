"""The nightly run over a large folder in which nothing changed: how long planning takes, and the whole command.

Issue 4 asks that "a nightly run over a folder of 100,000 already loaded articles finishes in seconds". This
builds such a folder and a database that already knows every file, then times `plan_files` (the step that
splits the folder into unchanged and pending files) in this process, profiles it, and times `newsetl run`
over the folder as a real subprocess, on SQLite and, with `--postgres URL`, on PostgreSQL.

The database is made in two parts, both through newsetl's own code:
1. the first `--loaded` files are loaded by a real `newsetl run` (read, cleaned, annotated by spaCy, stored);
2. the remaining files are then written to the folder, and each gets the `source_files` row a run that loaded
   it would have left: its path, size and mtime as `discover` reports them, the SHA-256 of its bytes, status
   `loaded`, the loading run's id (a Core executemany, not a spaCy pass over 100,000 files, which would take
   hours and which the no-op run never reads: it compares the folder with `source_files` and stops there).

Example: `.venv/bin/python bench/noop.py --files 100000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/noop`
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, insert, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench/ is a folder of scripts; etl is imported from this checkout
from etl.database import open_database  # noqa: E402
from etl.extract import discover  # noqa: E402
from etl.file_ledger import known_files  # noqa: E402
from etl.input_files import plan_files  # noqa: E402
from etl.models import RunRow, SourceFileRow  # noqa: E402
from etl.records import FileStatus  # noqa: E402

VENV_BIN = Path(sys.executable).parent
FILES_PER_FOLDER = 100  # one folder per day, like a wire archive: 2022/11/10/…
FIRST_DAY = date(2020, 1, 1)
PLACES = ("Kyiv", "Kherson", "Moscow", "Brussels", "Ankara", "Warsaw", "Belgrade", "Pristina", "Geneva", "Vienna")
LEADERS = ("Volodymyr Zelensky", "Vladimir Putin", "Recep Tayyip Erdogan", "Andrzej Duda", "Aleksandar Vucic")
ROWS_PER_INSERT = 5_000

console = Console(width=None if sys.stdout.isatty() else 160)


def article_text(index: int) -> str:
    """A short, distinct article: a headline, then two sentences naming a leader and two places."""
    leader, place = LEADERS[index % len(LEADERS)], PLACES[index % len(PLACES)]
    other = PLACES[(index // len(PLACES) + 3) % len(PLACES)]
    return (
        f"{leader} visits {place} (report {index})\n\n"
        f"{leader} arrived in {place} on Monday for talks with officials from {other}. "
        f"The meeting, number {index} in the series, ended without a joint statement.\n"
    )


def write_articles(folder: Path, start: int, stop: int) -> None:
    """Articles `start` to `stop - 1`, a hundred per day folder."""
    for index in range(start, stop):
        day = FIRST_DAY + timedelta(days=index // FILES_PER_FOLDER)
        path = folder / f"{day:%Y/%m/%d}" / f"article-{index:06d}.txt"
        if index % FILES_PER_FOLDER == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_text(index), encoding="utf-8")


def newsetl_run(folder: Path, db_url: str, data_dir: Path) -> tuple[float, str]:
    """`newsetl run` over the folder as a subprocess: wall seconds and its output; fails if the run failed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSETL_", "PREFECT_"))}
    env["NEWSETL_DATA_DIR"] = str(data_dir)
    command = [str(VENV_BIN / "newsetl"), "run", "--input", str(folder), "--db", db_url]
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=data_dir.parent, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {completed.returncode}:\n{completed.stdout}{completed.stderr}")
    return wall, completed.stdout


def record_remaining_files(engine: Engine, folder: Path) -> int:
    """Give every file of the folder the database does not know the `source_files` row of a loaded file."""
    known = known_files(engine)
    with engine.connect() as connection:
        run_id = connection.scalar(select(func.max(RunRow.id)))
    rows = [
        {
            "path": source.path,
            "size": source.size,
            "mtime_ns": source.mtime_ns,
            "file_sha256": hashlib.sha256(Path(source.path).read_bytes()).hexdigest(),
            "status": FileStatus.LOADED,
            "last_run_id": run_id,
        }
        for source in discover(folder)
        if source.path not in known
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            connection.execute(insert(SourceFileRow), rows[start : start + ROWS_PER_INSERT])
    return len(rows)


def last_run_seconds(db_url: str, files: int) -> float:
    """The last run's own duration, from its `runs` row, after checking that it found all `files` unchanged."""
    engine = open_database(db_url)
    with engine.connect() as connection:
        run = connection.execute(select(RunRow).order_by(RunRow.id.desc()).limit(1)).one()
    engine.dispose()
    counts = (run.status, run.files_skipped, run.files_loaded, run.files_rejected, run.files_deleted)
    assert counts == ("completed", files, 0, 0, 0), counts
    return (run.finished_at - run.started_at).total_seconds()


def time_calls(function, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def profile_plan(engine: Engine, folder: Path, top: int) -> str:
    """`plan_files` under cProfile: its functions by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(plan_files, engine, folder)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(
    files: Annotated[int, typer.Option(help="Files in the folder, all already loaded.")] = 100_000,
    loaded: Annotated[int, typer.Option(help="Of those, how many a real `newsetl run` loads first.")] = 200,
    postgres: Annotated[
        str | None, typer.Option(help="Also on this PostgreSQL database (empty; its schema is created).")
    ] = None,
    repeats: Annotated[int, typer.Option(help="Timings of `plan_files` and of the no-op command per backend.")] = 3,
    workdir: Annotated[Path | None, typer.Option(help="Keep the folder and databases here (default: temp).")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write every figure to this JSON file.")] = None,
    profile_top: Annotated[int, typer.Option(help="Functions to print from the profile of `plan_files`.")] = 12,
) -> None:
    """Time the nightly run over a folder of `--files` articles that are all loaded already."""
    if not 0 < loaded <= files:
        raise typer.BadParameter("needs 0 < --loaded <= --files", param_hint="--loaded")
    backends = {"sqlite": None, **({"postgres": postgres} if postgres else {})}
    with tempfile.TemporaryDirectory(prefix="newsetl-noop-") as temporary:
        root = (workdir or Path(temporary)).resolve()
        folder = root / "articles"
        backends["sqlite"] = f"sqlite:///{root / 'noop.db'}"
        console.print(f"load average {os.getloadavg()[0]:.1f}; {loaded} articles in {folder}")
        write_articles(folder, 0, loaded)
        load_wall = {}
        for name, db_url in backends.items():
            data_dir = root / f"data-{name}"
            data_dir.mkdir(exist_ok=True)
            console.print(f"[bold]{name}[/]: real `newsetl run` over {loaded} files")
            load_wall[name], _ = newsetl_run(folder, db_url, data_dir)
        started = time.perf_counter()
        write_articles(folder, loaded, files)
        console.print(f"wrote {files - loaded} more files in {time.perf_counter() - started:.1f} s")

        report: dict[str, object] = {"files": files, "loaded_for_real": loaded, "backends": {}}
        table = Table(title=f"nightly run over {files:,} unchanged files")
        for column in ("backend", "step", "best s", "median s", "files/s (best)", "load avg"):
            table.add_column(column, justify="left" if column in ("backend", "step") else "right")
        for name, db_url in backends.items():
            engine = open_database(db_url)
            recorded = record_remaining_files(engine, folder)
            console.print(f"[bold]{name}[/]: recorded {recorded} files as loaded")
            plan = plan_files(engine, folder)
            assert (plan.unchanged, len(plan.pending), len(plan.missing)) == (files, 0, 0), plan
            steps = {
                "discover": lambda: sum(1 for _ in discover(folder)),
                "known_files": lambda: known_files(engine),  # noqa: B023 (called before the next backend)
                "plan_files": lambda: plan_files(engine, folder),  # noqa: B023
            }
            figures = {}
            for step, function in steps.items():
                load = os.getloadavg()[0]
                seconds = time_calls(function, repeats)
                figures[step] = {"seconds": seconds, "load_before": load}
                table.add_row(name, step, f"{min(seconds):.3f}", f"{statistics.median(seconds):.3f}",
                              f"{files / min(seconds):,.0f}", f"{load:.1f}")  # fmt: skip
            profile = profile_plan(engine, folder, profile_top)
            engine.dispose()
            walls, flow_s = [], []
            for _ in range(repeats):
                load = os.getloadavg()[0]
                wall, _output = newsetl_run(folder, db_url, root / f"data-{name}")
                walls.append(wall)
                flow_s.append(last_run_seconds(db_url, files))
            figures["newsetl run"] = {"seconds": walls, "run_seconds": flow_s, "load_before": load}
            table.add_row(name, "newsetl run (whole command)", f"{min(walls):.1f}", f"{statistics.median(walls):.1f}",
                          f"{files / min(walls):,.0f}", f"{load:.1f}")  # fmt: skip
            table.add_row(name, "  of which the run (runs row)", f"{min(flow_s):.2f}",
                          f"{statistics.median(flow_s):.2f}", f"{files / min(flow_s):,.0f}", "")  # fmt: skip
            report["backends"][name] = {"load_wall_s": load_wall[name], "figures": figures, "profile": profile}
            console.print(f"[bold]{name}[/]: profile of plan_files\n{profile}")
        console.print(table)
        if workdir is None:
            shutil.rmtree(folder)
    if json_file:
        json_file.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
