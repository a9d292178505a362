"""Faults during a real `newsetl run`: repeated SIGKILLs while it loads, a full disk under SQLite, and a PostgreSQL
restart (which the run survives, taking its run lock again, or stops at once when another run took it meanwhile).
After each, `newsetl db check` passes and the next run leaves the rows of an uninterrupted run.

The runs are the real command in a subprocess, pointed at the session's Prefect backend so that none pays for a
Prefect server of its own.
"""

import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from newsetl_process import NEWSETL, cli_env  # tests/newsetl_process.py
from sqlalchemy import Boolean, Date, Float, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from etl.database import create_engine_for
from etl.errors import RunLocked
from etl.models import UTCDateTime
from etl.run_ledger import INTERRUPTED_ERROR
from etl.runlock import ADVISORY_LOCK_KEY, raise_if_locked
from flows.nightly import nightly
from newsetl.cli import app

if TYPE_CHECKING:
    from conftest import PostgresServer  # tests/conftest.py

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "articles"  # what `sample_db` loaded, uninterrupted

# Every stored row by its natural keys (no ids, no run ids): two databases holding the same data compare equal,
# whatever order and in how many runs it was written. Lists, not sets: a duplicated row shows.
SNAPSHOT_QUERIES = {
    "articles": "SELECT source_path, record_index, content_sha256, title, url, source, language, published_at, "
    "published_at_source, word_count, pipeline_version FROM articles",
    "article_sources": "SELECT s.source_path, s.record_index, a.content_sha256 FROM article_sources s "
    "JOIN articles a ON a.id = s.article_id",
    "entities": "SELECT entity_key, canonical_name, type, country, sector, kb_id, lat, lon FROM entities",
    "entity_aliases": "SELECT e.entity_key, x.alias FROM entity_aliases x JOIN entities e ON e.id = x.entity_id",
    "mentions": "SELECT a.content_sha256, m.start_char, m.end_char, m.text, m.label, m.sentence_index, e.entity_key "
    "FROM mentions m JOIN articles a ON a.id = m.article_id JOIN entities e ON e.id = m.entity_id",
    "events": "SELECT a.content_sha256, v.event_type, v.mode, v.trigger_start, v.trigger_end, v.trigger_text, "
    "v.sentence_index, v.event_date, v.date_text, l.entity_key, v.negated, v.hypothetical FROM events v "
    "JOIN articles a ON a.id = v.article_id LEFT JOIN entities l ON l.id = v.location_entity_id",
    "event_participants": "SELECT a.content_sha256, v.trigger_start, p.role, e.entity_key, p.text, p.start_char, "
    "p.end_char, p.country, p.sector FROM event_participants p JOIN events v ON v.id = p.event_id "
    "JOIN articles a ON a.id = v.article_id LEFT JOIN entities e ON e.id = p.entity_id",
    # Each cluster by its content and the first of its reports; each copy by its original.
    "event_clusters": "SELECT c.event_type, c.mode, c.event_date, c.first_seen_at, c.num_articles, c.num_sources, "
    "c.num_mentions, (SELECT min(a.content_sha256 || ':' || v.trigger_start) FROM events v "
    "JOIN articles a ON a.id = v.article_id WHERE v.cluster_id = c.id) FROM event_clusters c",
    "near_duplicates": "SELECT a.content_sha256, o.content_sha256 FROM articles a "
    "JOIN articles o ON o.id = a.near_duplicate_of",
    "source_files": "SELECT path, size, file_sha256, status FROM source_files",
    "rejected_files": "SELECT source_path, record_index, content_sha256, reason FROM rejected_files",
}

# Typed alike on both backends, so that a PostgreSQL database compares equal to a SQLite one.
SNAPSHOT_TYPES = {
    "published_at": UTCDateTime(),
    "first_seen_at": UTCDateTime(),
    "event_date": Date(),
    "negated": Boolean(),
    "hypothetical": Boolean(),
    "lat": Float(),
    "lon": Float(),
}

runner = CliRunner()


