"""Where an `Annotator` runs its batches in parallel: worker processes of this machine, or a Dask cluster's workers.

Either way a worker keeps the model loaded for as long as the annotator is open, is handed a batch of
`(text, publication_date)` pairs and returns the batch's outcomes (small frozen records, not spaCy Docs); a batch's
future raises the backend's `lost` error when a worker died holding it, and `alone` runs one text where it alone can
kill its worker, to find the text that does.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Protocol

from spacy.language import Language

from etl.errors import RejectedInput
from etl.nlp.annotate import Outcome, Text, annotate
from etl.nlp.lexicon import Lexicon
from etl.nlp.model import load_pipeline

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

# The reason a text is rejected for when each Dask worker that annotated it alone died.
DASK_WORKER_DIED = "annotation worker died: each Dask worker that ran it was lost (KilledWorker)"


class Workers(Protocol):
    """The workers an annotator hands its batches to."""

    @property
    def lost(self) -> type[BaseException]:
        """What a batch's future raises when a worker died holding it."""

    def count(self) -> int:
        """How many batches run at once."""

    def start(self) -> None:
        """Start the workers, each loading the model, without waiting for them."""

    def submit(self, texts: list[Text]) -> Future[list[Outcome]]:
        """The future of a batch's outcomes, in order."""

    def alone(self, text: Text) -> Outcome:
        """A text lost with a dead worker, annotated where only it can kill the worker; rejected if it does."""

    def close(self) -> None:
        """Stop the workers; they start again if used again."""


class ProcessWorkers:
    """`processes` worker processes of this machine, started on first use and kept until `close`. They come from a
    fork server, not a fork of this process: a flow runs Prefect's threads, and a child forked while another thread
    holds a lock (SQLite's, logging's) can hang for ever."""

    lost = BrokenProcessPool

    def __init__(self, model_name: str, lexicon: Lexicon, processes: int) -> None:
        self.model_name, self.lexicon, self.processes = model_name, lexicon, processes
        self._pool: ProcessPoolExecutor | None = None
        self._solo: ProcessPoolExecutor | None = None  # one worker, for texts retried alone after a worker died

    def count(self) -> int:
        return self.processes

    def start(self) -> None:
        workers = self._workers()
        for _ in range(self.processes):  # a pool starts a process per task submitted while none is idle
            workers.submit(_started)

    def submit(self, texts: list[Text]) -> Future[list[Outcome]]:
        """A pool a dead worker broke is replaced first."""
        try:
            return self._workers().submit(_annotate_batch, texts)
        except BrokenProcessPool:
            self._workers().shutdown(cancel_futures=True)
            self._pool = None
            return self._workers().submit(_annotate_batch, texts)

    def alone(self, text: Text) -> Outcome:
        """In a worker of its own: if that worker dies too, this text killed it, and it is rejected with how the
        worker ended; the next text alone gets a fresh worker."""
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

    def close(self) -> None:
        for pool in (self._pool, self._solo):
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        self._pool = self._solo = None

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = self._new_pool(self.processes)
        return self._pool

    def _new_pool(self, processes: int) -> ProcessPoolExecutor:
        context = get_context("forkserver")
        context.set_forkserver_preload(["etl.nlp.workers"])  # import spaCy and our modules once, in the server
        return ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start_worker, initargs=(self.model_name, self.lexicon)
        )


@dataclass(frozen=True, slots=True)
class DaskCluster:
    """The Dask cluster to annotate on: the running one whose scheduler is at `address`, or, without one, a local
    cluster of `workers` processes started for the annotator and stopped with it."""

    address: str | None = None
    workers: int = 2


class DaskWorkers:
    """The workers of a Dask cluster, one batch at a time each: a local cluster's are single-threaded processes
    (spaCy holds the GIL). Each worker process loads the model on its first batch (`load_pipeline` is cached per
    process) and gets the lexicon once. Dask runs a batch whose worker died again on another, and raises
    `KilledWorker` once `distributed.scheduler.allowed-failures` + 1 workers died running it."""

    def __init__(self, model_name: str, lexicon: Lexicon, cluster: DaskCluster) -> None:
        self.model_name, self.lexicon, self.cluster = model_name, lexicon, cluster
        self._local: LocalCluster | None = None
        self._client: Client | None = None
        self._executor: Executor | None = None
        self._lexicon: Any = None  # the lexicon as the result of a task on the cluster: a Dask future
        self._loading: list[Any] = []  # futures of `start`'s model loads, kept: Dask drops a task nobody holds

    @property
    def lost(self) -> type[BaseException]:
        from distributed import KilledWorker

        return KilledWorker

    def count(self) -> int:
        return max(1, sum(self._connected().nthreads().values()))

    def start(self) -> None:
        client = self._connected()
        self._loading = [  # each worker loads the model now, not on its first batch
            client.submit(_load_model, self.model_name, workers=[worker], allow_other_workers=False, pure=False)
            for worker in client.nthreads()
        ]

    def submit(self, texts: list[Text]) -> Future[list[Outcome]]:
        self._connected()
        assert self._executor is not None
        return self._executor.submit(_annotate_on_dask, self.model_name, self._lexicon, texts)

    def alone(self, text: Text) -> Outcome:
        """Run on its own: if each worker that runs it dies too, this text killed them, and it is rejected. A batch
        fails with the same `KilledWorker` when the lexicon it needs is lost (workers died while computing it again,
        after the ones holding it died): that is not the text's doing, so the lexicon is sent again and the text
        retried. Each retry takes another worker's death, so this does not spin; a cluster that never gets a worker
        back waits, as Dask does for any task."""
        while True:
            try:
                [outcome] = self.submit([text]).result()
            except self.lost as error:
                if error.task != self._lexicon.key:
                    return RejectedInput(DASK_WORKER_DIED)
                self._lexicon = self._sent_lexicon()
            else:
                return outcome

    def close(self) -> None:
        for resource in (self._client, self._local):
            if resource is not None:
                resource.close()
        self._client = self._local = self._executor = self._lexicon = None
        self._loading = []

    def _connected(self) -> Client:
        if self._client is None:
            from distributed import Client, LocalCluster  # here: importing Dask adds a second to a run's start-up

            if self.cluster.address is None:
                self._local = LocalCluster(n_workers=self.cluster.workers, threads_per_worker=1, processes=True)
            self._client = Client(self.cluster.address or self._local)
            self._executor = self._client.get_executor(pure=False)
            self._lexicon = self._sent_lexicon()
        return self._client

    def _sent_lexicon(self) -> Any:
        """The lexicon as a future on the cluster. Sent once, then copied from worker to worker. A task's result
        rather than scattered data: Dask computes it again when every worker holding it died (a text that kills each
        worker it runs on), where scattered data would be lost, and every batch after with it."""
        assert self._client is not None
        return self._client.submit(_returned, self.lexicon, pure=False)


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
    return annotated_batch(*_worker_state, texts)


def _returned(lexicon: Lexicon) -> Lexicon:
    return lexicon


def _load_model(model_name: str) -> None:
    load_pipeline(model_name)


def _annotate_on_dask(model_name: str, lexicon: Lexicon, texts: list[Text]) -> list[Outcome]:
    return annotated_batch(load_pipeline(model_name), lexicon, texts)


def annotated_batch(nlp: Language, lexicon: Lexicon, texts: list[Text]) -> list[Outcome]:
    """What a worker returns for a batch: each text's outcome, in order, parsed in one go."""
    items = ((text, published, None) for text, published in texts)
    return [outcome for outcome, _ in annotate(nlp, items, lexicon, batch_size=len(texts))]
