"""Serving the nightly flow on a cron schedule with Prefect's own scheduler."""

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.nightly import nightly

DEPLOYMENT = "newsetl-nightly"


def nightly_deployment(
    cron: str, timezone: str, input_dir: str, db_url: str, retire_missing: bool = False
) -> RunnerDeployment:
    """The nightly flow as `serve_nightly` deploys it: on `cron` (in `timezone`), over `input_dir` and `db_url`."""
    return nightly.to_deployment(
        name=DEPLOYMENT,
        schedule=Cron(cron, timezone=timezone),
        parameters={"input_dir": input_dir, "db_url": db_url, "retire_missing": retire_missing},
        description="newsetl: load what is new or changed in the input folder",
    )


def serve_nightly(cron: str, timezone: str, input_dir: str, db_url: str, retire_missing: bool = False) -> None:
    """Register the nightly flow as a deployment on `cron` (in `timezone`) and run its scheduled runs, each in
    a subprocess, until stopped (Ctrl-C or SIGTERM). Needs a Prefect server with its scheduler: PREFECT_API_URL."""
    from prefect import serve

    serve(nightly_deployment(cron, timezone, input_dir, db_url, retire_missing), print_starting_message=False)
