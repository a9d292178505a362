import dataclasses
import hashlib
import socket
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import IntegrityError

from etl import stored_articles
from etl.article_store import load_article, load_articles, load_stored_content, replace_annotations
from etl.database import create_engine_for, transaction, upgrade
from etl.errors import RejectedInput, TransientDatabaseError
from etl.file_ledger import KnownFile, known_files, record_file, record_rejection
from etl.models import (
    ArticleRow,
    ArticleSourceRow,
    EntityAliasRow,
    EntityRow,
    EventParticipantRow,
    EventRow,
    MentionRow,
    RejectedFileRow,
    RunRow,
    SourceFileRow,
)
from etl.records import (
    AnnotatedArticle,
    Annotation,
    Article,
    DateSource,
    Entity,
    Event,
    FileStatus,
    Mention,
    Participant,
    Rejection,
    RunCounts,
    SourceFile,
)
from etl.run_ledger import finish_run, start_run
from etl.stored_articles import articles_in_range

PUBLISHED_AT = datetime(2022, 11, 10, 7, 30, tzinfo=UTC)
VERSION = "newsetl-0.1.0+en_core_web_sm-3.8.0"
ANNOTATED_TABLES = (ArticleRow, ArticleSourceRow, EntityRow, EntityAliasRow, MentionRow, EventRow)

KYIV_BODY = (
    "Ukrainian officials said Russia launched drones at Kyiv overnight. "
    "President Zelensky urged allies to send more air defence systems."
)
BERLIN_BODY = (
    "Germany pledged new funding to Ukraine on Tuesday. "
    "Chancellor Scholz met Zelensky in Berlin to discuss reconstruction."
)


def _span(body: str, phrase: str) -> tuple[int, int]:
    start = body.index(phrase)
    return start, start + len(phrase)


def _mention(body: str, phrase: str, label: str, key: str, sentence_index: int = 0) -> Mention:
    start, end = _span(body, phrase)
    return Mention(start, end, phrase, label, sentence_index, key)


def make_article(
    path: str,
    body: str,
    *,
    record_index: int = 0,
    published_at: datetime | None = PUBLISHED_AT,
    title: str = "News",
) -> Article:
    return Article(
        source_path=path,
        record_index=record_index,
        title=title,
        body=body,
        content_sha256=hashlib.sha256(f"{title}\n{body}".encode()).hexdigest(),
        word_count=len(body.split()),
        url=f"https://news.example/{Path(path).stem}",
        source="example-wire",
        language="en",
        published_at=published_at,
        published_at_source=DateSource.METADATA,
    )


ZELENSKY = Entity("PERSON:volodymyr zelensky", "Volodymyr Zelensky", "PERSON", ("Zelensky",), "UKR", "Q3881")
RUSSIA = Entity("GPE:russia", "Russia", "GPE", ("Russian Federation",), "RUS", None, 61.5, 105.3)
KYIV = Entity("GPE:kyiv", "Kyiv", "GPE", ("Kiev",), "UKR", None, 50.45, 30.52)


def kyiv_item(path: str = "/in/2022/11/10/kyiv.txt", body: str = KYIV_BODY) -> AnnotatedArticle:
    """An attack on Kyiv by Russia, reported by Ukrainian officials: entities, mentions, one event."""
    attack_start, attack_end = _span(body, "launched drones")
    russia_start, russia_end = _span(body, "Russia")
    kyiv_start, kyiv_end = _span(body, "Kyiv")
    annotation = Annotation(
        entities=(ZELENSKY, RUSSIA, KYIV),
        mentions=(
            _mention(body, "Russia", "GPE", RUSSIA.entity_key),
            _mention(body, "Kyiv", "GPE", KYIV.entity_key),
            _mention(body, "Zelensky", "PERSON", ZELENSKY.entity_key, sentence_index=1),
        ),
        events=(
            Event(
                event_type="ASSAULT",
                mode="aerial",
                trigger_start=attack_start,
                trigger_end=attack_end,
                trigger_text="launched drones",
                sentence_index=0,
                sentence_text=body.split(". ")[0] + ".",
                participants=(
                    Participant("actor", russia_start, russia_end, "Russia", RUSSIA.entity_key, "Russia", "RUS"),
                    Participant("recipient", kyiv_start, kyiv_end, "Kyiv", KYIV.entity_key, "Kyiv", "UKR"),
                ),
                event_date=date(2022, 11, 9),
                date_text="overnight",
                location_key=KYIV.entity_key,
            ),
        ),
    )
    return AnnotatedArticle(make_article(path, body), annotation)


