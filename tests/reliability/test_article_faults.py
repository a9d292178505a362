"""One article's failure is that article's alone: a fault at any stage after extraction, or an annotation worker
that dies, rejects that article with the stage and the error in `rejected_files`; the rest of the batch loads, the
run completes, and the next run changes nothing (the rejected files are unchanged, so they are not tried again)."""

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dask
import injected_faults  # tests/injected_faults.py
import pytest
from newsetl_process import cli_env  # tests/newsetl_process.py
from sqlalchemy import Engine, select
from sqlalchemy.exc import DataError
from test_faults import db_check, snapshot

import etl.annotation_store
import etl.article_store
import etl.clean
import etl.extract
import etl.nlp.annotate
import etl.nlp.event_dates
import etl.nlp.model
from etl.integrity import check_database
from etl.models import RejectedFileRow, SourceFileRow
from etl.nlp.lexicon import load_lexicon
from etl.nlp.workers import DASK_WORKER_DIED, DaskCluster, DaskWorkers
from etl.records import Annotation, Article
from etl.settings import resolve_settings
from flows.nightly import nightly

GOOD = {
    "grain.txt": "Turkey and the United Nations extended the grain deal with Russia and Ukraine.",
    "visit.txt": "French President Emmanuel Macron visited Washington. He met Joe Biden.",
}
# file → (its article, the module attribute a fault replaces, the text that makes it raise, the stage named)
STAGE_FAULTS = {
    "extract.txt": ("Chinese envoys arrived in Hanoi.", etl.extract, "_text_document", "extract.txt", "extraction"),
    "clean.txt": ("Germany pledged aid to Ukraine on Tuesday.", etl.clean, "clean_text", "Germany", "cleaning"),
    "language.txt": (
        "Serbian and Kosovo leaders met in Brussels on Monday.", etl.clean, "article_language", "Kosovo",
        "language detection",
    ),
    "parse.txt": ("Protesters in Tbilisi blocked roads on Friday.", etl.nlp.model, "truecase", "Tbilisi", "annotation"),
    "canonical.txt": (
        "Chinese diplomats held talks with Vietnam on Monday.", etl.nlp.annotate, "resolve_entities", "Vietnam",
        "canonicalising",
    ),
    "events.txt": (
        "The European Union imposed sanctions on Iranian officials.", etl.nlp.annotate, "code_events", "sanctions",
        "event coding",
    ),
    "dating.txt": ("Russian forces attacked Kharkiv on Sunday.", etl.nlp.event_dates, "_parse", "Sunday", "dating"),
    "rows.txt": (
        "The mayor of Warsaw welcomed refugees from Odesa.", etl.annotation_store, "annotation_rows", "Warsaw",
        "building rows",
    ),
}  # fmt: skip


def _raising_on(function: Any, trigger: str, stage: str) -> Any:
    """`function`, except that it raises when its first argument (a text, a Doc, an annotation) mentions `trigger`."""

    def faulty(first: Any, *args: Any, **kwargs: Any) -> Any:
        if trigger in (first if isinstance(first, str) else getattr(first, "text", None) or repr(first)):
            raise RuntimeError(f"injected fault in {stage}")
        return function(first, *args, **kwargs)

    return faulty


def _refused_by_the_database(function: Any, trigger: str) -> Any:
    """`etl.article_store._article_row`, except that the database refuses the article whose body mentions `trigger`."""

    def refused(run_id: int, article: Article, *args: Any) -> Any:
        if trigger in article.body:
            raise DataError("INSERT INTO articles …", {}, ValueError("value too long for type character varying(64)"))
        return function(run_id, article, *args)

    return refused


