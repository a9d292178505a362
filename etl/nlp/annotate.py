"""Texts in, annotations out: spaCy over batches, then canonical entities and PLOVER events per document."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import date
from itertools import islice
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from spacy.language import Language
from spacy.tokens import Doc

from etl import __version__
from etl.errors import RejectedInput, article_stage
from etl.nlp.entities import resolve_entities
from etl.nlp.events import code_events
from etl.nlp.gazetteer import reference_version
from etl.nlp.lexicon import Lexicon
from etl.nlp.model import load_pipeline, loaded_as, model_version, parse
from etl.records import Annotation, Entity, Event, Mention

Context = TypeVar("Context")
Text = tuple[str, date | None]  # a text to annotate and its publication date
# What annotating one text gives: its annotation, or why it cannot be annotated (that text only).
Outcome = Annotation | RejectedInput

# Texts longer than this are parsed in windows of at most this many characters, cut between paragraphs, else
# between sentences, else at a space: spaCy refuses texts over its `max_length` and its memory grows with a
# text's length, so a text of any length is parsed in time and memory linear in it. Entities are resolved per
# window (a long text's "Putin" is tied to the "Vladimir Putin" of its own window only).
WINDOW_CHARS = 50_000
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")


def annotate_doc(doc: Doc, publication_date: date | None, lexicon: Lexicon) -> Annotation:
    """Entities, mentions and events of one parsed document; offsets are into `doc.text`."""
    with article_stage("canonicalising"):
        entities, mentions = resolve_entities(doc)
    by_key = {entity.entity_key: entity for entity in entities}
    with article_stage("event coding"):
        events = code_events(doc, mentions, by_key, publication_date, lexicon)
    return Annotation(entities=entities, mentions=mentions, events=tuple(events))


def annotate(
    nlp: Language,
    items: Iterable[tuple[str, date | None, Context]],
    lexicon: Lexicon,
    *,
    batch_size: int = 16,
    n_process: int = 1,
) -> Iterator[tuple[Outcome, Context]]:
    """Annotate `(text, publication_date, context)` items in order, streaming; the context is passed through.

    The one path from text to annotation: the flows and `newsetl annotate` both call it. `batch_size` texts
    are parsed at once (spaCy's working memory grows with it). With `n_process` > 1, batches are parsed *and*
    annotated in that many worker processes (an `Annotator`'s, for these items only). A text that fails (spaCy
    refuses it, a component raises) gives its `RejectedInput` (an `ArticleFailed` naming the stage) instead of an
    annotation; the other texts are annotated all the same.
    """
    if n_process == 1:
        iterator = iter(items)
        while chunk := list(islice(iterator, batch_size)):
            texts = [(text, published) for text, published, _ in chunk]
            try:
                outcomes = list(_annotated(nlp, texts, lexicon, batch_size))
            except Exception:  # spaCy failed on one of them, for them all: each alone below, to reject that one only
                outcomes = []
            if len(outcomes) < len(texts):  # out of the handler, so that no traceback shows the other text's error
                outcomes = [_annotated_alone(nlp, text, lexicon) for text in texts]
            yield from zip(outcomes, (context for _, _, context in chunk), strict=True)
    else:
        with Annotator(loaded_as(nlp), lexicon, batch_size=batch_size, n_process=n_process) as annotator:
            yield from annotator.annotate(items)


def _annotated_alone(nlp: Language, text: Text, lexicon: Lexicon) -> Outcome:
    try:
        with article_stage("annotation"):
            [outcome] = _annotated(nlp, [text], lexicon, 1)
    except RejectedInput as exc:
        return exc
    return outcome


def _annotated(nlp: Language, texts: list[Text], lexicon: Lexicon, batch_size: int) -> Iterator[Outcome]:
    """Each text's outcome, its windows parsed and annotated in turn and joined; raises when spaCy fails."""
    size = min(WINDOW_CHARS, nlp.max_length)
    if any(len(text) > size for text, _ in texts):  # memory grows with the characters parsed at once, not the texts
        batch_size = 1
    windows = (
        (window, (number, start))
        for number, (text, _) in enumerate(texts)
        for start, window in text_windows(text, size)
    )
    parts: list[tuple[int, int, Annotation]] = []  # of the current text: (char offset, sentence offset, annotation)
    failure: RejectedInput | None = None
    sentences = 0
    current = 0
    for doc, (number, start) in parse(nlp, windows, batch_size=batch_size):
        if number != current:
            yield failure or joined(parts)
            parts, failure, sentences, current = [], None, 0, number
        if failure is None:
            try:
                parts.append((start, sentences, annotate_doc(doc, texts[number][1], lexicon)))
            except RejectedInput as exc:
                failure = exc
            sentences += sum(1 for _ in doc.sents)
    if texts:
        yield failure or joined(parts)


def text_windows(text: str, size: int) -> Iterator[tuple[int, str]]:
    """`(offset, window)` pieces of `text` of at most `size` characters that spell it exactly, in order: the whole
    text when it fits, else each piece cut after the last paragraph break of its second half, else after its last
    sentence end, else after its last space, else at `size`. Linear in the text's length."""
    start = 0
    while len(text) - start > size:
        low, high = start + size // 2, start + size
        end = text.rfind("\n\n", low, high) + 2
        if end < 2:
            ends = [match.end() for match in _SENTENCE_END.finditer(text, low, high)]
            end = ends[-1] if ends else max(text.rfind(" ", low, high), text.rfind("\n", low, high)) + 1
        if end <= low:  # no space in half a window: a hard cut
            end = high
        yield start, text[start:end]
        start = end
    yield start, text[start:]


def joined(parts: list[tuple[int, int, Annotation]]) -> Annotation:
    """One annotation of a text from those of its windows, each given with its character and sentence offsets in
    the text: offsets shifted, each entity once (the first window's, with every window's aliases)."""
    if len(parts) == 1:
        return parts[0][2]
    entities: dict[str, Entity] = {}
    mentions: list[Mention] = []
    events: list[Event] = []
    for chars, sentences, annotation in parts:
        for entity in annotation.entities:
            known = entities.get(entity.entity_key)
            aliases = entity.aliases if known is None else tuple(dict.fromkeys(known.aliases + entity.aliases))
            entities[entity.entity_key] = replace(known or entity, aliases=aliases)
        mentions.extend(
            replace(m, start=m.start + chars, end=m.end + chars, sentence_index=m.sentence_index + sentences)
            for m in annotation.mentions
        )
        events.extend(
            replace(
                e,
                trigger_start=e.trigger_start + chars,
                trigger_end=e.trigger_end + chars,
                sentence_index=e.sentence_index + sentences,
                participants=tuple(replace(p, start=p.start + chars, end=p.end + chars) for p in e.participants),
            )
            for e in annotation.events
        )
    return Annotation(entities=tuple(entities.values()), mentions=tuple(mentions), events=tuple(events))


class Annotator:
    """`annotate` with one model and lexicon for as long as it is open: a run keeps one for all its batches.

    With `n_process` 1 it annotates in this process. Otherwise it parses *and* annotates in worker processes,
    started on first use and kept until `close`, so that each loads the model once per run, not once per batch;
    this process, which need not load the model at all, reads, cleans and loads meanwhile. spaCy's own
    `nlp.pipe(n_process=…)` would parse in workers but send each Doc back to be annotated here, leaving this
    process the bottleneck; a worker instead returns the batch's `Annotation`s, small frozen records; the
    contexts never leave this process. Workers come from a fork server, not a fork of this process: a flow runs
    Prefect's threads, and a child forked while another thread holds a lock (SQLite's, logging's) can hang for
    ever. Not for use by two threads at once (backfill chunks each open their own).

    A caller that knows what it will ask for next says so with `queue_next`: the workers start on those texts as
    soon as the current call has handed them its own, so they do not wait while this process loads one batch
    of files and reads the next.
    """

    def __init__(self, model_name: str, lexicon: Lexicon, *, batch_size: int = 16, n_process: int = 1) -> None:
        self.model_name, self.lexicon, self.batch_size, self.n_process = model_name, lexicon, batch_size, n_process
        self.version = pipeline_version(model_name)
        self._pool: ProcessPoolExecutor | None = None
        self._solo: ProcessPoolExecutor | None = None  # one worker, for texts retried alone after a worker died
        self._next: list[Text] = []  # queued by `queue_next`, not handed to the workers yet
        # Texts the workers were handed ahead of the call that will collect them: its batch's future, and where.
        self._ahead: dict[Text, tuple[Future[list[Outcome]], int]] = {}

    def __enter__(self) -> Annotator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker processes now, each loading the model, without waiting for them: a run calls this
        before its orchestrator starts, so that the two start-ups overlap. In one process there is none to start."""
        if self.n_process > 1:
            workers = self._workers()
            for _ in range(self.n_process):  # a pool starts a process per task submitted while none is idle
                workers.submit(_started)

    def close(self) -> None:
        """Stop the workers, if any started; the annotator starts new ones if used again."""
        self._next, self._ahead = [], {}
        for pool in (self._pool, self._solo):
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        self._pool = self._solo = None

    def queue_next(self, texts: Iterable[Text]) -> None:
        """`(text, publication_date)` pairs the `annotate` call after the next one will be given (the next one may
        be running): handed to the workers once that call has handed them its own items, and their annotations
        kept for the call after it, which collects those it is given and drops the rest. In one process, nothing
        runs ahead: this does nothing."""
        if self.n_process > 1:
            self._next = list(dict.fromkeys(texts))

    def annotate_ahead(self, texts: Iterable[Text]) -> None:
        """Hand `(text, publication_date)` pairs to the workers now, for the next `annotate` call to collect those
        it is given: what a run knows it will ask for before it can start asking. In one process: nothing."""
        if self.n_process > 1:
            self._hand_over(list(dict.fromkeys(texts)))

    def annotate(self, items: Iterable[tuple[str, date | None, Context]]) -> Iterator[tuple[Outcome, Context]]:
        """As `annotate`: in order, streaming, contexts passed through. A worker that dies (killed, out of memory,
        crashed) costs only the texts it held: each text of a batch lost with it is retried alone in a fresh worker
        (`_alone`), which finds the one that kills it; that one is rejected, the others are annotated."""
        if self.n_process == 1:
            nlp = load_pipeline(self.model_name)
            yield from annotate(nlp, items, self.lexicon, batch_size=self.batch_size)
            return
        ahead, self._ahead = self._ahead, {}
        # At most two batches per worker in flight, so the items are still streamed; each item's annotation is
        # the `index`th of its batch's `future`, handed to the workers by this call or ahead of it.
        in_flight: deque[list[tuple[Future[list[Outcome]], int, Text, Context]]] = deque()
        batch_iter = iter(items)
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < 2 * self.n_process:
                    batch = list(islice(batch_iter, self.batch_size))
                    if batch:
                        in_flight.append(self._submitted(batch, ahead))
                    else:
                        exhausted = True
                        self._hand_over_next(ahead)
                if not in_flight:
                    return
                for future, index, text, context in in_flight.popleft():
                    try:
                        outcome = future.result()[index]
                    except BrokenProcessPool:  # its batch, or another, killed a worker: the pool is gone
                        outcome = self._alone(text)
                    yield outcome, context
        finally:
            for batch_slots in in_flight:
                for future, _, _, _ in batch_slots:
                    future.cancel()

    def _submitted(
        self, batch: list[tuple[str, date | None, Context]], ahead: dict[Text, tuple[Future[list[Outcome]], int]]
    ) -> list[tuple[Future[list[Outcome]], int, Text, Context]]:
        """Each item's future, index and text: from `ahead` where it was handed over before, else from one new batch."""
        handed = [ahead.pop((text, published), None) for text, published, _ in batch]
        new = [(text, published) for (text, published, _), before in zip(batch, handed, strict=True) if not before]
        if new:
            future = self._submit(new)
            positions = iter(range(len(new)))
            handed = [before or (future, next(positions)) for before in handed]
        return [
            (*before, (text, published), context)
            for before, (text, published, context) in zip(handed, batch, strict=True)
        ]

    def _hand_over_next(self, left_over: dict[Text, tuple[Future[list[Outcome]], int]]) -> None:
        """Hand the queued texts to the workers, for the next call; what this call left of those handed ahead of
        it is dropped then (content that was stored meanwhile). With nothing queued (a retried call, or the last)
        it is kept: it may be the next call's."""
        if not self._next:
            self._ahead.update(left_over)
            return
        texts, self._next = self._next, []
        self._hand_over(texts)

    def _hand_over(self, texts: list[Text]) -> None:
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            future = self._submit(batch)
            self._ahead.update((text, (future, index)) for index, text in enumerate(batch))

    def _submit(self, texts: list[Text]) -> Future[list[Outcome]]:
        """The future of a batch handed to the workers; a pool a dead worker broke is replaced first."""
        try:
            return self._workers().submit(_annotate_batch, texts)
        except BrokenProcessPool:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            return self._workers().submit(_annotate_batch, texts)

    def _alone(self, text: Text) -> Outcome:
        """A text lost with a dead worker, annotated alone in a worker of its own: if that worker dies too, this text
        killed it, and it is rejected with how the worker ended; the next text alone gets a fresh worker."""
        if self._solo is None:
            self._solo = self._new_pool(1)
        solo = self._solo
        try:
            [outcome] = solo.submit(_annotate_batch, [text]).result()
        except BrokenProcessPool:
            # The pool does not say how its worker ended; its process does, once joined by `shutdown`.
            processes = list(solo._processes.values())
            solo.shutdown()
            self._solo = None
            return RejectedInput(f"annotation worker died ({_how_it_ended(processes)})")
        return outcome

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = self._new_pool(self.n_process)
        return self._pool

    def _new_pool(self, processes: int) -> ProcessPoolExecutor:
        context = get_context("forkserver")
        context.set_forkserver_preload(["etl.nlp.annotate"])  # import spaCy and our modules once, in the server
        return ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start_worker, initargs=(self.model_name, self.lexicon)
        )