def berlin_item(path: str = "/in/2022/11/15/berlin.json") -> AnnotatedArticle:
    """Germany's aid to Ukraine: names Zelensky under a different canonical name and alias."""
    body = BERLIN_BODY
    zelensky_here = Entity(ZELENSKY.entity_key, "Zelenskyy", "PERSON", ("President Zelenskyy", "Zelensky"))
    germany = Entity("GPE:germany", "Germany", "GPE", (), "DEU")
    ukraine = Entity("GPE:ukraine", "Ukraine", "GPE", (), "UKR")
    pledge_start, pledge_end = _span(body, "pledged")
    germany_start, germany_end = _span(body, "Germany")
    annotation = Annotation(
        entities=(zelensky_here, germany, ukraine),
        mentions=(
            _mention(body, "Germany", "GPE", germany.entity_key),
            _mention(body, "Ukraine", "GPE", ukraine.entity_key),
            _mention(body, "Zelensky", "PERSON", zelensky_here.entity_key, sentence_index=1),
        ),
        events=(
            Event(
                event_type="AID",
                mode="economic",
                trigger_start=pledge_start,
                trigger_end=pledge_end,
                trigger_text="pledged",
                sentence_index=0,
                sentence_text=body.split(". ")[0] + ".",
                participants=(
                    Participant("actor", germany_start, germany_end, "Germany", germany.entity_key),
                    # An unresolved participant: kept as text, no entity.
                    Participant("recipient", 0, 0, "reconstruction effort", sector="government"),
                ),
                date_text="on Tuesday",
                hypothetical=True,
            ),
        ),
    )
    item = make_article(path, body, published_at=datetime(2022, 11, 15, 12, 0, tzinfo=timezone(timedelta(hours=1))))
    return AnnotatedArticle(item, annotation)


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            row_type.__tablename__: connection.scalar(select(func.count()).select_from(row_type))
            for row_type in (*ANNOTATED_TABLES, EventParticipantRow)
        }


@pytest.fixture
def run_id(engine: Engine) -> int:
    return start_run(engine, "nightly", {"input_dir": "/in", "limit": None})


def load_set_wise(engine: Engine, run_id: int, item: AnnotatedArticle, version: str) -> FileStatus | RejectedInput:
    """`load_article`'s counterpart through `load_articles`, the path a batch of files takes."""
    with transaction(engine, "load") as connection:
        [outcome] = load_articles(connection, run_id, [(item, version)])
    return outcome


@pytest.mark.parametrize("load_one", [load_article, load_set_wise])
def test_load_article_stores_rows_as_given(engine: Engine, run_id: int, load_one: Callable[..., object]) -> None:
    item = kyiv_item()

    assert load_one(engine, run_id, item, VERSION) == FileStatus.LOADED

    with engine.connect() as connection:
        article = connection.execute(select(ArticleRow)).one()
        mentions = connection.execute(
            select(MentionRow.start_char, MentionRow.end_char, MentionRow.text, EntityRow.entity_key)
            .join(EntityRow)
            .order_by(MentionRow.start_char)
        ).all()
        stored_event = connection.execute(select(EventRow)).one()
        participants = connection.execute(
            select(EventParticipantRow.role, EventParticipantRow.text, EntityRow.entity_key)
            .join(EntityRow, isouter=True)
            .order_by(EventParticipantRow.id)
        ).all()
        location = connection.scalar(
            select(EntityRow.entity_key).where(EntityRow.id == stored_event.location_entity_id)
        )
        russia = connection.execute(select(EntityRow).where(EntityRow.entity_key == RUSSIA.entity_key)).one()

    assert article.content_sha256 == item.article.content_sha256
    assert article.body == KYIV_BODY
    assert article.published_at == datetime(2022, 11, 10, 7, 30, tzinfo=UTC)
    assert (article.pipeline_version, article.first_seen_run_id, article.updated_run_id) == (
        VERSION,
        run_id,
        run_id,
    )
    assert mentions == [
        (m.start, m.end, m.text, m.entity_key) for m in sorted(item.annotation.mentions, key=lambda m: m.start)
    ]
    assert all(KYIV_BODY[start:end] == text for start, end, text, _ in mentions)
    assert (stored_event.event_type, stored_event.trigger_text, stored_event.event_date) == (
        "ASSAULT",
        "launched drones",
        date(2022, 11, 9),
    )
    assert (stored_event.negated, stored_event.hypothetical) == (False, False)
    assert location == KYIV.entity_key
    assert participants == [("actor", "Russia", RUSSIA.entity_key), ("recipient", "Kyiv", KYIV.entity_key)]
    assert (russia.canonical_name, russia.country, russia.lat, russia.lon) == ("Russia", "RUS", 61.5, 105.3)


