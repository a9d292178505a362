"""The `newsetl` command: exit codes, output and exact error lines, on real SQLite files and PostgreSQL."""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from newsetl_process import NEWSETL, cli_env  # tests/newsetl_process.py
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from etl.database import head_revision
from etl.file_ledger import record_rejection
from etl.models import RejectedFileRow
from etl.nlp import annotate as nlp_annotate
from etl.nlp.confidence import MIN_CONFIDENCE
from etl.records import Rejection
from etl.run_ledger import start_run
from newsetl.cli import app

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds" / "articles"
REJECTED_SQL = "SELECT source_path, reason FROM rejected_files ORDER BY source_path"

runner = CliRunner()


@pytest.fixture
def rejections(engine: Engine) -> Engine:
    """A migrated database holding one run and two rejected files: enough rows to query."""
    run_id = start_run(engine, "nightly", {"input_dir": "articles"})
    record_rejection(engine, run_id, Rejection("/in/empty.txt", "empty file"))
    record_rejection(engine, run_id, Rejection("/in/notes.pdf", "unsupported file type '.pdf'"))
    return engine


def _db_arg(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _rejected_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(RejectedFileRow)).scalar_one()


@pytest.mark.parametrize("command", [[], ["run"], ["backfill"], ["annotate"], ["query"], ["db"], ["db", "upgrade"]])
def test_cli_help_ends_with_an_example(command: list[str]):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_cli_run_on_a_missing_folder_is_one_error_line(tmp_path: Path):
    missing = tmp_path / "does" / "not" / "exist"
    command = [str(NEWSETL), "run", "--input", str(missing), "--db", f"sqlite:///{tmp_path / 'news.db'}"]
    result = subprocess.run(command, cwd=tmp_path, env=cli_env(tmp_path), capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"Error: input folder does not exist: {missing}"]
    assert result.stdout == ""
    assert not (tmp_path / "news.db").exists()


