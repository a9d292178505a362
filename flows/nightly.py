"""The nightly flow: load what is new or changed in the input folder."""

from prefect import flow

from etl.pipeline import batches
from etl.records import RunCounts
from etl.settings import resolve_settings
from flows import tasks
from flows.runs import recorded_run


@flow(name="newsetl-nightly", persist_result=False)
def nightly(input_dir: str | None = None, db_url: str | None = None) -> RunCounts:
    """Incremental run: files unchanged since the last run are skipped without being read."""
    settings = resolve_settings(input_dir=input_dir, db_url=db_url)
    engine = tasks.open_database(settings.db_url)
    parameters = {"input_dir": str(settings.input_dir), "db_url": engine.url.render_as_string()}
    with recorded_run(engine, "nightly", parameters) as (run_id, counts):
        plan = tasks.plan_files(engine, settings.input_dir)
        counts.skipped += plan.unchanged
        for batch in batches(plan.pending, settings.batch_size):
            counts.add(tasks.process_files(engine, run_id, batch, settings))
    return counts
