"""The backfill flow: redo a range of publication dates, optionally re-annotating stored articles."""

from datetime import date

from prefect import flow

from etl.pipeline import DateRange, Progress
from etl.records import RunCounts
from etl.settings import resolve_settings
from flows.runs import load_input_folder, recorded_run


# validate_parameters=False: `progress` is an in-process callback object, not a JSON parameter.
@flow(name="newsetl-backfill", persist_result=False, validate_parameters=False)
def backfill(
    since: date | None = None,
    until: date | None = None,
    input_dir: str | None = None,
    db_url: str | None = None,
    reprocess: bool = False,
    progress: Progress | None = None,
) -> RunCounts:
    """Load new and changed files whose articles fall in [since, until]; with `reprocess`, also re-annotate
    the stored articles of that range (after a model or lexicon upgrade), replacing their rows."""
    settings = resolve_settings(input_dir=input_dir, db_url=db_url)
    date_range = DateRange(since, until)
    parameters = {
        "since": str(since) if since else None,
        "until": str(until) if until else None,
        "reprocess": reprocess,
    }
    with recorded_run(settings, "backfill", parameters) as run:
        load_input_folder(run, date_range, progress)
        if reprocess:
            run.counts.add(run.steps.reprocess_articles(run.engine, run.id, date_range, settings))
    return run.counts
