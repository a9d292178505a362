"""The backfill flow: redo a range of publication dates, optionally re-annotating stored articles."""

from datetime import date

from prefect import flow

from etl.pipeline import DateRange, batches
from etl.records import RunCounts
from etl.settings import resolve_settings
from flows import tasks
from flows.runs import recorded_run


@flow(name="newsetl-backfill", persist_result=False)
def backfill(
    since: date | None = None,
    until: date | None = None,
    input_dir: str | None = None,
    db_url: str | None = None,
    reprocess: bool = False,
) -> RunCounts:
    """Load new and changed files whose articles fall in [since, until]; with `reprocess`, also re-annotate
    the stored articles of that range (after a model or lexicon upgrade), replacing their rows."""
    settings = resolve_settings(input_dir=input_dir, db_url=db_url)
    date_range = DateRange(since, until)
    engine = tasks.open_database(settings.db_url)
    parameters = {
        "since": str(since) if since else None,
        "until": str(until) if until else None,
        "input_dir": str(settings.input_dir),
        "db_url": engine.url.render_as_string(),
        "reprocess": reprocess,
    }
    with recorded_run(engine, "backfill", parameters) as (run_id, counts):
        plan = tasks.plan_files(engine, settings.input_dir)
        counts.skipped += plan.unchanged
        for batch in batches(plan.pending, settings.batch_size):
            counts.add(tasks.process_files(engine, run_id, batch, settings, date_range))
        if reprocess:
            counts.add(tasks.reprocess_articles(engine, run_id, date_range, settings))
    return counts
