"""Prefect's (and Dask's) process settings, applied before Prefect is first imported, and local Prefect servers.

Prefect reads its settings when imported, so the CLI calls `configure_prefect` first: state under the data
folder rather than the home directory, no telemetry, and only warnings on stderr.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
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
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--ui"]
    with _server(command, {}, prefect_home) as (server, log_path):
        _wait_until_healthy(server, loopback_api_url(port), startup_timeout, log_path)
        yield


@contextmanager
def run_prefect_server(prefect_home: Path, startup_timeout: float = 120.0) -> Iterator[Callable[[], None]]:
    """For one run: start the server Prefect itself starts when no `PREFECT_API_URL` is set (its temporary
    server: the API and the services that record flow and task runs, no UI or scheduler), but at once and in the
    background, and point `PREFECT_API_URL` at it; call before Prefect is imported. Yields a function that waits
    until the server answers; the server stops when the block exits. With `PREFECT_API_URL` already set, that
    server is used and nothing is started.

    Prefect would start its server only when the flow is called, and wait for it (about 4 CPU seconds of imports
    and migrations); started here, it starts while this process imports its modules and the annotation workers
    load the model.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield lambda: None
        return
    port = free_loopback_port()
    api_url = loopback_api_url(port)
    # The command and settings of Prefect's SubprocessASGIServer (prefect/server/api/server.py), which its
    # `create_app` reads to run as an ephemeral server.
    command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]
    ephemeral = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    os.environ["PREFECT_API_URL"] = api_url
    try:
        with _server(command, ephemeral, prefect_home) as (server, log_path):
            yield lambda: _wait_until_healthy(server, api_url, startup_timeout, log_path)
    finally:
        del os.environ["PREFECT_API_URL"]


@contextmanager
def _server(
    command: list[str], env: dict[str, str], prefect_home: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A server process with its state under `prefect_home` and its output in `server.log` there, stopped when
    the block exits, and by the kernel if this process dies without stopping it (killed)."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    log_path = prefect_home / "server.log"
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            command,
            env={**os.environ, **env, "PREFECT_HOME": str(prefect_home.resolve())},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, which holds its uvicorn workers too
            preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
        )
    try:
        yield server, log_path
    finally:
        _stop(server)


def _stop_with_parent() -> None:
    """In the child, before exec: ask the kernel to send SIGTERM when the parent dies (Linux's PR_SET_PDEATHSIG)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


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
