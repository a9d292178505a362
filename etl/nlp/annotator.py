"""A run's annotator: one model and lexicon for all its batches, annotated in this process or in parallel by the
workers of `etl.nlp.workers` (processes of this machine, or a Dask cluster's), which it hands texts ahead of the call
that collects them and whose losses it survives."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from datetime import date
from itertools import islice

from etl.nlp.annotate import Context, Outcome, Text, annotate, pipeline_version
from etl.nlp.lexicon import Lexicon
from etl.nlp.model import load_pipeline
from etl.nlp.workers import DaskCluster, DaskWorkers, ProcessWorkers, Workers


class Annotator:
    """`annotate` with one model and lexicon for as long as it is open: a run keeps one for all its batches.

    With `n_process` 1 and no `cluster` it annotates in this process. Otherwise it parses *and* annotates on workers:
    `n_process` processes of this machine, or the workers of the Dask `cluster`, started on first use (or `start`)
    and kept until `close`, so that each loads the model once per run, not once per batch; this process, which need
    not load the model at all, reads, cleans and loads meanwhile. spaCy's own `nlp.pipe(n_process=…)` would parse in
    workers but send each Doc back to be annotated here, leaving this process the bottleneck; a worker instead
    returns the batch's `Annotation`s, small frozen records; the contexts never leave this process. Not for use by
    two threads at once (backfill chunks each open their own).

    A caller that knows what it will ask for next says so with `queue_next`: the workers start on those texts as
    soon as the current call has handed them its own, so they do not wait while this process loads one batch
    of files and reads the next.
    """

    def __init__(
        self,
        model_name: str,
        lexicon: Lexicon,
        *,
        batch_size: int = 16,
        n_process: int = 1,
        cluster: DaskCluster | None = None,
    ) -> None:
        self.model_name, self.lexicon, self.batch_size = model_name, lexicon, batch_size
        self.version = pipeline_version(model_name)
        self._workers: Workers | None = None
        if cluster is not None:
            self._workers = DaskWorkers(model_name, lexicon, cluster)
        elif n_process > 1:
            self._workers = ProcessWorkers(model_name, lexicon, n_process)
        self._next: list[Text] = []  # queued by `queue_next`, not handed to the workers yet
        # Texts the workers were handed ahead of the call that will collect them: its batch's future, and where.
        self._ahead: dict[Text, tuple[Future[list[Outcome]], int]] = {}

    @property
    def parallel(self) -> bool:
        """Whether workers annotate (and texts can be handed to them ahead), rather than this process."""
        return self._workers is not None

    def __enter__(self) -> Annotator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers now, each loading the model, without waiting for them: a run calls this before its
        orchestrator starts, so that the two start-ups overlap. In one process there is none to start."""
        if self._workers is not None:
            self._workers.start()

    def close(self) -> None:
        """Stop the workers, if any started; the annotator starts new ones if used again."""
        self._next, self._ahead = [], {}
        if self._workers is not None:
            self._workers.close()

    def queue_next(self, texts: Iterable[Text]) -> None:
        """`(text, publication_date)` pairs the `annotate` call after the next one will be given (the next one may
        be running): handed to the workers once that call has handed them its own items, and their annotations
        kept for the call after it, which collects those it is given and drops the rest. In one process, nothing
        runs ahead: this does nothing."""
        if self._workers is not None:
            self._next = list(dict.fromkeys(texts))

    def annotate_ahead(self, texts: Iterable[Text]) -> None:
        """Hand `(text, publication_date)` pairs to the workers now, for the next `annotate` call to collect those
        it is given: what a run knows it will ask for before it can start asking. In one process: nothing."""
        if self._workers is not None:
            self._hand_over(list(dict.fromkeys(texts)))

    def annotate(self, items: Iterable[tuple[str, date | None, Context]]) -> Iterator[tuple[Outcome, Context]]:
        """As `annotate`: in order, streaming, contexts passed through. A worker that dies (killed, out of memory,
        crashed) costs only the texts it held: each text of a batch lost with it is retried alone (`Workers.alone`),
        which finds the one that kills its worker; that one is rejected, the others are annotated."""
        workers = self._workers
        if workers is None:
            nlp = load_pipeline(self.model_name)
            yield from annotate(nlp, items, self.lexicon, batch_size=self.batch_size)
            return
        ahead, self._ahead = self._ahead, {}
        most_in_flight = 2 * workers.count()
        # At most two batches per worker in flight, so the items are still streamed; each item's annotation is
        # the `index`th of its batch's `future`, handed to the workers by this call or ahead of it.
        in_flight: deque[list[tuple[Future[list[Outcome]], int, Text, Context]]] = deque()
        batch_iter = iter(items)
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < most_in_flight:
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
                    except workers.lost:  # its batch, or another, killed a worker
                        outcome = workers.alone(text)
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
            future = self._workers.submit(new)
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
            future = self._workers.submit(batch)
            self._ahead.update((text, (future, index)) for index, text in enumerate(batch))
