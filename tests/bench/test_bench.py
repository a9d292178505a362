"""The benchmark harness (bench/run.py): the article set, the 2x copy, memory sampling, and one tiny real run."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from etl.clean import clean_document
from etl.extract import parse_file
from etl.records import SourceFile

BENCH_RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"
YARDSTICKS = Path(__file__).resolve().parents[3] / "shared" / "bench"
ARTICLES = {
    "world/001.txt": "Ministers meet in Geneva\n\nForeign ministers of France and Germany met in Geneva on Monday.\n",
    "world/002.txt": "Talks end without a deal\n\nThe talks in Vienna ended on Tuesday without a trade agreement.\n",
    "money/001.txt": "Bank raises rates\n\nThe Bank of England raised interest rates by a quarter point.\n",
}


def _load_bench_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH_RUN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench_run = _load_bench_run()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Three small articles in two folders, plus the two non-article files the BBC corpus has at its top."""
    root = tmp_path / "corpus"
    for relative, text in ARTICLES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    (root / "README.TXT").write_text("About this corpus.\n", encoding="utf-8")
    (root / "SOURCE.txt").write_text("Where this corpus comes from.\n", encoding="utf-8")
    return root


def _article(path: Path):
    data = path.read_bytes()
    (document,) = parse_file(SourceFile(path.as_posix(), len(data), 0), data).documents
    return clean_document(document)


def test_run_article_paths_are_the_yardsticks_txt_files_minus_excluded(corpus: Path) -> None:
    paths = bench_run.article_paths(corpus, ["SOURCE.txt"])

    assert [p.relative_to(corpus).as_posix() for p in paths] == ["money/001.txt", "world/001.txt", "world/002.txt"]


def test_run_copy_corpus_second_copy_is_new_content_with_the_same_headline(corpus: Path, tmp_path: Path) -> None:
    paths = bench_run.article_paths(corpus, ["SOURCE.txt"])

    written = bench_run.copy_corpus(corpus, paths, tmp_path / "copies", 2)

    assert len(written) == 6
    original = tmp_path / "copies" / "copy1" / "world" / "001.txt"
    altered = tmp_path / "copies" / "copy2" / "world" / "001.txt"
    assert original.read_bytes() == (corpus / "world" / "001.txt").read_bytes()
    first, second = _article(original), _article(altered)
    assert second.title == first.title
    assert second.body.startswith("Benchmark copy 2 of world/001.txt.")
    assert second.body.endswith(first.body)
    assert second.content_sha256 != first.content_sha256


def test_run_measure_sums_the_memory_of_concurrent_processes() -> None:
    child = "import time; block = bytearray(80_000_000); time.sleep(1.5)"
    parent = (
        "import subprocess, sys; "
        f"children = [subprocess.Popen([sys.executable, '-c', {child!r}]) for _ in range(2)]; "
        "[c.wait() for c in children]"
    )

    result = bench_run.measure("two children", [sys.executable, "-c", parent])

    assert result.peak_rss_bytes >= 160_000_000
    assert result.max_single_rss_bytes < 160_000_000
    assert result.wall_s >= 1.5


def test_run_measure_names_the_failing_command() -> None:
    with pytest.raises(RuntimeError, match="false failed with exit code 3"):
        bench_run.measure("false", [sys.executable, "-c", "raise SystemExit(3)"])


def test_run_reported_tokens_per_s_reads_the_yardstick_line() -> None:
    line = "limit: 2225 articles, 1012345 tokens in 120.3s = 8415 tokens/s"

    assert bench_run.reported_tokens_per_s(f"loading\n{line}") == 8415.0
    assert bench_run.reported_tokens_per_s("no figure here") is None


@pytest.mark.slow
def test_run_benchmarks_a_tiny_corpus_end_to_end(corpus: Path, tmp_path: Path, prefect_api_url: str) -> None:
    if not YARDSTICKS.is_dir():  # the yardstick scripts live in ../shared, beside the checkout (as in CI)
        pytest.skip(f"the yardsticks in {YARDSTICKS} are not here")
    report_file = tmp_path / "bench.json"

    # The pipeline against the limit the throughput ratio is read against (the other yardsticks run alike).
    only = ["--only", "limit 2 proc", "--only", "pipeline", "--only", "nightly no-op"]
    completed = subprocess.run(
        [sys.executable, str(BENCH_RUN), str(corpus), *only, "--json", str(report_file)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PREFECT_API_URL": prefect_api_url},  # the runs use the session's Prefect server
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    for field in ("limit 2 proc", "pipeline", "nightly no-op", "tokens/s", "peak RSS MB"):
        assert field in completed.stdout
    assert "pipeline / limit 2 proc" in completed.stdout
    (scale,) = json.loads(report_file.read_text(encoding="utf-8"))["scales"]
    assert scale["articles"] == 3
    assert scale["tokens"] > 30
    measurements = {m["name"]: m for m in scale["measurements"]}
    assert list(measurements) == [
        "limit 2 proc",
        "first run, 1 article",  # makes the data folder's Prefect database, as nights before a nightly run did
        "pipeline",
        "nightly no-op",
    ]
    assert not measurements["first run, 1 article"]["tokens_per_s"]
    assert all(m["peak_rss_bytes"] > 50_000_000 for m in measurements.values())
    assert measurements["pipeline"]["flow_s"] > measurements["nightly no-op"]["flow_s"]
    assert all(m["cpu_s"] > 0.5 for m in measurements.values())  # at least the imports, in every command
    assert set(scale["ratios"]) == {
        "pipeline / limit 2 proc",
        "CPU per token, limit 2 proc / pipeline",
        "nightly no-op flow / pipeline wall",
    }
