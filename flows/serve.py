"""Serving the nightly flow on a cron schedule with Prefect's own scheduler."""

from prefect.schedules import Cron

from flows.nightly import nightly

DEPLOYMENT = "newsetl-nightly"


def serve_nightly(cron: str, timezone: str, input_dir: str, db_url: str, retire_missing: bool = False) -> None:
    """Register the nightly flow as a deployment on `cron` (in `timezone`) and run its scheduled runs, each in
    a subprocess, until stopped (Ctrl-C or SIGTERM). Needs a Prefect server with its scheduler: PREFECT_API_URL."""
    nightly.serve(
        name=DEPLOYMENT,
        schedule=Cron(cron, timezone=timezone),
        parameters={"input_dir": input_dir, "db_url": db_url, "retire_missing": retire_missing},
        description="newsetl: load what is new or changed in the input folder",
        print_starting_message=False,
        # `progress` is an in-process callback, never a deployment parameter.
        enforce_parameter_schema=False,
    )