def test_cli_query_prints_a_table(rejections: Engine):
    result = runner.invoke(app, ["query", REJECTED_SQL, "--db", _db_arg(rejections)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "source_path" in lines[1] and "reason" in lines[1]
    assert [line for line in lines if "/in/" in line] == [
        next(line for line in lines if "/in/empty.txt" in line and "empty file" in line),
        next(line for line in lines if "/in/notes.pdf" in line and "unsupported file type '.pdf'" in line),
    ]


def test_cli_query_csv_and_json(rejections: Engine):
    as_csv = runner.invoke(app, ["query", REJECTED_SQL, "--format", "csv", "--db", _db_arg(rejections)])
    assert as_csv.exit_code == 0, as_csv.output
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["source_path", "reason"],
        ["/in/empty.txt", "empty file"],
        ["/in/notes.pdf", "unsupported file type '.pdf'"],
    ]
    as_json = runner.invoke(app, ["query", REJECTED_SQL, "--format", "json", "--db", _db_arg(rejections)])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == [
        {"source_path": "/in/empty.txt", "reason": "empty file"},
        {"source_path": "/in/notes.pdf", "reason": "unsupported file type '.pdf'"},
    ]


@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
def test_cli_query_output_file(rejections: Engine, tmp_path: Path, output_format: str):
    target = tmp_path / f"rejected.{output_format}"
    args = ["query", REJECTED_SQL, "--format", output_format, "--output", str(target), "--db", _db_arg(rejections)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    written = target.read_text(encoding="utf-8")
    assert "/in/empty.txt" in written and "unsupported file type '.pdf'" in written


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM rejected_files",
        "CREATE TABLE x(a int)",
        "INSERT INTO rejected_files (run_id, source_path, record_index, reason, rejected_at)"
        " SELECT run_id, source_path, record_index, reason, rejected_at FROM rejected_files",
    ],
)
def test_cli_query_refuses_writes(rejections: Engine, sql: str):
    result = runner.invoke(app, ["query", sql, "--db", _db_arg(rejections)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: query refused: `newsetl query` is read-only (")
    assert len(result.stderr.splitlines()) == 1
    assert _rejected_count(rejections) == 2


def test_cli_query_runs_one_statement_at_a_time(rejections: Engine):
    result = runner.invoke(app, ["query", "SELECT 1; DELETE FROM rejected_files", "--db", _db_arg(rejections)])
    assert result.exit_code == 1
    assert result.stderr == "Error: query refused: `newsetl query` runs one statement at a time\n"
    assert _rejected_count(rejections) == 2


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_cli_query_cannot_leave_the_read_only_transaction_on_postgres(rejections: Engine):
    # Sent as one simple query, this string would open a read-write transaction and commit the delete.
    sql = "SET TRANSACTION READ WRITE; DELETE FROM rejected_files; COMMIT"
    result = runner.invoke(app, ["query", sql, "--db", _db_arg(rejections)])
    assert result.exit_code == 1
    assert result.stderr == "Error: query refused: `newsetl query` runs one statement at a time\n"
    assert _rejected_count(rejections) == 2


def test_cli_query_reports_bad_sql(rejections: Engine):
    result = runner.invoke(app, ["query", "SELEC * FROM rejected_files", "--db", _db_arg(rejections)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: query failed: ")
    assert "SELEC" in result.stderr and len(result.stderr.splitlines()) == 1


def test_cli_query_on_a_missing_sqlite_file_says_so(tmp_path: Path):
    missing = tmp_path / "nothing-here.db"
    result = runner.invoke(app, ["query", "SELECT 1", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: database file {missing} does not exist: run `newsetl run` to create it\n"
    assert not missing.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user@localhost/newsetl", "database URL 'mysql://user@localhost/newsetl' is not supported"),
        ("not a url", "database URL 'not a url' is not a SQLAlchemy URL"),
    ],
)
def test_cli_query_on_a_database_url_newsetl_does_not_support_is_one_error_line(url: str, message: str):
    """`query` parses its URL as every command does (etl.database.parse_url)."""
    result = runner.invoke(app, ["query", "SELECT 1", "--db", url])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {message}")
    assert len(result.stderr.splitlines()) == 1


# /proc refuses new files even to root, for whom a folder's permissions would not.
UNWRITABLE_DB = "/proc/newsetl-test.db"


def test_cli_run_on_a_database_in_an_unwritable_folder_is_one_error_line(tmp_path: Path):
    command = [str(NEWSETL), "run", "--input", str(SEEDS), "--db", f"sqlite:///{UNWRITABLE_DB}"]
    result = subprocess.run(command, cwd=tmp_path, env=cli_env(tmp_path), capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: cannot create the run lock file {UNWRITABLE_DB}.lock (No such file or directory): the database's "
        "folder must be writable"
    ]


def test_cli_db_upgrade_on_a_database_in_an_unwritable_folder_is_one_error_line():
    result = runner.invoke(app, ["db", "upgrade", "--db", f"sqlite:///{UNWRITABLE_DB}"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: upgrade the database: cannot open the SQLite database file (unable to open database file): its path "
        "must name a file, or none yet, in a folder this process can write\n"
    )


def test_cli_db_upgrade_creates_the_schema(tmp_path: Path):
    database = tmp_path / "fresh.db"
    result = runner.invoke(app, ["db", "upgrade", "--db", f"sqlite:///{database}"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"database at revision {head_revision()}")
    tables = runner.invoke(
        app,
        [
            "query",
            "SELECT name FROM sqlite_master WHERE type = 'table'",
            "--format",
            "csv",
            "--db",
            f"sqlite:///{database}",
        ],
    )
    assert {"runs", "articles", "entities", "events", "rejected_files"} <= set(tables.stdout.split())


def test_cli_backfill_with_since_after_until_is_refused(tmp_path: Path):
    database = tmp_path / "news.db"
    args = ["backfill", "--since", "2022-11-10", "--until", "2022-11-01", "--db", f"sqlite:///{database}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr == "Error: --since 2022-11-10 is after --until 2022-11-01\n"
    assert not database.exists()


@pytest.mark.slow
def test_cli_annotate_writes_one_line_per_valid_input_and_names_the_bad_line():
    texts = {
        "kherson": "Russian forces shelled Kherson on Wednesday, the Ukrainian army said.",
        "denial": "Russia did not attack Poland, President Andrzej Duda said on Wednesday.",
    }
    stdin = "\n".join(
        [
            json.dumps({"id": "kherson", "text": texts["kherson"], "published_at": "2022-11-11"}),
            '{"id": "cut", "text": "Ukraine withdrew',
            json.dumps({"id": "denial", "text": texts["denial"]}),
        ]
    )
    result = runner.invoke(app, ["annotate"], input=stdin)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: stdin line 2: invalid JSON: Unterminated string starting at (column 23)"
    ]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["kherson", "denial"]
    for line in lines:
        text = texts[line["id"]]
        assert line["entities"] and line["events"]
        for entity in line["entities"]:
            assert text[entity["start"] : entity["end"]] == entity["text"]
        for event in line["events"]:
            assert {"type", "mode", "trigger", "actors", "recipients", "location", "date", "negated"} <= event.keys()
            assert 0 <= event["confidence"] <= 1 and event["is_background"] is False
            assert text[event["trigger"]["start"] : event["trigger"]["end"]] == event["trigger"]["text"]
            for participant in event["actors"] + event["recipients"]:
                assert text[participant["start"] : participant["end"]] == participant["text"]
    kherson, denial = lines
    shelling = next(event for event in kherson["events"] if event["trigger"]["text"] == "shelled")
    assert shelling["type"] == "ASSAULT" and not shelling["negated"]
    assert shelling["date"] == "2022-11-09"  # the Wednesday before Friday 11 November
    assert any(actor["text"].endswith("forces") for actor in shelling["actors"])
    attack = next(event for event in denial["events"] if event["trigger"]["text"] == "attack")
    assert attack["negated"] and attack["type"] == "ASSAULT"
    assert attack["confidence"] < MIN_CONFIDENCE <= shelling["confidence"]


@pytest.mark.slow
def test_cli_annotate_parses_nlp_batch_size_texts_at_once(monkeypatch: pytest.MonkeyPatch):
    # NEWSETL_BATCH_SIZE counts files per task, not texts per spaCy batch.
    real_annotate = nlp_annotate.annotate
    batch_sizes: list[int] = []

    def recording_annotate(*args: Any, batch_size: int, **kwargs: Any) -> Any:
        batch_sizes.append(batch_size)
        return real_annotate(*args, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(nlp_annotate, "annotate", recording_annotate)
    stdin = json.dumps({"id": 1, "text": "Russia withdrew its troops from Kherson."})
    env = {"NEWSETL_BATCH_SIZE": "3", "NEWSETL_NLP_BATCH_SIZE": "7"}
    result = runner.invoke(app, ["annotate"], input=stdin, env=env)
    assert result.exit_code == 0, result.output
    assert batch_sizes == [7] and json.loads(result.stdout)["id"] == 1


def test_cli_version_is_the_installed_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"newsetl {importlib.metadata.version('newsetl')}\n"


@pytest.mark.slow
def test_cli_annotate_a_text_that_fails_is_named_and_the_others_are_annotated(monkeypatch: pytest.MonkeyPatch):
    import etl.nlp.annotate

    code_events = etl.nlp.annotate.code_events

    def failing(doc, *args):
        if "Odesa" in doc.text:
            raise ZeroDivisionError("division by zero")
        return code_events(doc, *args)

    monkeypatch.setattr(etl.nlp.annotate, "code_events", failing)
    texts = ["Russian forces shelled Kherson.", "Drones struck Odesa.", "Serbia recalled its envoy."]
    stdin = "\n".join(json.dumps({"id": number, "text": text}) for number, text in enumerate(texts))

    result = runner.invoke(app, ["annotate"], input=stdin)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: stdin id 1: event coding failed: ZeroDivisionError: division by zero"]
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [0, 2]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT reason FROM rejected_files WHERE reason LIKE '%file%' AND source_path = '/in/empty.txt'",
        "SELECT reason FROM rejected_files WHERE CAST(record_index AS integer) = 0 AND source_path LIKE '%/empty.txt'",
    ],
)
def test_cli_query_passes_percent_signs_and_casts_through(rejections: Engine, sql: str):
    result = runner.invoke(app, ["query", sql, "--db", _db_arg(rejections), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "reason\nempty file\n"