def snapshot(db_url: str, input_dir: Path = SEEDS) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (but `runs`) by natural keys, sorted; paths relative to `input_dir`, so that a copy of the
    sample articles compares equal to `sample_db`."""
    prefix = f"{input_dir.as_posix()}/"

    def relative(value: Any) -> Any:
        return value.replace(prefix, "") if isinstance(value, str) else value

    engine = create_engine_for(db_url)
    try:
        with engine.connect() as connection:
            return {
                table: sorted(
                    (tuple(map(relative, row)) for row in connection.execute(text(sql).columns(**SNAPSHOT_TYPES))),
                    key=repr,
                )
                for table, sql in SNAPSHOT_QUERIES.items()
            }
    finally:
        engine.dispose()


def runs(db_url: str) -> list[tuple[int, str, str | None]]:
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text("SELECT id, status, error FROM runs ORDER BY id"))]
    finally:
        engine.dispose()


def db_check(db_url: str) -> tuple[int, list[str]]:
    """`newsetl db check`: its exit code and the problems it lists."""
    result = runner.invoke(app, ["db", "check", "--db", db_url])
    lines = result.stdout.splitlines()
    return result.exit_code, [line for line in lines if line != "database is consistent"]


def start_run(input_dir: Path, db_url: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(NEWSETL), "run", "--input", str(input_dir), "--db", db_url],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, killed whole
    )


def _counts(db_url: str) -> tuple[int, int]:
    """(runs, source_files) committed so far; (0, 0) before the run created the schema. Read with the drivers
    themselves, read-only on SQLite, to stay out of the run's way."""
    queries = ("SELECT count(*) FROM runs", "SELECT count(*) FROM source_files")
    if db_url.startswith("sqlite"):
        try:
            connection = sqlite3.connect(f"file:{db_url.removeprefix('sqlite:///')}?mode=ro", uri=True, timeout=1)
            try:
                return tuple(connection.execute(query).fetchone()[0] for query in queries)
            finally:
                connection.close()
        except sqlite3.Error:
            return 0, 0
    try:
        with psycopg.connect(db_url.replace("+psycopg", ""), connect_timeout=5) as connection:
            return tuple(connection.execute(query).fetchone()[0] for query in queries)
    except psycopg.Error:
        return 0, 0


def _wait_until_the_lock_is_free(db_url: str) -> None:
    """On PostgreSQL a killed run's session ends when its server notices the client is gone, a moment after the
    kill; until then it holds the run lock, and `db check` would take its run for a live one."""
    engine = create_engine_for(db_url)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                raise_if_locked(engine)
                return
            except RunLocked:
                assert time.monotonic() < deadline, "the killed run's session still holds the lock after 30 s"
                time.sleep(0.1)
    finally:
        engine.dispose()


def _kill_during_load(
    run: subprocess.Popen[str], db_url: str, runs_before: int, commits: int, delay: float
) -> tuple[bool, int]:
    """SIGKILL the run's process group `delay` seconds after it committed its `commits`-th batch (0: after it wrote
    its `runs` row). (killed, files it had recorded); not killed when it finished first."""
    deadline = time.monotonic() + 180
    files_at_start = None
    while run.poll() is None:
        assert time.monotonic() < deadline, "the run did not reach its kill point in 3 minutes"
        run_rows, files = _counts(db_url)
        if run_rows > runs_before and files_at_start is None:
            files_at_start = files
        if files_at_start is not None and files - files_at_start >= commits * BATCH_SIZE:
            time.sleep(delay)
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate(timeout=60)
            return run.returncode == -signal.SIGKILL, _counts(db_url)[1]
        time.sleep(0.02)
    run.communicate(timeout=60)
    return False, _counts(db_url)[1]


KILLS = {"sqlite": 2, "postgresql": 2}  # each costs a `newsetl run` start-up
DOWN_SECONDS = 2
BATCH_SIZE = 2


