"""Backfills: chunks, re-annotation of out-of-date articles only, loading new files of the range without it,
resuming after a failure, and the dry run; on SQLite and PostgreSQL."""

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

import etl.nlp.annotate
import etl.pipeline
from etl.backfill import chunk_ranges, parse_day, plan_backfill
from etl.database import create_engine_for
from etl.errors import InputError
from etl.models import ArticleRow, Base, EventRow, MentionRow, RunRow, SourceFileRow
from etl.records import DateRange
from etl.settings import Settings
from flows.backfill import backfill
from flows.nightly import nightly
from newsetl.cli import app

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "articles"
NOVEMBER = DateRange(date(2022, 11, 1), date(2022, 11, 30))
DECEMBER = datetime(2022, 12, 1, tzinfo=UTC)


def test_backfill_chunk_ranges_cover_the_range_without_overlap() -> None:
    chunks = chunk_ranges(NOVEMBER, 7)
    assert [(c.since.day, c.until.day) for c in chunks] == [(1, 7), (8, 14), (15, 21), (22, 28), (29, 30)]
    assert chunk_ranges(DateRange(date(2022, 11, 1), date(2022, 11, 1)), 7) == (
        DateRange(date(2022, 11, 1), date(2022, 11, 1)),
    )
    assert chunk_ranges(DateRange(date(2022, 11, 1), None), 7) == (DateRange(date(2022, 11, 1), None),)


def test_backfill_dates_may_be_iso_strings_as_deployments_pass_them() -> None:
    assert parse_day("since", "2022-11-01") == date(2022, 11, 1)
    assert parse_day("since", date(2022, 11, 1)) == date(2022, 11, 1)
    with pytest.raises(InputError, match=r"^until '1 Nov' is not a date in the form YYYY-MM-DD$"):
        parse_day("until", "1 Nov")


@contextmanager
def _postgres_copy(server_url: str, template: str | None = None) -> Iterator[str]:
    """A new database on the session's PostgreSQL server, empty or a copy of `template`; dropped at the end."""
    admin_url = server_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        if template is None:
            admin.execute(f'CREATE DATABASE "{name}"')
        else:
            # A template must have no other connection: the loading flow's engine may still hold some in its pool.
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (template,))
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


# Each backend's tests run on one pytest-xdist worker (`--dist loadgroup`), which loads its template once.
@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", marks=pytest.mark.xdist_group("backfill-sqlite")),
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("backfill-postgres")]),
    ],
)
def loaded_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """The sample articles loaded once per backend by the nightly flow; tests work on copies of the database."""
    root = tmp_path_factory.mktemp(f"backfill-template-{request.param}")
    articles = root / "articles"
    shutil.copytree(SEEDS, articles)
    if request.param == "sqlite":
        db_url = f"sqlite:///{root / 'newsetl.db'}"
        nightly(input_dir=str(articles), db_url=db_url)
        yield db_url, articles
        return
    with _postgres_copy(request.getfixturevalue("postgres_url")) as db_url:
        nightly(input_dir=str(articles), db_url=db_url)
        yield db_url, articles


@pytest.fixture
def loaded(
    loaded_template: tuple[str, Path], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, Path, Engine]]:
    """A copy of the loaded database, over the template's articles folder (source files are known by path);
    files a test adds to the folder are removed after it."""
    template_url, articles = loaded_template
    seeded = set(articles.rglob("*"))
    with _database_copy(template_url, tmp_path, request) as db_url:
        engine = create_engine_for(db_url)
        try:
            yield db_url, articles, engine
        finally:
            engine.dispose()
            for added in sorted(set(articles.rglob("*")) - seeded, reverse=True):
                added.rmdir() if added.is_dir() else added.unlink()