def _how_it_ended(processes: list[BaseProcess]) -> str:
    codes = [process.exitcode for process in processes if process.exitcode]
    if not codes:
        return "cause unknown"
    return f"signal {-codes[0]}" if codes[0] < 0 else f"exit code {codes[0]}"


# A worker process's model and lexicon, set once by `_start_worker` when it starts.
_worker_state: tuple[Language, Lexicon] | None = None


def _start_worker(model_name: str, lexicon: Lexicon) -> None:
    global _worker_state
    _worker_state = (load_pipeline(model_name), lexicon)


def _started() -> None:
    """A task that does nothing: submitting it makes the pool start a worker, which loads the model."""


def _annotate_batch(texts: list[Text]) -> list[Outcome]:
    assert _worker_state is not None, "runs only in a worker started by _start_worker"
    nlp, lexicon = _worker_state
    items = ((text, published, None) for text, published in texts)
    return [annotation for annotation, _ in annotate(nlp, items, lexicon, batch_size=len(texts))]


def pipeline_version(model_name: str) -> str:
    """Stamped on every article: a change of code, model or reference data (lexicon, gazetteer, aliases) makes
    stored annotations out of date. At most 64 characters (the `articles.pipeline_version` column)."""
    return f"newsetl-{__version__}+{model_version(model_name)}+ref-{reference_version()}"