def test_load_article_twice_changes_nothing(engine: Engine, run_id: int) -> None:
    assert load_article(engine, run_id, kyiv_item(), VERSION) == FileStatus.LOADED
    before = count_rows(engine)

    assert load_article(engine, run_id, kyiv_item(), VERSION) == FileStatus.SKIPPED

    assert count_rows(engine) == before
    assert before == {
        "articles": 1,
        "article_sources": 1,
        "entities": 3,
        "entity_aliases": 6,
        "mentions": 3,
        "events": 1,
        "event_participants": 2,
    }


def test_load_same_content_from_another_path_is_a_duplicate(engine: Engine, run_id: int) -> None:
    load_article(engine, run_id, kyiv_item("/in/a/kyiv.txt"), VERSION)
    before = count_rows(engine)

    assert load_article(engine, run_id, kyiv_item("/in/b/kyiv-copy.txt"), VERSION) == FileStatus.DUPLICATE
    # Seeing the copy again is no news: it is already a source of the article.
    assert load_article(engine, run_id, kyiv_item("/in/b/kyiv-copy.txt"), VERSION) == FileStatus.SKIPPED

    assert count_rows(engine) == {**before, "article_sources": 2}
    with engine.connect() as connection:
        sources = connection.execute(select(ArticleSourceRow.source_path).order_by(ArticleSourceRow.source_path))
        assert sources.scalars().all() == ["/in/a/kyiv.txt", "/in/b/kyiv-copy.txt"]


def test_load_changed_content_at_same_path_replaces_old_article(engine: Engine, run_id: int) -> None:
    path = "/in/feed.jsonl"
    load_article(engine, run_id, kyiv_item(path), VERSION)
    corrected = kyiv_item(path, KYIV_BODY.replace("overnight", "early on Thursday"))

    assert load_article(engine, run_id, corrected, VERSION) == FileStatus.LOADED

    with engine.connect() as connection:
        hashes = connection.execute(select(ArticleRow.content_sha256)).scalars().all()
        mention_articles = connection.execute(select(MentionRow.article_id).distinct()).scalars().all()
        event_articles = connection.execute(select(EventRow.article_id)).scalars().all()
        article_id = connection.scalar(select(ArticleRow.id))
    assert hashes == [corrected.article.content_sha256]
    assert mention_articles == event_articles == [article_id]
    counts = count_rows(engine)
    assert (
        counts["article_sources"],
        counts["mentions"],
        counts["events"],
        counts["event_participants"],
    ) == (
        1,
        3,
        1,
        2,
    )


def test_load_changed_content_keeps_old_article_still_held_elsewhere(engine: Engine, run_id: int) -> None:
    load_article(engine, run_id, kyiv_item("/in/a.txt"), VERSION)
    load_article(engine, run_id, kyiv_item("/in/b.txt"), VERSION)

    assert load_article(engine, run_id, berlin_item("/in/b.txt"), VERSION) == FileStatus.LOADED

    with engine.connect() as connection:
        holders = connection.execute(
            select(ArticleRow.content_sha256, ArticleSourceRow.source_path)
            .join(ArticleSourceRow)
            .order_by(ArticleSourceRow.source_path)
        ).all()
    assert holders == [
        (kyiv_item().article.content_sha256, "/in/a.txt"),
        (berlin_item().article.content_sha256, "/in/b.txt"),
    ]


