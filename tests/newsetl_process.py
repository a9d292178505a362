"""`newsetl` started as a separate process, as a user or a scheduler starts it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

NEWSETL = Path(sys.executable).parent / "newsetl"


def cli_env(tmp_path: Path, prefect_api_url: str | None = None, **settings: str) -> dict[str, str]:
    """The environment of a `newsetl` process: no settings from this session, its data folder under `tmp_path`, one
    annotation process (no workers to start per run: the machine's cores are shared) and each of `settings` as its
    `NEWSETL_` variable. Pointed at `prefect_api_url` (the session's Prefect backend), a run does not start a Prefect
    server of its own (seconds each)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSETL_", "PREFECT_"))}
    env |= {"NEWSETL_DATA_DIR": str(tmp_path / "data"), "NEWSETL_N_PROCESS": "1", "COLUMNS": "120"}
    if prefect_api_url is not None:
        env["PREFECT_API_URL"] = prefect_api_url
    return env | {f"NEWSETL_{name.upper()}": value for name, value in settings.items()}
