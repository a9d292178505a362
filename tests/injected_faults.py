"""Faults injected into annotation workers, for the tests: nothing in `etl/` carries a hook for them.

A test replaces `etl.nlp.workers._start_worker` with `start_faulty_worker` (by monkeypatch, or through `main` for a
`newsetl` subprocess). The pool pickles the initializer by name, so each worker imports this module (this folder is
on the path of the pytest process, and on PYTHONPATH for a subprocess) and runs it: the worker loads the model as
usual, then annotates with an `annotate_doc` that raises on a text holding `RAISE_MARK` and kills its own process
(SIGKILL, as the out-of-memory killer does) on one holding `KILL_MARK`. A Dask worker preloads it (`dask_setup`).
"""

import os
import signal
from datetime import date

from spacy.tokens import Doc

from etl.nlp import annotate, workers
from etl.nlp.lexicon import Lexicon
from etl.records import Annotation

RAISE_MARK = "Fault-Raise"
KILL_MARK = "Fault-Kill"

_start_worker = workers._start_worker
_annotate_doc = annotate.annotate_doc


def start_faulty_worker(model_name: str, lexicon: Lexicon) -> None:
    _start_worker(model_name, lexicon)
    annotate.annotate_doc = _faulty_annotate_doc


def _faulty_annotate_doc(doc: Doc, publication_date: date | None, lexicon: Lexicon) -> Annotation:
    if KILL_MARK in doc.text:
        os.kill(os.getpid(), signal.SIGKILL)
    if RAISE_MARK in doc.text:
        raise RuntimeError("injected fault")
    return _annotate_doc(doc, publication_date, lexicon)


def dask_setup(worker: object) -> None:
    """Dask's preload hook (`distributed.worker.preload: [injected_faults]`): a Dask worker annotates in its own
    process, with the faulty `annotate_doc`."""
    annotate.annotate_doc = _faulty_annotate_doc


def main() -> None:
    """`newsetl` with faulty annotation workers: `python -c "import injected_faults; injected_faults.main()" run …`."""
    from newsetl.cli import app

    workers._start_worker = start_faulty_worker
    app(prog_name="newsetl")