def test_load_changed_record_now_equal_to_another_article_is_a_duplicate(engine: Engine, run_id: int) -> None:
    load_article(engine, run_id, kyiv_item("/in/kyiv.txt"), VERSION)
    load_article(engine, run_id, berlin_item("/in/feed.jsonl"), VERSION)

    # The feed's record was edited into a copy of the Kyiv story: the Berlin article loses its only source.
    assert load_article(engine, run_id, kyiv_item("/in/feed.jsonl"), VERSION) == FileStatus.DUPLICATE

    with engine.connect() as connection:
        assert connection.execute(select(ArticleRow.content_sha256)).scalars().all() == [
            kyiv_item().article.content_sha256
        ]
        assert connection.scalar(select(func.count()).select_from(EventParticipantRow)) == 2


def test_load_shared_entity_is_one_row_with_aliases_accumulated(engine: Engine, run_id: int) -> None:
    load_article(engine, run_id, kyiv_item(), VERSION)
    load_article(engine, run_id, berlin_item(), VERSION)

    with engine.connect() as connection:
        zelensky = connection.execute(select(EntityRow).where(EntityRow.entity_key == ZELENSKY.entity_key)).all()
        aliases = connection.execute(
            select(EntityAliasRow.alias).where(EntityAliasRow.entity_id == zelensky[0].id).order_by("alias")
        )
        mention_entities = connection.execute(
            select(func.count(MentionRow.id)).where(MentionRow.entity_id == zelensky[0].id)
        ).scalar()
        assert aliases.scalars().all() == [
            "President Zelenskyy",
            "Volodymyr Zelensky",
            "Zelensky",
            "Zelenskyy",
        ]
    assert len(zelensky) == 1
    assert (zelensky[0].canonical_name, zelensky[0].kb_id) == ("Volodymyr Zelensky", "Q3881")  # first writer
    assert mention_entities == 2


def test_load_later_article_fills_attributes_the_first_writer_did_not_know(engine: Engine, run_id: int) -> None:
    first = kyiv_item()
    unknown = Entity(ZELENSKY.entity_key, "Zelensky", "PERSON", ("Zelensky",))
    annotation = dataclasses.replace(first.annotation, entities=(RUSSIA, KYIV, unknown))
    load_article(engine, run_id, AnnotatedArticle(first.article, annotation), VERSION)
    later = berlin_item()
    known = Entity(ZELENSKY.entity_key, "Zelenskyy", "PERSON", (), "UKR", "Q3881", sector="GOV")
    annotation = dataclasses.replace(later.annotation, entities=(*later.annotation.entities[1:], known))
    load_article(engine, run_id, AnnotatedArticle(later.article, annotation), VERSION)

    with engine.connect() as connection:
        row = connection.execute(select(EntityRow).where(EntityRow.entity_key == ZELENSKY.entity_key)).one()
    assert (row.canonical_name, row.country, row.sector, row.kb_id) == ("Zelensky", "UKR", "GOV", "Q3881")


def test_load_entity_named_twice_in_one_article_is_one_row(engine: Engine, run_id: int) -> None:
    item = kyiv_item()
    again = Entity(KYIV.entity_key, "Kyiv", "GPE", ("Kyiv city",))
    annotation = dataclasses.replace(item.annotation, entities=(*item.annotation.entities, again))

    load_article(engine, run_id, AnnotatedArticle(item.article, annotation), VERSION)

    with engine.connect() as connection:
        kyiv_aliases = connection.execute(
            select(EntityAliasRow.alias).join(EntityRow).where(EntityRow.entity_key == KYIV.entity_key)
        )
        assert sorted(kyiv_aliases.scalars()) == ["Kiev", "Kyiv", "Kyiv city"]
    assert count_rows(engine)["entities"] == 3


def test_load_failure_mid_article_leaves_nothing(engine: Engine, run_id: int) -> None:
    item = kyiv_item()
    # The NOT NULL on event_participants.text fails after the article, entities, mentions and event are in.
    broken_participant = Participant("actor", 0, 6, None)  # type: ignore[arg-type]
    broken_event = dataclasses.replace(item.annotation.events[0], participants=(broken_participant,))
    broken = AnnotatedArticle(item.article, dataclasses.replace(item.annotation, events=(broken_event,)))

    with pytest.raises(IntegrityError):
        load_article(engine, run_id, broken, VERSION)

    assert set(count_rows(engine).values()) == {0}