def annotation_json(record_id: object, annotation: Annotation) -> dict[str, Any]:
    """The `newsetl annotate` output line for one input: entities and events with offsets into its text."""
    canonical = {entity.entity_key: entity.canonical_name for entity in annotation.entities}

    def participants(event: Event, role: str) -> list[dict[str, Any]]:
        return [
            {
                "start": p.start,
                "end": p.end,
                "text": p.text,
                "canonical": p.canonical,
                "country": p.country,
                "sector": p.sector,
                "entity_key": p.entity_key,
            }
            for p in event.participants
            if p.role == role
        ]

    return {
        "id": record_id,
        "entities": [
            {
                "start": m.start,
                "end": m.end,
                "text": m.text,
                "label": m.label,
                "canonical": canonical[m.entity_key],
                "entity_key": m.entity_key,
            }
            for m in annotation.mentions
        ],
        "events": [
            {
                "type": event.event_type,
                "mode": event.mode,
                "trigger": {
                    "start": event.trigger_start,
                    "end": event.trigger_end,
                    "text": event.trigger_text,
                },
                "actors": participants(event, "actor"),
                "recipients": participants(event, "recipient"),
                "sources": participants(event, "source"),
                "location": canonical.get(event.location_key) if event.location_key else None,
                "date": event.event_date.isoformat() if event.event_date else None,
                "date_text": event.date_text,
                "negated": event.negated,
                "hypothetical": event.hypothetical,
                "confidence": event.confidence,
                "is_background": event.is_background,
                "sentence_index": event.sentence_index,
            }
            for event in annotation.events
        ],
    }