@contextmanager
def _database_copy(template_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if template_url.startswith("sqlite"):
        # SQLite's backup, not a file copy: the template's last writes may still be in its write-ahead log.
        template = template_url.removeprefix("sqlite:///")
        with sqlite3.connect(template) as source, sqlite3.connect(tmp_path / "newsetl.db") as copy:
            source.backup(copy)
        yield f"sqlite:///{tmp_path / 'newsetl.db'}"
        return
    with _postgres_copy(request.getfixturevalue("postgres_url"), template_url.rsplit("/", 1)[1]) as db_url:
        yield db_url


def _age(engine: Engine, *conditions) -> list[int]:
    """Stamp articles as annotated by an older pipeline version; return their ids."""
    with engine.begin() as connection:
        return sorted(
            connection.scalars(
                update(ArticleRow).where(*conditions).values(pipeline_version="old").returning(ArticleRow.id)
            )
        )


def _in_november() -> list:
    return [ArticleRow.published_at >= datetime(2022, 11, 1, tzinfo=UTC), ArticleRow.published_at < DECEMBER]


def _articles(engine: Engine) -> dict[int, tuple[str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(select(ArticleRow.id, ArticleRow.pipeline_version, ArticleRow.updated_run_id))
        return {row.id: (row.pipeline_version, row.updated_run_id) for row in rows}


def _every_row(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, in a comparable order."""
    with engine.connect() as connection:
        return {
            table.name: sorted(map(repr, connection.execute(select(table)))) for table in Base.metadata.sorted_tables
        }


def _annotation_rows(engine: Engine) -> list[tuple]:
    with engine.connect() as connection:
        mentions = connection.execute(
            select(MentionRow.article_id, MentionRow.start_char, MentionRow.end_char, MentionRow.label)
        ).all()
        events = connection.execute(
            select(EventRow.article_id, EventRow.event_type, EventRow.trigger_start, EventRow.trigger_text)
        ).all()
    return sorted(map(tuple, mentions)) + sorted(map(tuple, events))


@pytest.mark.slow
def test_backfill_reprocess_reannotates_only_articles_of_another_pipeline_version(loaded) -> None:
    db_url, articles, engine = loaded
    before = _articles(engine)
    rows_before = _annotation_rows(engine)
    aged = _age(engine, *_in_november(), ArticleRow.id % 2 == 0)
    outside = _age(engine, ArticleRow.published_at < datetime(2022, 11, 1, tzinfo=UTC))
    assert aged and outside

    counts = backfill(since="2022-11-01", until="2022-11-30", input_dir=str(articles), db_url=db_url, reprocess=True)

    assert counts.articles == len(aged)
    assert counts.loaded == 0  # every file was loaded before
    after = _articles(engine)
    current = before[aged[0]][0]
    run_id = max(run for _version, run in after.values())
    assert {i for i, (_v, run) in after.items() if run == run_id} == set(aged)
    assert all(after[i][0] == current for i in aged)
    assert all(after[i] == ("old", before[i][1]) for i in outside)  # outside the range: untouched
    assert _annotation_rows(engine) == rows_before  # same pipeline, same rows, replaced in place

    again = backfill(since="2022-11-01", until="2022-11-30", input_dir=str(articles), db_url=db_url, reprocess=True)
    assert again.articles == 0  # nothing is out of date any more


@pytest.mark.slow
def test_backfill_reprocess_scores_anew_the_events_an_upgrade_scored(loaded) -> None:
    """Migration 0006 scores stored events from what is stored; a reprocess gives them the coder's own scores."""
    db_url, articles, engine = loaded

    def confidences() -> list[tuple]:
        with engine.connect() as connection:
            rows = connection.execute(select(EventRow.article_id, EventRow.trigger_start, EventRow.confidence))
            return sorted(map(tuple, rows))

    coded = confidences()
    aged = _age(engine, *_in_november())
    with engine.begin() as connection:  # as an upgrade leaves them: not the coder's scores
        connection.execute(update(EventRow).where(EventRow.article_id.in_(aged)).values(confidence=0.123))
    assert confidences() != coded

    backfill(since="2022-11-01", until="2022-11-30", input_dir=str(articles), db_url=db_url, reprocess=True)

    assert confidences() == coded


@pytest.mark.slow
def test_backfill_reprocess_keeps_an_article_it_cannot_annotate_and_goes_on(
    loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url, articles, engine = loaded
    aged = _age(engine, *_in_november(), ArticleRow.id % 2 == 0)
    with engine.connect() as connection:
        body = connection.scalar(select(ArticleRow.body).where(ArticleRow.id == aged[0]))
    code_events = etl.nlp.annotate.code_events

    def failing(doc, *args):
        if doc.text == body:
            raise RuntimeError("injected fault")
        return code_events(doc, *args)

    monkeypatch.setattr(etl.nlp.annotate, "code_events", failing)
    monkeypatch.setenv("NEWSETL_N_PROCESS", "1")  # annotated in this process, where the fault is

    counts = backfill(since="2022-11-01", until="2022-11-30", input_dir=str(articles), db_url=db_url, reprocess=True)

    assert counts.articles == len(aged) - 1
    after = _articles(engine)
    assert after[aged[0]][0] == "old" and all(after[i][0] != "old" for i in aged[1:])
    with engine.connect() as connection:
        status, error = connection.execute(select(RunRow.status, RunRow.error).order_by(RunRow.id.desc())).first()
    assert (status, error) == (
        "completed",
        f"article {aged[0]} not re-annotated: event coding failed: RuntimeError: injected fault",
    )


@pytest.mark.slow
def test_backfill_without_reprocess_loads_only_new_files_of_the_range_and_annotates_nothing_again(loaded) -> None:
    db_url, articles, engine = loaded
    aged = _age(engine, *_in_november())
    in_range = articles / "2022" / "11" / "29" / "talks-resume.txt"
    outside = articles / "2022" / "12" / "02" / "talks-stall.txt"
    for path, text in ((in_range, "Serbia and Kosovo resumed talks"), (outside, "The talks stalled in Brussels")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{text}\n\n{text} on the day, officials said.\n", encoding="utf-8")
    before = _articles(engine)

    counts = backfill(since="2022-11-01", until="2022-11-30", input_dir=str(articles), db_url=db_url)

    assert (counts.loaded, counts.articles) == (1, 1)
    after = _articles(engine)
    assert {i: after[i] for i in before} == before  # out-of-date articles stay as they are without --reprocess
    assert all(after[i][0] == "old" for i in aged)
    with engine.connect() as connection:
        known = set(connection.scalars(select(SourceFileRow.path)))
    assert in_range.as_posix() in known
    assert outside.as_posix() not in known  # outside the range: left for the next nightly run, not recorded
    assert nightly(input_dir=str(articles), db_url=db_url).loaded == 1


@pytest.mark.slow
def test_backfill_chunks_run_in_parallel_and_give_the_rows_of_one_chunk(
    loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url, articles, engine = loaded
    rows_before = _annotation_rows(engine)
    # Five chunks of seven days, in parallel threads; each chunk starts its own annotation workers, which load
    # the model, so 30 one-day chunks would cost a minute per backend for no more coverage.
    monkeypatch.setenv("NEWSETL_BACKFILL_CHUNK_DAYS", "7")
    counts = backfill(since="2022-11-01", until="2022-11-30", input_dir=str(articles), db_url=db_url, force=True)
    with engine.connect() as connection:
        in_november = connection.scalar(select(func.count()).select_from(ArticleRow).where(*_in_november()))
    assert counts.articles == in_november > 0
    assert _annotation_rows(engine) == rows_before


@pytest.mark.slow
@pytest.mark.parametrize("force", [False, True])
def test_backfill_after_a_failure_redoes_only_what_is_left(loaded, monkeypatch: pytest.MonkeyPatch, force: bool):
    db_url, articles, engine = loaded
    aged = _age(engine, *_in_november())
    poisoned = aged[len(aged) // 2]
    replace = etl.pipeline.replace_annotations

    def fail_on_one_article(engine, article_id, *args) -> None:
        if article_id == poisoned:
            raise RuntimeError(f"disk full while writing article {article_id}")
        replace(engine, article_id, *args)

    monkeypatch.setattr(etl.pipeline, "replace_annotations", fail_on_one_article)
    parameters = {"since": "2022-11-01", "until": "2022-11-30", "input_dir": str(articles), "db_url": db_url}
    with pytest.raises(RuntimeError, match="disk full"):
        backfill(**parameters, reprocess=True, force=force)
    first = _articles(engine)
    done = {i for i in aged if first[i][0] != "old"}
    assert done and poisoned not in done and len(done) < len(aged)

    monkeypatch.setattr(etl.pipeline, "replace_annotations", replace)
    counts = backfill(**parameters, reprocess=True, force=force)
    assert counts.articles == len(aged) - len(done)
    second = _articles(engine)
    assert all(second[i] == first[i] for i in done)  # not redone
    assert all(second[i][0] != "old" for i in aged)
    with engine.connect() as connection:
        assert list(connection.scalars(select(RunRow.status).order_by(RunRow.id)))[-2:] == ["failed", "completed"]


@pytest.mark.slow
def test_backfill_dry_run_counts_each_chunk_and_writes_nothing(loaded, tmp_path: Path) -> None:
    db_url, articles, engine = loaded
    aged = _age(engine, *_in_november(), ArticleRow.id % 3 == 0)
    (articles / "new-article.txt").write_text("Talks resume\n\nSerbia and Kosovo resumed talks.\n", encoding="utf-8")
    settings = Settings(db_url=db_url, input_dir=articles)
    plan = plan_backfill(engine, settings, NOVEMBER, reprocess=True, force=False)
    assert plan.files_to_read == 1
    assert len(plan.chunks) == 5
    assert sum(chunk.to_reannotate for chunk in plan.chunks) == len(aged)
    with engine.connect() as connection:
        assert sum(c.stored_articles for c in plan.chunks) == connection.scalar(
            select(func.count()).select_from(ArticleRow).where(*_in_november())
        )
    before = _every_row(engine)

    result = CliRunner().invoke(
        app,
        ["backfill", "--since", "2022-11-01", "--until", "2022-11-30", "--reprocess", "--dry-run"],
        env={"NEWSETL_DB_URL": db_url, "NEWSETL_INPUT_DIR": str(articles)},
    )
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written: 1 new or changed files" in result.output
    assert "2022-11-29" in result.output
    assert _every_row(engine) == before