def test_load_unknown_entity_key_is_rejected_and_writes_nothing(engine: Engine, run_id: int) -> None:
    item = kyiv_item()
    stray = Mention(0, 9, "Ukrainian", "NORP", 0, "NORP:ukrainian")
    broken = AnnotatedArticle(item.article, Annotation(item.annotation.entities, (stray,)))

    with pytest.raises(RejectedInput, match="mention refers to entity 'NORP:ukrainian'"):
        load_article(engine, run_id, broken, VERSION)

    assert set(count_rows(engine).values()) == {0}


def test_load_replace_annotations_swaps_mentions_and_events(engine: Engine, run_id: int) -> None:
    load_article(engine, run_id, kyiv_item(), VERSION)
    later_run = start_run(engine, "backfill", {"reprocess": True})
    with engine.connect() as connection:
        article_id = connection.scalar(select(ArticleRow.id))
    zelensky_only = Annotation(
        entities=(ZELENSKY,), mentions=(_mention(KYIV_BODY, "Zelensky", "PERSON", ZELENSKY.entity_key, 1),)
    )

    replace_annotations(engine, article_id, zelensky_only, "newsetl-0.2.0", later_run)

    counts = count_rows(engine)
    assert (counts["mentions"], counts["events"], counts["event_participants"]) == (1, 0, 0)
    with engine.connect() as connection:
        article = connection.execute(select(ArticleRow)).one()
    assert (article.pipeline_version, article.first_seen_run_id, article.updated_run_id) == (
        "newsetl-0.2.0",
        run_id,
        later_run,
    )


def test_load_articles_in_range_streams_by_id(engine: Engine, run_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored_articles, "ARTICLES_PER_QUERY", 2)
    days = [date(2022, 11, day) for day in (9, 10, 11, 12, 13)]
    for day in days:
        published = datetime(day.year, day.month, day.day, 23, 59, tzinfo=UTC)
        item = make_article(f"/in/{day}.txt", f"Report for {day}.", published_at=published)
        load_article(engine, run_id, AnnotatedArticle(item, Annotation()), VERSION)
    undated = make_article("/in/undated.txt", "No date known.", published_at=None)
    load_article(engine, run_id, AnnotatedArticle(undated, Annotation()), VERSION)

    in_range = list(articles_in_range(engine, date(2022, 11, 10), date(2022, 11, 12)))
    everything = list(articles_in_range(engine, None, None))

    assert [article.source_path for _, article in in_range] == [
        "/in/2022-11-10.txt",
        "/in/2022-11-11.txt",
        "/in/2022-11-12.txt",
    ]
    assert [article_id for article_id, _ in everything] == sorted(article_id for article_id, _ in everything)
    assert len(everything) == 6
    first = in_range[0][1]
    assert first.published_at == datetime(2022, 11, 10, 23, 59, tzinfo=UTC)
    assert first.published_at_source is DateSource.METADATA
    assert first == make_article("/in/2022-11-10.txt", "Report for 2022-11-10.", published_at=first.published_at)


@pytest.mark.parametrize("load_one", [load_article, load_set_wise])
def test_load_published_at_is_stored_in_utc(engine: Engine, run_id: int, load_one: Callable[..., object]) -> None:
    load_one(engine, run_id, berlin_item(), VERSION)  # published 12:00 at UTC+1

    [(_, article)] = list(articles_in_range(engine, None, None))

    assert article.published_at == datetime(2022, 11, 15, 11, 0, tzinfo=UTC)


def test_load_run_rows_record_parameters_and_counts(engine: Engine) -> None:
    first = start_run(engine, "nightly", {"input_dir": Path("/in"), "batch_size": 64})
    second = start_run(engine, "backfill", {})
    counts = RunCounts(loaded=3, skipped=2, duplicate=1, rejected=1, articles=3, events=4, mentions=20)
    counts.errors.append("kyiv.txt: annotate: model crashed")

    finish_run(engine, first, counts, "completed")
    finish_run(engine, second, RunCounts(), "failed", error="database unreachable")

    with engine.connect() as connection:
        runs = connection.execute(select(RunRow).order_by(RunRow.id)).all()
    assert [run.id for run in runs] == [first, second]
    assert runs[0].parameters == '{"batch_size": 64, "input_dir": "/in"}'
    assert runs[0].started_at <= runs[0].finished_at
    assert runs[0].started_at.tzinfo is not None
    assert (
        runs[0].status,
        runs[0].files_loaded,
        runs[0].files_skipped,
        runs[0].files_duplicate,
        runs[0].files_rejected,
        runs[0].articles,
        runs[0].mentions,
        runs[0].events,
        runs[0].error,
    ) == ("completed", 3, 2, 1, 1, 3, 20, 4, "kyiv.txt: annotate: model crashed")
    assert (runs[1].status, runs[1].error, runs[1].files_loaded) == ("failed", "database unreachable", 0)


