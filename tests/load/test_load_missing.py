"""Files gone from the input folder: kept as `missing`, or retired with the articles only they held."""

import hashlib

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from etl.article_store import load_article
from etl.file_ledger import known_files, mark_missing, record_file, retire_file
from etl.models import ArticleRow, ArticleSourceRow, EventParticipantRow, EventRow, MentionRow, SourceFileRow
from etl.records import (
    AnnotatedArticle,
    Annotation,
    Article,
    Entity,
    Event,
    FileStatus,
    Mention,
    Participant,
    SourceFile,
)
from etl.run_ledger import start_run

VERSION = "test-pipeline"
BODY = "Russia shelled Kherson on Wednesday."
RUSSIA = Entity("GPE:russia", "Russia", "GPE")
KHERSON = Entity("GPE:kherson", "Kherson", "GPE")


def _item(path: str, record_index: int = 0, body: str = BODY) -> AnnotatedArticle:
    article = Article(
        source_path=path,
        record_index=record_index,
        title="Shelling",
        body=body,
        content_sha256=hashlib.sha256(body.encode()).hexdigest(),
        word_count=len(body.split()),
    )
    annotation = Annotation(
        entities=(RUSSIA, KHERSON),
        mentions=(Mention(0, 6, "Russia", "GPE", 0, RUSSIA.entity_key),),
        events=(
            Event(
                "ASSAULT",
                None,
                7,
                14,
                "shelled",
                0,
                body,
                participants=(Participant("actor", 0, 6, "Russia", RUSSIA.entity_key),),
            ),
        ),
    )
    return AnnotatedArticle(article, annotation)


def _load(engine: Engine, run_id: int, path: str, *items: AnnotatedArticle) -> None:
    for item in items:
        load_article(engine, run_id, item, VERSION)
    record_file(engine, SourceFile(path, 10, 1), "f" * 64, FileStatus.LOADED, run_id)


def _count(engine: Engine, row_type: type) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(row_type)).scalar_one()


@pytest.fixture
def run_id(engine: Engine) -> int:
    return start_run(engine, "nightly", {})


def test_load_mark_missing_keeps_the_articles_and_records_the_run(engine: Engine, run_id: int) -> None:
    _load(engine, run_id, "/in/a.txt", _item("/in/a.txt"))
    later = start_run(engine, "nightly", {})
    mark_missing(engine, "/in/a.txt", later)
    assert known_files(engine)["/in/a.txt"].status is FileStatus.MISSING
    with engine.connect() as connection:
        assert connection.scalar(select(SourceFileRow.last_run_id)) == later
    assert (_count(engine, ArticleRow), _count(engine, ArticleSourceRow), _count(engine, MentionRow)) == (1, 1, 1)


def test_load_retire_file_deletes_its_articles_with_their_rows(engine: Engine, run_id: int) -> None:
    feed = "/in/feed.jsonl"
    _load(engine, run_id, feed, _item(feed, 1), _item(feed, 2, "Ukraine retook Kherson."))
    _load(engine, run_id, "/in/b.txt", _item("/in/b.txt", body="Protesters marched in Tehran."))
    assert retire_file(engine, feed) == 2
    assert set(known_files(engine)) == {"/in/b.txt"}
    assert _count(engine, ArticleRow) == _count(engine, ArticleSourceRow) == 1
    # Cascades removed the retired articles' mentions, events and participants; the other article keeps its own.
    assert (_count(engine, MentionRow), _count(engine, EventRow), _count(engine, EventParticipantRow)) == (1, 1, 1)


def test_load_retire_file_keeps_an_article_another_file_still_holds(engine: Engine, run_id: int) -> None:
    _load(engine, run_id, "/in/a.txt", _item("/in/a.txt"))
    _load(engine, run_id, "/in/copy.txt", _item("/in/copy.txt"))  # same content: a second source
    assert retire_file(engine, "/in/a.txt") == 0
    with engine.connect() as connection:
        assert connection.execute(select(ArticleSourceRow.source_path)).scalars().all() == ["/in/copy.txt"]
    assert (_count(engine, ArticleRow), _count(engine, MentionRow)) == (1, 1)


def test_load_source_file_status_refuses_unknown_values(engine: Engine, run_id: int) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            SourceFileRow.__table__.insert().values(
                path="/in/x", size=1, mtime_ns=1, file_sha256="0" * 64, status="vanished", last_run_id=run_id
            )
        )
