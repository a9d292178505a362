"""Prefect tasks: each wraps one `etl.pipeline` or `etl.load` step; the I/O ones retry transient database errors.

Tasks pass engines and records in-process, so nothing is cached or persisted (cache_policy NONE): every run
recomputes, and idempotency comes from the database, not from Prefect's caches.
"""

from prefect import task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from prefect.tasks import Task

from etl import load, pipeline
from etl.errors import TransientDatabaseError


def _is_transient(_task: Task, _run: TaskRun, state: State) -> bool:
    """Retry only what a retry can fix: a busy, locked or briefly unreachable database."""
    return isinstance(state.result(raise_on_failure=False), TransientDatabaseError)


_database_task = task(
    cache_policy=NONE,
    persist_result=False,
    retries=3,
    retry_delay_seconds=[2, 5, 15],
    retry_condition_fn=_is_transient,
)

open_database = _database_task(pipeline.open_database, name="open-database")
start_run = _database_task(load.start_run, name="start-run")
fail_interrupted_runs = _database_task(load.fail_interrupted_runs, name="fail-interrupted-runs")
finish_run = _database_task(load.finish_run, name="finish-run")
plan_files = _database_task(pipeline.plan_files, name="plan-files")
process_files = _database_task(pipeline.process_files, name="process-files")
settle_missing_files = _database_task(pipeline.settle_missing_files, name="settle-missing-files")
reprocess_articles = _database_task(pipeline.reprocess_articles, name="reprocess-articles")
