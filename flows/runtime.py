"""Prefect's (and Dask's) process settings, applied before Prefect is first imported, and a local Prefect server.

Prefect reads its settings when imported, so the CLI calls `configure_prefect` first: state under the data
folder rather than the home directory, no telemetry, and only warnings on stderr.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from etl.errors import NewsetlError


class PrefectServerError(NewsetlError):
    """The local Prefect server that `newsetl serve` needs did not start."""


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
        "DASK_LOGGING__DISTRIBUTED": "warning",  # the `dask` executor's cluster: no INFO line per worker start
        # The ephemeral server starts in a subprocess; on a busy 2-core machine it can miss the 20 s default.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


@contextmanager
def local_prefect_server(prefect_home: Path, port: int, startup_timeout: float = 120.0) -> Iterator[None]:
    """Run a Prefect server (API, scheduler and UI) on `port` of the loopback interface, with its state under
    `prefect_home`, until the block exits, however it exits; its API is at `loopback_api_url(port)`.

    Prefect's ephemeral server, started per process, runs no scheduler: scheduled runs need a lasting one.
    """
    api_url = loopback_api_url(port)
    prefect_home.mkdir(parents=True, exist_ok=True)
    log_path = prefect_home / "server.log"
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--ui"],
            env={**os.environ, "PREFECT_HOME": str(prefect_home.resolve())},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, which holds its uvicorn workers too
        )
    try:
        _wait_until_healthy(server, api_url, startup_timeout, log_path)
        yield
    finally:
        _stop(server)


def loopback_api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(server: subprocess.Popen[bytes], api_url: str, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise PrefectServerError(f"the Prefect server exited with status {server.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    raise PrefectServerError(f"the Prefect server did not answer within {timeout:.0f} s; see {log_path}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group: politely, then by force."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    with suppress(ProcessLookupError):  # workers the server left behind in its group
        os.killpg(server.pid, signal.SIGKILL)