@pytest.mark.slow
def test_faults_repeated_kills_during_load_lose_and_duplicate_nothing(
    sample_db: str, db_url: str, tmp_path: Path, prefect_api_url: str
) -> None:
    """`newsetl run` over the sample articles, SIGKILLed at random points while it loads, KILLS times; then a run
    that completes. Replay a failure with FAULTS_KILL_SEED=<the printed seed>."""
    seed = int(os.environ.get("FAULTS_KILL_SEED") or random.randrange(2**32))
    backend = db_url.split(":", 1)[0].split("+", 1)[0]
    print(f"{backend}: FAULTS_KILL_SEED={seed}")
    rng = random.Random(seed)
    env = cli_env(tmp_path, prefect_api_url, batch_size=str(BATCH_SIZE))

    kills: list[tuple[int, float, int]] = []  # (batches committed before, delay, files recorded after)
    while len(kills) < KILLS[backend]:
        commits, delay = rng.randint(0, 1), round(rng.uniform(0, 0.4), 2)
        run = start_run(SEEDS, db_url, env, tmp_path)
        killed, files = _kill_during_load(run, db_url, _counts(db_url)[0], commits, delay)
        assert killed, f"seed {seed}: the run finished before kill {len(kills) + 1} ({commits} batches + {delay} s)"
        kills.append((commits, delay, files))
        print(f"kill {len(kills)}: {commits} batches + {delay} s, {files} files recorded")
        if backend == "postgresql":
            _wait_until_the_lock_is_free(db_url)
        # The killed run is left `running`, the one problem the check must find; earlier ones were marked failed.
        *earlier, last = runs(db_url)
        assert last[1] == "running"
        assert all(row[1:] == ("failed", INTERRUPTED_ERROR) for row in earlier), f"seed {seed}: {earlier}"
        code, problems = db_check(db_url)
        assert (code, problems) == (
            1,
            [f"runs left running: run {last[0]} is marked running but its process is gone (the next run marks it "
             "failed)"],
        ), f"seed {seed}, kill {len(kills)}"  # fmt: skip

    # The run that completes the work: the flow in this process (a newsetl process costs about 10 CPU-seconds before
    # any work; the killed ones are the real command).
    nightly(input_dir=str(SEEDS), db_url=db_url)
    assert db_check(db_url) == (0, [])
    assert runs(db_url)[-1][1] == "completed"
    assert snapshot(db_url) == snapshot(sample_db), f"seed {seed}"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a tmpfs of its own, 4 MiB: a file system that really fills up, as the disk under a SQLite
    database does. Mounting needs root (CI runs as root); without it the test fails, as the PostgreSQL tests do
    without a server, rather than skip: a full disk is a fault newsetl claims to handle."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "newsetl-test", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def _fill(disk: Path, leave_bytes: int) -> Path:
    """Fill `disk` with one file until only about `leave_bytes` are free; delete the file to free the space."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    with filler.open("wb") as out:
        out.write(b"\0" * max(free - leave_bytes, 0))
    return filler


@pytest.mark.slow
def test_faults_a_full_disk_fails_the_run_clearly_and_the_next_run_completes_the_work(
    sample_db: str, tmp_path: Path, small_disk: Path, prefect_api_url: str
) -> None:
    """The SQLite database on a tmpfs that fills up while a run loads; Prefect's state (the data folder) is
    elsewhere, so only the database's writes meet the full disk. A tmpfs rather than SQLite's `PRAGMA max_page_count`
    or RLIMIT_FSIZE: the kernel refuses the write with ENOSPC as a real full disk does, for the WAL file as for the
    database, and the run's process is left as it is in production. The failing run is the real command, whose
    output is under test; the runs before and after it are the flow in this process (a `newsetl` process costs about
    10 CPU-seconds before any work)."""
    articles = tmp_path / "articles"
    articles.mkdir()
    for top_level in SEEDS.iterdir():  # the first run: the files directly in the folder, not the date folders
        if top_level.is_file():
            shutil.copy2(top_level, articles)
    db_url = f"sqlite:///{small_disk / 'newsetl.db'}"
    env = cli_env(tmp_path, prefect_api_url, batch_size="2")

    nightly(input_dir=str(articles), db_url=db_url)
    before = snapshot(db_url, articles)

    shutil.copytree(SEEDS, articles, dirs_exist_ok=True)  # the date folders: more to load than the disk holds
    filler = _fill(small_disk, leave_bytes=400_000)
    full = start_run(articles, db_url, env, tmp_path)
    _, stderr = full.communicate(timeout=300)
    assert full.returncode == 1, stderr
    assert "Traceback" not in stderr
    error_lines = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, stderr
    assert re.match(
        r"Error: \w[^:]+: the disk holding the database is full \(database or disk is full\); ", error_lines[0]
    )
    assert runs(db_url)[-1][1:] == ("failed", f"DiskFullError: {error_lines[0].removeprefix('Error: ')}")

    assert db_check(db_url) == (0, [])
    after_failure = snapshot(db_url, articles)
    for table, rows in before.items():  # everything committed before is still there
        assert set(rows) <= set(after_failure[table]), table
    # It filled up mid-run: the failing run had loaded some batches first, and they are kept too.
    assert len(after_failure["articles"]) > len(before["articles"]), "the disk was full before the run loaded"

    filler.unlink()
    assert nightly(input_dir=str(articles), db_url=db_url).loaded > 0
    assert db_check(db_url) == (0, [])
    assert snapshot(db_url, articles) == snapshot(sample_db)


def _files_recorded(postgres_url: str) -> int:
    """source_files rows committed so far; 0 before the run created the schema."""
    try:
        with psycopg.connect(postgres_url.replace("+psycopg", ""), connect_timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM source_files").fetchone()[0]
    except psycopg.Error:
        return 0


def _retried_tasks(db_url: str) -> list[str]:
    """The tasks of the latest flow run on `db_url` that ran more than once; the Prefect backend is the session's,
    shared with other tests' runs."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        latest = next(
            flow_run
            for flow_run in client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=200)
            if flow_run.parameters.get("db_url") == db_url
        )
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[latest.id])))
    return sorted(task.name for task in tasks if task.run_count > 1)