def _reasons(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(select(RejectedFileRow.source_path, RejectedFileRow.reason)).all()
    return {Path(path).name: reason for path, reason in rows}


@pytest.mark.slow
def test_article_faults_a_fault_at_any_stage_rejects_its_article_alone_and_the_next_run_changes_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, body in {**GOOD, **{name: fault[0] for name, fault in STAGE_FAULTS.items()}}.items():
        (folder / name).write_text(f"{name.removesuffix('.txt')}\n\n{body}\n", encoding="utf-8")
    (folder / "loading.txt").write_text("Loading\n\nThe mayor of Vilnius opened the summit.\n", encoding="utf-8")
    for _, module, attribute, trigger, stage in STAGE_FAULTS.values():
        monkeypatch.setattr(module, attribute, _raising_on(getattr(module, attribute), trigger, stage))
    monkeypatch.setattr(
        etl.article_store, "_article_row", _refused_by_the_database(etl.article_store._article_row, "Vilnius")
    )
    monkeypatch.setenv("NEWSETL_N_PROCESS", "1")  # annotated in this process, where the faults are
    db_url = engine.url.render_as_string(hide_password=False)
    caplog.set_level(logging.DEBUG, logger="etl")

    first = nightly(input_dir=str(folder), db_url=db_url)

    assert (first.loaded, first.rejected, first.articles) == (len(GOOD), len(STAGE_FAULTS) + 1, len(GOOD))
    assert _reasons(engine) == {
        **{
            name: f"{stage} failed: RuntimeError: injected fault in {stage}"
            for name, (_, _, _, _, stage) in STAGE_FAULTS.items()
        },
        "loading.txt": "loading failed: ValueError: value too long for type character varying(64)",
    }
    # The whole traceback is in the log, at debug level, for each.
    tracebacks = [r for r in caplog.records if r.levelno == logging.DEBUG and "Traceback" in r.getMessage()]
    assert len(tracebacks) == len(STAGE_FAULTS) + 1
    assert check_database(engine) == []

    rows = snapshot(db_url, folder)
    second = nightly(input_dir=str(folder), db_url=db_url)
    assert (second.loaded, second.rejected, second.skipped) == (0, 0, len(GOOD) + len(STAGE_FAULTS) + 1)
    assert snapshot(db_url, folder) == rows

    # Without the faults, the rejected files are still unchanged: not tried again until they change.
    monkeypatch.undo()
    third = nightly(input_dir=str(folder), db_url=db_url)
    assert (third.loaded, third.skipped) == (0, len(GOOD) + len(STAGE_FAULTS) + 1)
    with (folder / "clean.txt").open("a", encoding="utf-8") as changed:
        changed.write("Berlin will send generators to Kyiv.\n")
    fourth = nightly(input_dir=str(folder), db_url=db_url)
    assert (fourth.loaded, fourth.rejected) == (1, 0)
    with engine.connect() as connection:
        status = connection.scalar(select(SourceFileRow.status).where(SourceFileRow.path.endswith("/clean.txt")))
    assert status == "loaded"  # its rejection stays in `rejected_files` as the first run's record
    assert check_database(engine) == []


@pytest.mark.slow
def test_article_faults_a_killed_annotation_worker_costs_only_the_article_that_killed_it(
    db_url: str, corpus: Path, tmp_path: Path, prefect_api_url: str
) -> None:
    (corpus / "killer.txt").write_text(f"Killer\n\n{injected_faults.KILL_MARK}: the worker dies here.\n")
    (corpus / "raiser.txt").write_text(f"Raiser\n\n{injected_faults.RAISE_MARK}: the annotation raises here.\n")
    # Two workers, three articles per worker batch: the killed worker holds two good articles besides.
    env = cli_env(tmp_path, prefect_api_url, n_process="2", nlp_batch_size="3", batch_size="4")
    env["PYTHONPATH"] = str(Path(injected_faults.__file__).parent)
    command = [sys.executable, "-c", "import injected_faults; injected_faults.main()", "run", "--input", str(corpus),
               "--db", db_url]  # fmt: skip

    first = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stdout + first.stderr
    summary = " ".join(first.stdout.split())
    assert "files loaded │ 6 │" in summary and "files rejected │ 2 │" in summary, first.stdout
    rejected = snapshot(db_url, corpus)["rejected_files"]
    assert [(path, reason) for path, _, _, reason in rejected] == [
        ("killer.txt", "annotation worker died (signal 9)"),
        ("raiser.txt", "annotation failed: RuntimeError: injected fault"),
    ]
    assert db_check(db_url) == (0, [])

    rows = snapshot(db_url, corpus)
    second = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "files skipped │ 8 │" in " ".join(second.stdout.split()), second.stdout
    assert snapshot(db_url, corpus) == rows


@pytest.mark.slow
def test_article_faults_a_file_that_kills_every_dask_worker_is_rejected_and_the_rest_loads(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite only: each lost worker costs a worker start (spaCy and the model), and the run's process loads what the
    # workers annotated as on any database (tests/flows/test_cluster.py runs the Dask executor on PostgreSQL).
    db_url = f"sqlite:///{tmp_path / 'newsetl.db'}"
    (corpus / "killer.txt").write_text(f"Killer\n\n{injected_faults.KILL_MARK}: every worker dies here.\n")
    monkeypatch.setenv("NEWSETL_BATCH_SIZE", "10")  # one batch of files, one of texts: six good ones found good alone
    monkeypatch.setenv("NEWSETL_N_PROCESS", "1")
    # Dask gives up on a task the first time a worker dies running it (the default allows 3 more): one death for the
    # batch, one for the file alone. The files alone run one after the other, so no good file shares the worker.
    faults = {"distributed.worker.preload": ["injected_faults"], "distributed.scheduler.allowed-failures": 0}

    with dask.config.set(faults):
        first = nightly(input_dir=str(corpus), db_url=db_url, executor="dask", dask_workers=2)

    assert (first.loaded, first.rejected, first.articles) == (6, 1, 6)
    reasons = snapshot(db_url, corpus)["rejected_files"]
    assert [(path, reason) for path, _, _, reason in reasons] == [("killer.txt", DASK_WORKER_DIED)]
    assert db_check(db_url) == (0, [])
    rows = snapshot(db_url, corpus)
    again = nightly(input_dir=str(corpus), db_url=db_url, executor="dask", dask_workers=2)
    assert (again.loaded, again.rejected, again.skipped) == (0, 0, 7)
    assert snapshot(db_url, corpus) == rows


@pytest.mark.slow
def test_article_faults_a_lexicon_lost_with_its_workers_is_sent_again_and_not_blamed_on_the_next_text() -> None:
    # When the workers holding the lexicon die and so do those computing it again, the lexicon's future fails with
    # `KilledWorker`, and so does every batch that needs it: the texts after it were once all rejected as worker
    # killers. Here the lexicon's place is held by a task that ends its worker, so the lexicon is lost for good.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        workers = DaskWorkers(resolve_settings().spacy_model, load_lexicon(), DaskCluster(workers=1))
        try:
            client = workers._connected()
            workers._lexicon = client.submit(os._exit, 1, pure=False)
            outcome = workers.alone(("Rebels attacked the town of Kessel.", None))
        finally:
            workers.close()

    assert isinstance(outcome, Annotation), outcome
    assert [event.event_type for event in outcome.events] == ["ASSAULT"]