def test_load_finish_run_refuses_unknown_status(engine: Engine, run_id: int) -> None:
    with pytest.raises(ValueError, match="'done' is not a valid RunStatus"):
        finish_run(engine, run_id, RunCounts(), "done")


def test_load_record_file_upserts_and_known_files_reads_back(engine: Engine, run_id: int) -> None:
    source = SourceFile("/in/kyiv.txt", size=1200, mtime_ns=1_668_000_000_123_456_789)
    record_file(engine, source, "a" * 64, FileStatus.LOADED, run_id)
    assert known_files(engine) == {
        "/in/kyiv.txt": KnownFile(1200, 1_668_000_000_123_456_789, "a" * 64, FileStatus.LOADED)
    }

    later_run = start_run(engine, "nightly", {})
    touched = SourceFile("/in/kyiv.txt", size=1200, mtime_ns=1_669_000_000_000_000_000)
    record_file(engine, touched, "a" * 64, FileStatus.SKIPPED, later_run)

    assert known_files(engine) == {
        "/in/kyiv.txt": KnownFile(1200, 1_669_000_000_000_000_000, "a" * 64, FileStatus.SKIPPED)
    }
    with engine.connect() as connection:
        assert connection.scalar(select(SourceFileRow.last_run_id)) == later_run


def test_load_record_rejection(engine: Engine, run_id: int) -> None:
    record_rejection(engine, run_id, Rejection("/in/feed.jsonl", "line 3 is not valid JSON", record_index=3))

    with engine.connect() as connection:
        row = connection.execute(select(RejectedFileRow)).one()
    assert (row.run_id, row.source_path, row.record_index, row.content_sha256, row.reason) == (
        run_id,
        "/in/feed.jsonl",
        3,
        None,
        "line 3 is not valid JSON",
    )
    assert row.rejected_at.tzinfo is not None


def test_load_locked_sqlite_is_a_transient_error(tmp_path: Path) -> None:
    database = tmp_path / "news.db"
    engine = create_engine_for(f"sqlite:///{database}")
    upgrade(engine)
    # Run after the engine's own connect hook: fail at once instead of waiting out the busy timeout.
    event.listen(engine, "connect", lambda dbapi_connection, _: dbapi_connection.execute("PRAGMA busy_timeout=0"))
    engine.dispose()
    writer = sqlite3.connect(database)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransientDatabaseError, match="start run: database busy or unreachable"):
            start_run(engine, "nightly", {})
    finally:
        writer.rollback()
        writer.close()
        engine.dispose()


def test_load_unreachable_postgres_is_a_transient_error() -> None:
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        port = reserved.getsockname()[1]
        engine = create_engine_for(f"postgresql://postgres@127.0.0.1:{port}/newsetl")
        with pytest.raises(TransientDatabaseError, match="read known files: database busy or unreachable"):
            known_files(engine)


def test_load_a_rejected_article_rolls_back_alone_inside_a_batch_transaction(engine: Engine, run_id: int) -> None:
    item = kyiv_item()
    stray = Mention(0, 9, "Ukrainian", "NORP", 0, "NORP:ukrainian")
    broken = AnnotatedArticle(make_article("/in/broken.txt", "Other words."), Annotation((), (stray,)))

    with transaction(engine, "load a batch") as connection:
        with pytest.raises(RejectedInput):
            load_article(connection, run_id, broken, VERSION)
        assert load_article(connection, run_id, item, VERSION) is FileStatus.LOADED

    counts = count_rows(engine)
    assert (counts["articles"], counts["article_sources"], counts["mentions"]) == (1, 1, 3)