def _transaction_open(postgres_url: str) -> bool:
    """Whether a session other than this one is in a transaction."""
    with psycopg.connect(postgres_url.replace("+psycopg", ""), connect_timeout=5) as connection:
        return connection.execute(
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() "
            "AND state IN ('active', 'idle in transaction')"
        ).fetchone()[0]


def _restart_during_load(run: subprocess.Popen[str], server: "PostgresServer") -> None:
    """Once the run has committed two batches and the next one's transaction is open (it stays open while its
    articles are annotated), stop the server (`-m fast`), keep it down DOWN_SECONDS, and start it again."""
    deadline = time.monotonic() + 300
    while _files_recorded(server.url) < 4 or not _transaction_open(server.url):
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the run loaded nothing in 5 minutes"
        time.sleep(0.02)
    server.stop()
    time.sleep(DOWN_SECONDS)
    server.start()


def _run_lock_holder(postgres_url: str) -> int | None:
    """The server process of the session holding the run lock, None when it is free: read from pg_locks, without
    taking it (a probe that took it for a moment could make the run lose it)."""
    with psycopg.connect(postgres_url.replace("+psycopg", ""), connect_timeout=5) as connection:
        row = connection.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = %(key)s >> 32 AND objid::bigint = %(key)s & 4294967295",
            {"key": ADVISORY_LOCK_KEY},
        ).fetchone()
    return None if row is None else row[0]


def _assert_completed_as_uninterrupted(run: subprocess.Popen[str], stderr: str, db_url: str, sample_db: str) -> None:
    """The run exited 0 without a traceback, is the database's one completed run, and left it consistent with the
    rows of an uninterrupted run."""
    assert run.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert [status for _, status, _ in runs(db_url)] == ["completed"]
    assert db_check(db_url) == (0, [])
    assert snapshot(db_url) == snapshot(sample_db)


@pytest.mark.slow
@pytest.mark.postgres
def test_faults_a_postgresql_restart_during_a_run_is_retried_the_run_holds_its_lock_again_and_loses_nothing(
    sample_db: str, tmp_path: Path, own_postgres_server: "PostgresServer", prefect_api_url: str
) -> None:
    """The test's own PostgreSQL server stopped (`-m fast`: every connection cut, open transactions rolled back)
    while a run loads, down for DOWN_SECONDS (connections refused), then started again. The run retries the failed
    step on a fresh connection and completes. The restart drops the run lock with the run's session; the run takes
    it again on a new session before it writes again, so that a second run is refused while it goes on."""
    server, db_url = own_postgres_server, own_postgres_server.url
    env = cli_env(tmp_path, prefect_api_url, batch_size="2", retry_delays="[1, 2, 4, 8]")
    run = start_run(SEEDS, db_url, env, tmp_path)
    _restart_during_load(run, server)
    assert _run_lock_holder(db_url) is None  # the restart dropped it: until the run takes it again, none holds it
    deadline = time.monotonic() + 120
    while (holder := _run_lock_holder(db_url)) is None:
        assert run.poll() is None, f"the run ended without taking its lock again: {run.communicate()}"
        assert time.monotonic() < deadline, "the run did not take its lock again in 2 minutes"
        time.sleep(0.02)
    with psycopg.connect(db_url.replace("+psycopg", ""), connect_timeout=5) as other_run:
        refused = not other_run.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()[0]
    still_running = run.poll() is None
    files_then = _files_recorded(db_url)
    _, stderr = run.communicate(timeout=300)
    assert refused, "another session took the run lock after the restart"
    assert still_running, "the run had ended before the lock was tried"
    print(f"lock taken again by server process {holder}, with {files_then} of 40 files recorded")
    _assert_completed_as_uninterrupted(run, stderr, db_url, sample_db)
    retried = _retried_tasks(db_url)
    assert retried and all(name.startswith("load-files") for name in retried), retried


