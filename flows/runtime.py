"""Prefect's process settings, applied before Prefect is first imported.

Prefect reads its settings when imported, so the CLI calls `configure_prefect` first: state under the data
folder rather than the home directory, no telemetry, and only warnings on stderr.
"""

import os
from pathlib import Path


def configure_prefect(data_dir: Path) -> None:
    """Set Prefect's defaults for newsetl runs; values the user already set in the environment win."""
    prefect_home = (data_dir / "prefect").resolve()
    prefect_home.mkdir(parents=True, exist_ok=True)  # Prefect's server fails to open its database otherwise
    defaults = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
        "PREFECT_UI_ENABLED": "false",
        # The ephemeral server starts in a subprocess; on a busy 2-core machine it can miss the 20 s default.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
