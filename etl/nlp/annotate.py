"""Texts in, annotations out: spaCy over batches, then canonical entities and PLOVER events per document."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from itertools import islice
from multiprocessing import get_context
from typing import Any, TypeVar

from spacy.language import Language
from spacy.tokens import Doc

from etl import __version__
from etl.nlp.entities import resolve_entities
from etl.nlp.events import code_events
from etl.nlp.gazetteer import reference_version
from etl.nlp.lexicon import Lexicon
from etl.nlp.model import load_pipeline, loaded_as, model_version, parse
from etl.records import Annotation, Event

Context = TypeVar("Context")
Text = tuple[str, date | None]  # a text to annotate and its publication date


def annotate_doc(doc: Doc, publication_date: date | None, lexicon: Lexicon) -> Annotation:
    """Entities, mentions and events of one parsed document; offsets are into `doc.text`."""
    entities, mentions = resolve_entities(doc)
    by_key = {entity.entity_key: entity for entity in entities}
    events = code_events(doc, mentions, by_key, publication_date, lexicon)
    return Annotation(entities=entities, mentions=mentions, events=tuple(events))


def annotate(
    nlp: Language,
    items: Iterable[tuple[str, date | None, Context]],
    lexicon: Lexicon,
    *,
    batch_size: int = 16,
    n_process: int = 1,
) -> Iterator[tuple[Annotation, Context]]:
    """Annotate `(text, publication_date, context)` items in order, streaming; the context is passed through.

    The one path from text to annotation: the flows and `newsetl annotate` both call it. `batch_size` texts
    are parsed at once (spaCy's working memory grows with it). With `n_process` > 1, batches are parsed *and*
    annotated in that many worker processes (an `Annotator`'s, for these items only).
    """
    if n_process == 1:
        docs = parse(nlp, ((text, (published, context)) for text, published, context in items), batch_size=batch_size)
        for doc, (published, context) in docs:
            yield annotate_doc(doc, published, lexicon), context
    else:
        with Annotator(loaded_as(nlp), lexicon, batch_size=batch_size, n_process=n_process) as annotator:
            yield from annotator.annotate(items)


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
        self._next: list[Text] = []  # queued by `queue_next`, not handed to the workers yet
        # Texts the workers were handed ahead of the call that will collect them: its batch's future, and where.
        self._ahead: dict[Text, tuple[Future[list[Annotation]], int]] = {}

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
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

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

    def annotate(self, items: Iterable[tuple[str, date | None, Context]]) -> Iterator[tuple[Annotation, Context]]:
        """As `annotate`: in order, streaming, contexts passed through."""
        if self.n_process == 1:
            nlp = load_pipeline(self.model_name)
            yield from annotate(nlp, items, self.lexicon, batch_size=self.batch_size)
            return
        ahead, self._ahead = self._ahead, {}
        # At most two batches per worker in flight, so the items are still streamed; each item's annotation is
        # the `index`th of its batch's `future`, handed to the workers by this call or ahead of it.
        in_flight: deque[list[tuple[Future[list[Annotation]], int, Context]]] = deque()
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
                for future, index, context in in_flight.popleft():
                    yield future.result()[index], context
        finally:
            for batch_slots in in_flight:
                for future, _, _ in batch_slots:
                    future.cancel()

    def _submitted(
        self, batch: list[tuple[str, date | None, Context]], ahead: dict[Text, tuple[Future[list[Annotation]], int]]
    ) -> list[tuple[Future[list[Annotation]], int, Context]]:
        """Each item's future and index: from `ahead` where it was handed over before, else from one new batch."""
        handed = [ahead.pop((text, published), None) for text, published, _ in batch]
        new = [(text, published) for (text, published, _), before in zip(batch, handed, strict=True) if not before]
        if new:
            future = self._workers().submit(_annotate_batch, new)
            positions = iter(range(len(new)))
            handed = [before or (future, next(positions)) for before in handed]
        return [(*before, context) for before, (_, _, context) in zip(handed, batch, strict=True)]

    def _hand_over_next(self, left_over: dict[Text, tuple[Future[list[Annotation]], int]]) -> None:
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
            future = self._workers().submit(_annotate_batch, batch)
            self._ahead.update((text, (future, index)) for index, text in enumerate(batch))

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = get_context("forkserver")
            context.set_forkserver_preload(["etl.nlp.annotate"])  # import spaCy and our modules once, in the server
            self._pool = ProcessPoolExecutor(
                self.n_process, mp_context=context, initializer=_start_worker, initargs=(self.model_name, self.lexicon)
            )
        return self._pool


# A worker process's model and lexicon, set once by `_start_worker` when it starts.
_worker_state: tuple[Language, Lexicon] | None = None


def _start_worker(model_name: str, lexicon: Lexicon) -> None:
    global _worker_state
    _worker_state = (load_pipeline(model_name), lexicon)


def _started() -> None:
    """A task that does nothing: submitting it makes the pool start a worker, which loads the model."""


def _annotate_batch(texts: list[tuple[str, date | None]]) -> list[Annotation]:
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