def test_load_stored_content_records_a_known_article_without_its_annotation(engine: Engine, run_id: int) -> None:
    item = kyiv_item()
    copy = dataclasses.replace(item.article, source_path="/in/copy.txt")
    assert load_stored_content(engine, item.article) is None  # not stored: to be annotated
    assert count_rows(engine)["article_sources"] == 0
    load_article(engine, run_id, item, VERSION)

    assert load_stored_content(engine, item.article) is FileStatus.SKIPPED
    assert load_stored_content(engine, copy) is FileStatus.DUPLICATE
    assert count_rows(engine)["article_sources"] == 2


def _items() -> list[AnnotatedArticle]:
    kyiv, berlin = kyiv_item("/in/a/kyiv.txt"), berlin_item("/in/b/berlin.json")
    # A mention of an entity the annotation does not hold: refused, the others stored all the same.
    broken = dataclasses.replace(
        berlin_item("/in/c/broken.json"),
        article=dataclasses.replace(berlin.article, source_path="/in/c/broken.json", content_sha256="f" * 64),
    )
    broken = dataclasses.replace(
        broken,
        annotation=dataclasses.replace(
            broken.annotation, mentions=(*broken.annotation.mentions, Mention(0, 7, "Germany", "GPE", 0, "GPE:nowhere"))
        ),
    )
    return [kyiv, berlin, kyiv_item("/in/d/kyiv-copy.txt"), broken, kyiv_item("/in/a/kyiv.txt")]


