"""Backfills: a range of publication dates split into chunks, and what a backfill would do (its dry run).

A backfill needs no bookkeeping of its own to resume. Loading files is idempotent (a file loaded before is
unchanged and skipped), and re-annotation takes only the articles still to do: those another pipeline version
annotated, or, when forced, those not updated since the first failed attempt of the same backfill began.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from etl.errors import InputError
from etl.input_files import plan_files
from etl.nlp.annotate import pipeline_version
from etl.records import DateRange
from etl.run_ledger import unfinished_run
from etl.settings import Settings
from etl.stored_articles import count_articles_in_range

FLOW = "backfill"


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    date_range: DateRange
    stored_articles: int  # already in the database, published in the chunk's range
    to_reannotate: int  # of those, the ones `--reprocess` would annotate again


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    """What a backfill would do, found without writing anything."""

    files_to_read: int  # new or changed in the input folder; only their articles in the range are loaded
    pipeline_version: str
    chunks: tuple[ChunkPlan, ...]
    resumes_run: int | None  # a forced backfill with these parameters that failed, which this one completes


def backfill_parameters(date_range: DateRange, reprocess: bool, force: bool) -> dict[str, Any]:
    """The parameters that identify a backfill in `runs`: a later backfill with the same ones resumes it."""
    return {
        "since": date_range.since.isoformat() if date_range.since else None,
        "until": date_range.until.isoformat() if date_range.until else None,
        "reprocess": reprocess,
        "force": force,
    }


def chunk_ranges(date_range: DateRange, days: int) -> tuple[DateRange, ...]:
    """Consecutive ranges of at most `days` days covering `date_range`; an open range is one chunk."""
    since, until = date_range.since, date_range.until
    if since is None or until is None:
        return (date_range,)
    chunks = []
    while since <= until:
        end = min(since + timedelta(days=days - 1), until)
        chunks.append(DateRange(since, end))
        since = end + timedelta(days=1)
    return tuple(chunks)


def forced_since_run(engine: Engine, date_range: DateRange, force: bool, run_id: int) -> int | None:
    """For a forced backfill, the run whose start divides done from to-do: the first failed attempt of the same
    backfill, or this run. None when not forced (then the pipeline version decides)."""
    if not force:
        return None
    resumed = unfinished_run(engine, FLOW, backfill_parameters(date_range, reprocess=True, force=True))
    return run_id if resumed is None else min(resumed, run_id)


def plan_backfill(
    engine: Engine, settings: Settings, date_range: DateRange, reprocess: bool, force: bool
) -> BackfillPlan:
    """Count what `backfill` would read and re-annotate, chunk by chunk, without writing anything."""
    version = pipeline_version(settings.spacy_model)
    resumed = unfinished_run(engine, FLOW, backfill_parameters(date_range, reprocess, force)) if force else None
    chunks = []
    for chunk in chunk_ranges(date_range, settings.backfill_chunk_days):
        stored = count_articles_in_range(engine, chunk.since, chunk.until)
        if not reprocess:
            to_reannotate = 0
        elif force:
            # Without a resumed run every stored article is redone: the new run's id is above them all.
            to_reannotate = (
                stored
                if resumed is None
                else count_articles_in_range(engine, chunk.since, chunk.until, updated_before_run=resumed)
            )
        else:
            to_reannotate = count_articles_in_range(engine, chunk.since, chunk.until, not_version=version)
        chunks.append(ChunkPlan(chunk, stored, to_reannotate))
    files = len(plan_files(engine, settings.input_dir).pending)
    return BackfillPlan(files, version, tuple(chunks), resumed)


def parse_day(name: str, value: date | str | None) -> date | None:
    """A date parameter as flows receive it: a date in-process, an ISO string from a deployment or the API."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name} {value!r} is not a date in the form YYYY-MM-DD") from None
