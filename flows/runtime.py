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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from etl.errors import NewsetlError


class PrefectServerError(NewsetlError):
    """The local Prefect server that `newsetl serve` needs did not start."""


def configure_prefect(data_dir: Path) -> None:
    """Set Prefect's defaults for newsetl runs (`prefect_settings`) in this process's environment."""
    os.environ.update(prefect_settings(data_dir))


def prefect_settings(data_dir: Path) -> dict[str, str]:
    """Prefect's settings for newsetl runs: its defaults, except where the user already set one in the environment."""
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
    return {name: os.environ.get(name, value) for name, value in defaults.items()}


@contextmanager
def local_prefect_server(prefect_home: Path, startup_timeout: float, *, serving: bool) -> Iterator[Callable[[], None]]:
    """Point `PREFECT_API_URL` at a Prefect server of this process's own (`prefect_server`) until the block exits,
    however it exits; call before Prefect is imported, which reads that setting once. Yields a function that waits
    until the server answers. With `PREFECT_API_URL` already set, that server is used and nothing is started.

    The server starts at once and in the background: for a run, while this process imports its modules and the
    annotation workers load the model.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield lambda: None
        return
    with prefect_server(prefect_home, serving=serving) as (api_url, server, log_path):
        os.environ["PREFECT_API_URL"] = api_url
        try:
            yield lambda: wait_until_healthy(api_url, startup_timeout, server, log_path)
        finally:
            try:
                _send_queued_logs()
            finally:
                del os.environ["PREFECT_API_URL"]


@contextmanager
def prefect_server(
    prefect_home: Path, *, serving: bool, settings: Mapping[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`prefect server start` on a free loopback port, its state under `prefect_home`, stopped when the block exits:
    yields its API URL, its process and its log. With `serving`, its UI and scheduler too (Prefect's temporary
    server, which it starts itself per process, runs no scheduler). `settings` are Prefect's for the server alone,
    over this process's environment."""
    port = free_loopback_port()
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--ui", "--scheduler"] if serving else ["--no-ui", "--no-scheduler", "--no-late-runs"]
    with _server(command, prefect_home, settings or {}) as (server, log_path):
        yield loopback_api_url(port), server, log_path


def _send_queued_logs() -> None:
    """Prefect's API log handler sends its records from a background queue, the last ones when the process exits:
    by then the server is gone, and "--- Error logging to API --- All connection attempts failed" would follow
    the command's own `Error:` line. They are sent now, while the server still answers."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)


@contextmanager
def _server(
    command: list[str], prefect_home: Path, settings: Mapping[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A server process with its state under `prefect_home` and its output in `server.log` there, stopped when
    the block exits, and by the kernel if this process dies without stopping it (killed)."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    log_path = prefect_home / "server.log"
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            command,
            env={**os.environ, **settings, "PREFECT_HOME": str(prefect_home.resolve())},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, which holds any process it starts too
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


def wait_until_healthy(
    api_url: str, timeout: float, server: subprocess.Popen[bytes] | None = None, log_path: Path | None = None
) -> None:
    """Wait until the Prefect server at `api_url` answers; fail early if `server`, its process, has exited."""
    log = f"; see {log_path}" if log_path else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise PrefectServerError(f"the Prefect server exited with status {server.returncode}{log}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    raise PrefectServerError(f"the Prefect server did not answer within {timeout:.0f} s{log}")


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