def _snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every annotated row, by content rather than by id."""
    with engine.connect() as connection:
        article_hash = dict(connection.execute(select(ArticleRow.id, ArticleRow.content_sha256)).all())
        entity_key = dict(connection.execute(select(EntityRow.id, EntityRow.entity_key)).all())
        events = {row.id: row for row in connection.execute(select(EventRow))}
        return {
            "articles": sorted(
                connection.execute(select(ArticleRow.content_sha256, ArticleRow.title, ArticleRow.body))
            ),
            "sources": sorted(
                (article_hash[row.article_id], row.source_path, row.record_index)
                for row in connection.execute(select(ArticleSourceRow))
            ),
            "entities": sorted(
                connection.execute(
                    select(EntityRow.entity_key, EntityRow.canonical_name, EntityRow.country, EntityRow.lat)
                )
            ),
            "aliases": sorted(
                (entity_key[row.entity_id], row.alias) for row in connection.execute(select(EntityAliasRow))
            ),
            "mentions": sorted(
                (article_hash[row.article_id], entity_key[row.entity_id], row.start_char, row.end_char, row.text)
                for row in connection.execute(select(MentionRow))
            ),
            "events": sorted(
                (
                    article_hash[row.article_id],
                    row.event_type,
                    row.trigger_start,
                    entity_key.get(row.location_entity_id),
                )
                for row in events.values()
            ),
            "participants": sorted(
                (article_hash[events[row.event_id].article_id], row.role, entity_key.get(row.entity_id), row.text)
                for row in connection.execute(select(EventParticipantRow))
            ),
        }


def test_load_articles_stores_what_loading_one_by_one_stores(engine: Engine, second_db_url: str) -> None:
    items = _items()
    one_by_one = create_engine_for(second_db_url)
    upgrade(one_by_one)
    expected = []
    run_id = start_run(one_by_one, "nightly", {})
    for item in items:
        try:
            expected.append(load_article(one_by_one, run_id, item, VERSION))
        except RejectedInput as exc:
            expected.append(exc.reason)

    batch_run = start_run(engine, "nightly", {})  # before the batch's transaction, which holds SQLite's write lock
    with transaction(engine, "load") as connection:
        outcomes = load_articles(connection, batch_run, [(item, VERSION) for item in items])

    got = [outcome.reason if isinstance(outcome, RejectedInput) else outcome for outcome in outcomes]
    assert got == expected
    assert got[:3] == [FileStatus.LOADED, FileStatus.LOADED, FileStatus.DUPLICATE]
    assert "GPE:nowhere" in got[3] and got[4] == FileStatus.SKIPPED
    assert _snapshot(engine) == _snapshot(one_by_one)
    one_by_one.dispose()


def test_load_articles_refers_to_an_entity_stored_before_that_the_annotation_does_not_hold(engine: Engine) -> None:
    run_id = start_run(engine, "nightly", {})
    load_set_wise(engine, run_id, kyiv_item(), VERSION)
    berlin = berlin_item()
    kyiv_again = Mention(0, 7, "Germany", "GPE", 0, KYIV.entity_key)  # Kyiv is stored, not in this annotation
    berlin = dataclasses.replace(
        berlin, annotation=dataclasses.replace(berlin.annotation, mentions=(*berlin.annotation.mentions, kyiv_again))
    )

    assert load_set_wise(engine, run_id, berlin, VERSION) == FileStatus.LOADED

    with engine.connect() as connection:
        kyiv_mentions = connection.scalars(
            select(ArticleRow.content_sha256)
            .join(MentionRow, MentionRow.article_id == ArticleRow.id)
            .join(EntityRow, EntityRow.id == MentionRow.entity_id)
            .where(EntityRow.entity_key == KYIV.entity_key)
        ).all()
    assert sorted(kyiv_mentions) == sorted([kyiv_item().article.content_sha256, berlin.article.content_sha256])


def test_load_articles_refuses_a_value_longer_than_its_column_rather_than_cut_it(engine: Engine) -> None:
    run_id = start_run(engine, "nightly", {})
    item = kyiv_item()
    label = "L" * 40  # mentions.label is VARCHAR(32)
    mention = dataclasses.replace(item.annotation.mentions[0], label=label)
    item = dataclasses.replace(item, annotation=dataclasses.replace(item.annotation, mentions=(mention,)))

    if engine.dialect.name == "postgresql":  # that article alone is rejected, with the database's reason
        outcome = load_set_wise(engine, run_id, item, VERSION)
        assert isinstance(outcome, RejectedInput) and outcome.reason.startswith(
            "loading failed: StringDataRightTruncation"
        )
        assert "too long" in outcome.reason
        # Nothing of the article; the entities it names were upserted for the whole batch and may stay.
        assert {table for table, count in count_rows(engine).items() if count} <= {"entities"}
    else:  # SQLite does not enforce lengths: the whole value is kept
        assert load_set_wise(engine, run_id, item, VERSION) == FileStatus.LOADED
        with engine.connect() as connection:
            assert connection.scalars(select(MentionRow.label)).all() == [label]


def test_load_articles_detaches_a_record_whose_content_changed(engine: Engine) -> None:
    run_id = start_run(engine, "nightly", {})
    with transaction(engine, "first load") as connection:
        load_articles(connection, run_id, [(kyiv_item("/in/a/story.txt"), VERSION)])
    changed = kyiv_item("/in/a/story.txt", body=KYIV_BODY.replace("overnight", "on Sunday night"))

    with transaction(engine, "second load") as connection:
        assert load_articles(connection, run_id, [(changed, VERSION)]) == [FileStatus.LOADED]

    with engine.connect() as connection:
        assert connection.scalars(select(ArticleRow.content_sha256)).all() == [changed.article.content_sha256]
        mentions = connection.execute(select(MentionRow.article_id).distinct()).scalars().all()
    assert len(mentions) == 1  # the old article's rows went with it


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_load_articles_stores_content_another_transaction_stored_first_as_a_duplicate(db_url: str) -> None:
    engine = create_engine_for(db_url)
    upgrade(engine)
    run_id = start_run(engine, "nightly", {})
    second: list[object] = []

    def load_the_copy() -> None:
        with transaction(engine, "second") as connection:
            second.extend(load_articles(connection, run_id, [(kyiv_item("/in/b/copy.txt"), VERSION)]))

    with transaction(engine, "first") as connection:
        assert load_articles(connection, run_id, [(kyiv_item("/in/a/kyiv.txt"), VERSION)]) == [FileStatus.LOADED]
        copy = threading.Thread(target=load_the_copy)
        copy.start()
        copy.join(timeout=2)
        # Still waiting for this transaction's locks: it looked for stored content before this one committed,
        # so it tries to insert the same content, is refused by the unique index, and goes one by one.
        assert copy.is_alive()
    copy.join(timeout=60)

    assert second == [FileStatus.DUPLICATE]
    with engine.connect() as connection:
        assert len(connection.scalars(select(ArticleRow.id)).all()) == 1
        assert sorted(connection.scalars(select(ArticleSourceRow.source_path))) == [
            "/in/a/kyiv.txt",
            "/in/b/copy.txt",
        ]
    engine.dispose()
