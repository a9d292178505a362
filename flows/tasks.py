"""Prefect tasks: each wraps one `etl.pipeline`, `etl.run_ledger` or `etl.backfill` step and retries transient
database errors.

Tasks pass engines and records in-process, so nothing is cached or persisted (cache_policy NONE): every run
recomputes, and idempotency comes from the database, not from Prefect's caches. The retry delays are a setting,
so the tasks are made per run by `database_steps`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from prefect import task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from prefect.tasks import Task

from etl import backfill, database, input_files, pipeline, run_ledger
from etl.errors import TransientDatabaseError


def _is_transient(_task: Task, _run: TaskRun, state: State) -> bool:
    """Retry only what a retry can fix: a busy, locked or briefly unreachable database."""
    return isinstance(state.result(raise_on_failure=False), TransientDatabaseError)


@dataclass(frozen=True, slots=True)
class DatabaseSteps:
    """The pipeline's steps as Prefect tasks, named as in `etl.pipeline`, `etl.run_ledger` and `etl.backfill`."""

    open_database: Task[..., Any]
    fail_interrupted_runs: Task[..., Any]
    start_run: Task[..., Any]
    finish_run: Task[..., Any]
    plan_files: Task[..., Any]
    load_files: Task[..., Any]
    settle_missing_files: Task[..., Any]
    reprocess_articles: Task[..., Any]
    forced_since_run: Task[..., Any]


def _nothing() -> None:
    pass


def database_steps(retry_delays: Sequence[float], before_writing: Callable[[], None] = _nothing) -> DatabaseSteps:
    """The steps as tasks that retry a transient database error once per delay (in seconds), after that delay;
    any other error fails the task at once. Each attempt of a step that writes (in this process) first calls
    `before_writing`: a run passes its lock's `ensure_held`, so that no attempt writes without the run lock, not
    even the retry after a server restart, and an attempt that finds the lock taken by another run fails at once."""

    def step(function: Callable[..., Any], writes: bool = False) -> Task[..., Any]:
        if writes:
            function = _after(before_writing, function)
        return task(
            function,
            name=function.__name__.replace("_", "-"),
            cache_policy=NONE,
            persist_result=False,
            retries=len(retry_delays),
            retry_delay_seconds=list(retry_delays),
            retry_condition_fn=_is_transient,
        )

    return DatabaseSteps(
        open_database=step(database.open_database),
        fail_interrupted_runs=step(run_ledger.fail_interrupted_runs, writes=True),
        start_run=step(run_ledger.start_run, writes=True),
        finish_run=step(run_ledger.finish_run, writes=True),
        plan_files=step(input_files.plan_files),
        load_files=step(pipeline.load_files, writes=True),
        settle_missing_files=step(pipeline.settle_missing_files, writes=True),
        reprocess_articles=step(pipeline.reprocess_articles, writes=True),
        forced_since_run=step(backfill.forced_since_run),
    )


def _after(check: Callable[[], None], function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` called after `check`, with the same name and signature (Prefect reads its parameters from it)."""

    @wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        check()
        return function(*args, **kwargs)

    return checked
