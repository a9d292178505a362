"""`newsetl db check` (etl/integrity.py): a loaded database passes; each kind of corruption is caught."""

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from etl.integrity import check_database
from etl.run_ledger import start_run
from flows.nightly import nightly
from newsetl.cli import app

runner = CliRunner()


def _execute(engine: Engine, *statements: str) -> None:
    """Write what the schema forbids, as a copied file or a dropped constraint would: foreign keys unchecked."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # skips FK triggers
            for statement in statements:
                connection.execute(text(statement))
        return
    raw = engine.raw_connection()
    try:
        raw.execute("PRAGMA foreign_keys = OFF")  # outside a transaction, where SQLite honours it
        for statement in statements:
            raw.execute(statement)
        raw.commit()
    finally:
        raw.close()


def _db_arg(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def loaded(engine: Engine, corpus: Path) -> Engine:
    nightly(input_dir=str(corpus), db_url=_db_arg(engine))
    return engine


CORRUPTIONS: dict[str, tuple[Callable[[Engine], None], str]] = {
    "orphan mention": (
        lambda e: _execute(e, "UPDATE mentions SET article_id = 999999 WHERE id = (SELECT min(id) FROM mentions)"),
        "foreign keys: mentions.article_id = 999999 (1 rows): no articles row",
    ),
    "shifted mention": (
        lambda e: _execute(
            e, "UPDATE mentions SET start_char = start_char + 1 WHERE id = (SELECT max(id) FROM mentions)"
        ),
        "mention offsets: mention ",
    ),
    "trigger past the body": (
        lambda e: _execute(e, "UPDATE events SET trigger_end = 100000 WHERE id = (SELECT min(id) FROM events)"),
        "event trigger offsets: event ",
    ),
    "participant text": (
        lambda e: _execute(
            e, "UPDATE event_participants SET text = 'nobody' WHERE id = (SELECT min(id) FROM event_participants)"
        ),
        "participant offsets: participant ",
    ),
    "article without source": (
        lambda e: _execute(e, "DELETE FROM article_sources WHERE article_id = (SELECT min(id) FROM articles)"),
        "articles without a source: article ",
    ),
    "torn body": (
        lambda e: _execute(e, "UPDATE articles SET body = body || ' x' WHERE id = (SELECT max(id) FROM articles)"),
        "article content hash: article ",
    ),
    "cluster miscounted": (
        lambda e: _execute(
            e, "UPDATE event_clusters SET num_articles = 99 WHERE id = (SELECT min(id) FROM event_clusters)"
        ),
        "event cluster counts: event cluster ",
    ),
    "event moved out of its cluster": (
        lambda e: _execute(
            e,
            "INSERT INTO event_clusters (event_type, num_articles, num_sources, num_mentions) VALUES ('AID', 1, 0, 1)",
            "UPDATE events SET cluster_id = (SELECT max(id) FROM event_clusters) "
            "WHERE id = (SELECT max(id) FROM events)",
        ),
        "event cluster counts: event cluster ",
    ),
    "near-duplicate of nothing": (
        lambda e: _execute(
            e, "UPDATE articles SET near_duplicate_of = 999999 WHERE id = (SELECT min(id) FROM articles)"
        ),
        "near-duplicate links: article ",
    ),
    "run undercount": (
        lambda e: _execute(e, "UPDATE runs SET files_loaded = 0, articles = 0"),
        "run counts: run 1 counts 0 files loaded, fewer than the 6 source_files rows marked so by it",
    ),
    "run left running": (
        lambda e: start_run(e, "nightly", {}),
        "runs left running: run 2 is marked running but its process is gone",
    ),
}


@pytest.mark.slow
def test_integrity_check_passes_a_loaded_database_and_catches_each_corruption(loaded: Engine) -> None:
    assert check_database(loaded) == []
    result = runner.invoke(app, ["db", "check", "--db", _db_arg(loaded)])
    assert (result.exit_code, result.stdout) == (0, "database is consistent\n")

    for name, (corrupt, expected) in CORRUPTIONS.items():
        corrupt(loaded)
        found = [str(problem) for problem in check_database(loaded)]
        assert any(line.startswith(expected) for line in found), f"{name}: {found}"

    result = runner.invoke(app, ["db", "check", "--db", _db_arg(loaded)])
    assert result.exit_code == 1
    for _, expected in CORRUPTIONS.values():
        assert any(line.startswith(expected) for line in result.stdout.splitlines()), expected
    assert "integrity problems found" in result.stderr


def test_integrity_check_on_a_missing_database_is_one_error_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "check", "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: database file ") and result.stderr.count("\n") == 1
