"""Shared fixtures: for the session a real PostgreSQL 15 server, a throwaway Prefect backend and the sample
database, and a fresh database per test per backend.

The server starts once, on first use by a `postgres`-marked test, so `pytest -m "not postgres"` never starts
it. PostgreSQL refuses to run as root; as root its data folder is handed to the `postgres` user.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from etl.database import create_engine_for, upgrade
from flows.runtime import configure_prefect, free_loopback_port, prefect_server, prefect_settings, wait_until_healthy

# Flows a test runs in its own process annotate there, with the model its pytest worker loaded once, rather than in
# annotation workers that each load the model again for every run: on 2 cores those start-ups were much of the
# suite's time. The tests of the worker path set NEWSETL_N_PROCESS themselves.
os.environ.setdefault("NEWSETL_N_PROCESS", "1")

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_SYSTEM_USER = "postgres"


def _run_as_server_user(args: list[str], cwd: Path) -> None:
    command = ["runuser", "-u", POSTGRES_SYSTEM_USER, "--", *args] if os.geteuid() == 0 else args
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({completed.returncode}):\n{completed.stderr}")


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """A throwaway PostgreSQL 15 server on 127.0.0.1, run by `postgres_server`; it can be restarted."""

    root: Path
    port: int

    @property
    def options(self) -> str:
        return (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """URL of its `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.pg_ctl("-o", self.options, "-w", "start")

    def stop(self) -> None:
        """Stop the server in `fast` mode: open transactions are rolled back and every connection is closed."""
        self.pg_ctl("-m", "fast", "-w", "stop")

    def pg_ctl(self, *args: str) -> None:
        """Run `pg_ctl` on this server's data folder, as the server's user."""
        _run_as_server_user(
            [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "server.log"), *args],
            cwd=self.root,
        )


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Initialise and start a throwaway PostgreSQL 15 server listening on 127.0.0.1; stop and delete it at the end.
    Fails (does not skip) when the server binaries are missing."""
    if not (POSTGRES_BIN / "initdb").exists():
        pytest.fail(
            f"PostgreSQL 15 server binaries not found in {POSTGRES_BIN}: "
            "install them (apt-get install postgresql-15) to run the postgres-marked tests"
        )
    root = Path(tempfile.mkdtemp(prefix="newsetl-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(root, user=POSTGRES_SYSTEM_USER)
    server = PostgresServer(root, free_loopback_port())
    try:
        _run_as_server_user(
            [str(POSTGRES_BIN / "initdb"), "-D", str(server.data_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8",
             "--no-sync", "--no-instructions"],
            cwd=root,
        )  # fmt: skip
        server.start()
        yield server
    finally:
        if (server.data_dir / "postmaster.pid").exists():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the `postgres` database on a throwaway PostgreSQL 15 server listening on 127.0.0.1."""
    with postgres_server() as server:
        yield server.url


@pytest.fixture
def own_postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, which it may stop or restart (the session's server is shared)."""
    with postgres_server() as server:
        yield server


# Under pytest-xdist the controller starts one Prefect server for all its workers, which find its URL here: each
# server start costs about 20 CPU-seconds (Prefect's imports and its database's migrations) on 2 shared cores.
SHARED_PREFECT_API_URL = "TESTS_SHARED_PREFECT_API_URL"


def pytest_configure(config: pytest.Config) -> None:
    """In pytest-xdist's controller, start the workers' Prefect server: in the background, while they start."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        servers = ExitStack()
        data_dir = Path(tempfile.mkdtemp(prefix="newsetl-tests-"))
        servers.callback(shutil.rmtree, data_dir, ignore_errors=True)
        # The server's settings (no telemetry, no UI, warnings only) are its alone: each worker configures Prefect
        # for a data folder of its own.
        settings = prefect_settings(data_dir)
        api_url, _, _ = servers.enter_context(
            prefect_server(Path(settings["PREFECT_HOME"]), serving=False, settings=settings)
        )
        os.environ[SHARED_PREFECT_API_URL] = api_url
        config.add_cleanup(servers.close)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests that start processes, servers or flows first, then the in-process NLP cases, the fast tests last:
    pytest-xdist hands tests out in this order, so short ones fill the workers' last minutes rather than one worker
    finishing a long test alone (longest first, the classic rule for a short makespan). Each kind keeps its order."""
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, item.path.parent.name == "nlp"))


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One throwaway Prefect backend for every test that runs a flow: the server the xdist controller started, or
    else Prefect's test harness (its testing guide)."""
    configure_prefect(tmp_path_factory.mktemp("prefect-data"))
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    startup_timeout = int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
    if api_url := os.environ.get(SHARED_PREFECT_API_URL):
        wait_until_healthy(api_url, startup_timeout)
        with temporary_settings({PREFECT_API_URL: api_url}):
            yield
        return
    # The harness's own 30 s start-up timeout is missed on a busy 2-core machine; newsetl's runs wait as long as this.
    with prefect_test_harness(server_startup_timeout=startup_timeout):
        yield


@pytest.fixture(scope="session")
def prefect_api_url(prefect_harness: None) -> str:
    """The API of the session's Prefect backend, for `newsetl` run as a subprocess: pointed at it, a run does not
    start a Prefect server of its own (seconds each, many times over)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> str:
    """A SQLite database with `seeds/articles` loaded by the nightly flow, as `make run` does; for the tests that only
    read it. Loaded once for the whole session: the first pytest-xdist worker to ask loads it while the others wait."""
    from flows.nightly import nightly

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base  # the workers' common folder
    database, loaded = shared / "sample" / "newsetl.db", shared / "sample" / "loaded"
    database.parent.mkdir(exist_ok=True)
    with (shared / "sample.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not loaded.exists():  # none yet, or a worker failed to load it: loaded again, idempotently
            nightly(
                input_dir=str(Path(__file__).resolve().parents[1] / "seeds" / "articles"),
                db_url=f"sqlite:///{database}",
            )
            loaded.touch()
    return f"sqlite:///{database}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsetl.db'}"
        return
    with _postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@pytest.fixture
def second_db_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Another fresh, empty database on the same backend as `db_url`, for a test that compares two runs."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    with _postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@contextmanager
def _postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped when the block ends."""
    admin_url = server_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield server_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database already migrated to the newest schema."""
    migrated = create_engine_for(db_url)
    upgrade(migrated)
    yield migrated
    migrated.dispose()