@pytest.mark.slow
@pytest.mark.postgres
def test_faults_a_run_whose_lock_another_run_took_during_a_postgresql_restart_stops_with_one_error_line(
    sample_db: str, tmp_path: Path, own_postgres_server: "PostgresServer", prefect_api_url: str
) -> None:
    """The server restarted as above, and the run lock taken by another session (the test's, standing for a second
    run) as soon as the server is up, before the run's next attempt (its retries wait 0.5 s, then 10 s): the run
    stops without writing, on one `Error:` line, exit 1. The next run completes the work, nothing duplicated."""
    server, db_url = own_postgres_server, own_postgres_server.url
    env = cli_env(tmp_path, prefect_api_url, batch_size="2", retry_delays="[0.5, 10]")
    run = start_run(SEEDS, db_url, env, tmp_path)
    _restart_during_load(run, server)
    with psycopg.connect(db_url.replace("+psycopg", ""), connect_timeout=5, autocommit=True) as other_run:
        assert other_run.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()[0], (
            "the run took its lock again before the other session"
        )
        files_then = _files_recorded(db_url)
        _, stderr = run.communicate(timeout=300)
        files_after = _files_recorded(db_url)
    assert run.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == (
        "Error: this run lost the run lock on this database (its session ended: the server restarted or the "
        "connection was cut), and another newsetl run took it; this run stopped and writes nothing more: the run "
        "holding the lock loads what is left"
    ), stderr
    assert len([line for line in stderr.splitlines() if line.startswith("Error:")]) == 1, stderr
    assert files_after == files_then  # nothing written while the other session held the lock
    print(f"stopped: exit 1, {files_then} of 40 files recorded at the restart, {files_after} at the end")
    assert [status for _, status, _ in runs(db_url)] == ["running"]  # its row is the next run's to close

    final = start_run(SEEDS, db_url, env, tmp_path)
    _, stderr = final.communicate(timeout=300)
    assert final.returncode == 0, stderr
    assert [row[1:] for row in runs(db_url)] == [("failed", INTERRUPTED_ERROR), ("completed", None)]
    assert db_check(db_url) == (0, [])
    assert snapshot(db_url) == snapshot(sample_db)


@pytest.mark.postgres
def test_faults_a_permanent_postgresql_error_fails_at_once_without_retries(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that does not exist on a server that is up: psycopg raises it as an OperationalError, as it does a
    refused connection, but no retry can help, so the run fails before the first retry delay would have ended."""
    from flows.nightly import nightly

    monkeypatch.setenv("NEWSETL_RETRY_DELAYS", "[60, 60, 60]")
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    started = time.monotonic()
    with pytest.raises(OperationalError, match='database "no_such_database" does not exist'):
        nightly(input_dir=str(tmp_path), db_url=missing)
    assert time.monotonic() - started < 60  # a retry would have waited 60 s first; a loaded machine is slow, not 60 s


@pytest.mark.slow
@pytest.mark.postgres
def test_faults_a_postgresql_server_down_or_refusing_is_one_error_line(
    tmp_path: Path, own_postgres_server: "PostgresServer", prefect_api_url: str
) -> None:
    """`newsetl run` against a database that does not exist (refused for good: no retry), then against a server
    that is down (retried, then given up): each ends on one `Error:` line naming what failed, with no traceback."""
    server = own_postgres_server
    env = cli_env(tmp_path, prefect_api_url, retry_delays="[0.5]")
    missing = start_run(tmp_path, server.url.rsplit("/", 1)[0] + "/no_such_database", env, tmp_path)
    _, stderr = missing.communicate(timeout=300)
    assert missing.returncode == 1 and "Traceback" not in stderr, stderr
    assert stderr.splitlines()[-1].startswith("Error: run failed: OperationalError: ")
    assert stderr.splitlines()[-1].endswith('database "no_such_database" does not exist')

    server.stop()
    down = start_run(tmp_path, server.url, env, tmp_path)
    _, stderr = down.communicate(timeout=300)
    assert down.returncode == 1 and "Traceback" not in stderr, stderr
    assert re.fullmatch(r"Error: upgrade the database: database busy or unreachable \(.*Connection refused.*\)",
                        stderr.splitlines()[-1]), stderr  # fmt: skip
