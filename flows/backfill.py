"""The backfill flow: redo a range of publication dates, optionally re-annotating stored articles chunk by chunk."""

from datetime import date

from prefect import flow, unmapped

from etl.backfill import backfill_parameters, chunk_ranges, parse_day
from etl.records import DateRange, RunCounts
from etl.settings import resolve_settings
from flows.runs import lent_to_run, load_input_folder, recorded_run


@flow(name="newsetl-backfill", persist_result=False)
def backfill(
    since: date | str | None = None,
    until: date | str | None = None,
    input_dir: str | None = None,
    db_url: str | None = None,
    reprocess: bool = False,
    force: bool = False,
) -> RunCounts:
    """Load new and changed files whose articles fall in [since, until] (ISO dates or dates); with `reprocess`,
    also re-annotate the stored articles of that range that an older pipeline version annotated, replacing their
    rows; with `force`, every one of them. Re-annotation runs in chunks of `backfill_chunk_days`, in parallel;
    a backfill run again after a failure does only what is left."""
    settings = resolve_settings(input_dir=input_dir, db_url=db_url)
    date_range = DateRange(parse_day("since", since), parse_day("until", until))
    reprocess = reprocess or force
    lent = lent_to_run()
    with recorded_run(settings, "backfill", backfill_parameters(date_range, reprocess, force)) as run:
        load_input_folder(run, date_range, lent.progress if lent else None)
        if reprocess:
            before = run.steps.forced_since_run(run.engine, date_range, force, run.id)
            chunks = chunk_ranges(date_range, settings.backfill_chunk_days)
            done = run.steps.reprocess_articles.map(
                unmapped(run.engine), unmapped(run.id), chunks, unmapped(settings), unmapped(before)
            )
            for counts in done.result():
                run.counts.add(counts)
    return run.counts
