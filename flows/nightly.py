"""The nightly flow: load what is new or changed in the input folder."""

from prefect import flow

from etl.nlp.annotate import Annotator
from etl.pipeline import Progress
from etl.records import RunCounts
from etl.settings import resolve_settings
from flows.runs import load_input_folder, recorded_run


# validate_parameters=False: `progress` is an in-process callback object, not a JSON parameter.
@flow(name="newsetl-nightly", persist_result=False, validate_parameters=False)
def nightly(
    input_dir: str | None = None,
    db_url: str | None = None,
    retire_missing: bool = False,
    progress: Progress | None = None,
    executor: str | None = None,
    dask_address: str | None = None,
    dask_workers: int | None = None,
    annotator: Annotator | None = None,
) -> RunCounts:
    """Incremental run: files unchanged since the last run are skipped without being read. Files gone from the
    input folder are counted as deleted and kept; with `retire_missing`, the articles only they held are deleted.
    With `executor` "dask", batches run on the Dask cluster at `dask_address`, or a local one of `dask_workers`;
    with the local one, `annotator` (an in-process object, like `progress`) annotates if given."""
    settings = resolve_settings(
        input_dir=input_dir,
        db_url=db_url,
        executor=executor,
        dask_address=dask_address,
        dask_workers=dask_workers,
    )
    with recorded_run(settings, "nightly", {"retire_missing": retire_missing}) as run:
        load_input_folder(run, progress=progress, retire_missing=retire_missing, annotator=annotator)
    return run.counts
