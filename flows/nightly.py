"""The nightly flow: load what is new or changed in the input folder."""

from contextlib import nullcontext

from prefect import flow

from etl.records import RunCounts
from etl.run_start import nightly_if_idle, refuse_if_locked, started_annotator
from etl.settings import resolve_settings
from flows.runs import lent_to_run, load_input_folder, recorded_run


@flow(name="newsetl-nightly", persist_result=False)
def nightly(
    input_dir: str | None = None,
    db_url: str | None = None,
    retire_missing: bool = False,
    executor: str | None = None,
    dask_address: str | None = None,
    dask_workers: int | None = None,
) -> RunCounts:
    """Incremental run: files unchanged since the last run are skipped without being read. Files gone from the
    input folder are counted as deleted and kept; with `retire_missing`, the articles only they held are deleted.
    With `executor` "dask", articles are annotated on the Dask cluster at `dask_address`, or a local one of
    `dask_workers` processes.

    It starts as `etl.run_start` says: refused on a locked database, recorded at once when the folder is idle, the
    annotation workers started before the run's own steps. `newsetl run` takes those steps before it starts Prefect
    and lends the flow its started annotator and progress bar (`flows.launch.run_nightly`)."""
    settings = resolve_settings(
        input_dir=input_dir,
        db_url=db_url,
        executor=executor,
        dask_address=dask_address,
        dask_workers=dask_workers,
    )
    lent = lent_to_run()
    if lent is None:  # started by Prefect, or called as a function: its first steps are taken here
        refuse_if_locked(settings)
        if (idle := nightly_if_idle(settings, retire_missing)) is not None:
            return idle
    with (
        nullcontext(lent.annotator) if lent else started_annotator(settings) as annotator,
        recorded_run(settings, "nightly", {"retire_missing": retire_missing}) as run,
    ):
        progress = lent.progress if lent else None
        load_input_folder(run, progress=progress, retire_missing=retire_missing, annotator=annotator)
    return run.counts
