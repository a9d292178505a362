"""The analysts' views mean the same on SQLite and PostgreSQL: lists, days, dyads and counts on known rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text

from etl.models import ArticleRow, EntityRow, EventClusterRow, EventParticipantRow, EventRow, MentionRow, RunRow
from etl.nlp.confidence import MIN_CONFIDENCE


def _event(
    event_id: int,
    event_type: str,
    day: date,
    *,
    negated: bool = False,
    confidence: float = 0.9,
    is_background: bool = False,
) -> dict[str, Any]:
    return {
        "id": event_id, "article_id": 1, "event_type": event_type, "mode": None, "trigger_text": "hit",
        "trigger_start": 0, "trigger_end": 3, "sentence_index": 0, "sentence_text": "…", "event_date": day,
        "date_text": None, "location_entity_id": 3 if event_id == 1 else None, "negated": negated,
        "hypothetical": False, "confidence": confidence, "is_background": is_background,
        "cluster_id": 1 if event_id < 3 else 2,
    }  # fmt: skip


def _participant(event_id: int, role: str, start: int, entity_id: int | None, words: str, **attrs: str) -> dict:
    return {
        "event_id": event_id, "role": role, "entity_id": entity_id, "text": words, "start_char": start,
        "end_char": start + len(words), "country": attrs.get("country"), "sector": attrs.get("sector"),
    }  # fmt: skip


@pytest.fixture
def facts(engine: Engine) -> Engine:
    """Two articles a day apart; three events, one negated (and so below the confidence line); an event with two
    actors named out of order; a background event (from 1954) and one as weak as can be counted."""
    started = datetime(2022, 11, 9, tzinfo=UTC)
    article = {
        "source_path": "/in/a.txt", "record_index": 0, "body": "…", "url": "https://example.org/a",
        "source": "Wire", "language": "en", "published_at_source": "metadata", "word_count": 9,
        "pipeline_version": "v", "first_seen_run_id": 1, "updated_run_id": 1,
    }  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(RunRow), [{"id": 1, "flow": "nightly", "parameters": "{}", "started_at": started,
                                             "status": "completed"}])  # fmt: skip
        connection.execute(insert(ArticleRow), [
            {**article, "id": 1, "content_sha256": "a", "title": "Shelling", "published_at": started},
            # 23:30 in Kyiv is still the 10th in UTC: days are UTC days.
            {**article, "id": 2, "content_sha256": "b", "title": "Talks", "source_path": "/in/b.txt",
             "published_at": datetime(2022, 11, 10, 23, 30, tzinfo=UTC)},
        ])  # fmt: skip
        connection.execute(insert(EntityRow), [
            {"id": 1, "entity_key": "GPE:russia", "canonical_name": "Russia", "type": "GPE", "country": "RUS"},
            {"id": 2, "entity_key": "GPE:ukraine", "canonical_name": "Ukraine", "type": "GPE", "country": "UKR"},
        ])  # fmt: skip
        # Its own statement: an executemany takes its columns from the first row.
        connection.execute(insert(EntityRow), [
            {"id": 3, "entity_key": "GPE:kherson", "canonical_name": "Kherson", "type": "GPE", "country": "UKR",
             "lat": 46.64, "lon": 32.61},
        ])  # fmt: skip
        connection.execute(insert(MentionRow), [
            {"article_id": article_id, "entity_id": 3, "start_char": start, "end_char": start + 7, "text": "Kherson",
             "label": "GPE", "sentence_index": 0}
            for article_id, start in ((1, 0), (1, 20), (2, 0))
        ])  # fmt: skip
        # The events of the 8th and 9th as one real-world event: the view shows clusters as they are stored.
        connection.execute(insert(EventClusterRow), [
            {"id": 1, "event_type": "ASSAULT", "actor_entity_id": 1, "recipient_entity_id": 2, "location_entity_id": 3,
             "event_date": date(2022, 11, 8), "first_seen_at": started, "num_articles": 1, "num_sources": 1,
             "num_mentions": 2},
            {"id": 2, "event_type": "ASSAULT", "actor_entity_id": 1, "recipient_entity_id": 2,
             "location_entity_id": None, "event_date": date(2022, 11, 10), "first_seen_at": started,
             "num_articles": 1, "num_sources": 1, "num_mentions": 1},
        ])  # fmt: skip
        connection.execute(insert(EventRow), [
            _event(1, "ASSAULT", date(2022, 11, 8)), _event(2, "ASSAULT", date(2022, 11, 9)),
            _event(3, "ASSAULT", date(2022, 11, 10), negated=True, confidence=0.36),
            _event(4, "ASSAULT", date(1954, 11, 1), is_background=True),
            _event(5, "ASSAULT", date(2022, 11, 9), confidence=MIN_CONFIDENCE),
        ])  # fmt: skip
        connection.execute(insert(EventParticipantRow), [
            _participant(1, "actor", 40, None, "Wagner fighters", country="RUS", sector="MIL"),
            _participant(1, "actor", 10, 1, "Russian forces", sector="MIL"),
            _participant(1, "recipient", 60, 2, "Ukraine"),
            _participant(1, "source", 0, None, "the governor"),
            _participant(2, "actor", 0, 1, "Russia"),
            _participant(2, "recipient", 20, 2, "Ukraine"),
            _participant(3, "actor", 0, 1, "Russia"),
            _participant(3, "recipient", 20, 2, "Ukraine"),
            _participant(4, "actor", 0, 1, "Russia"),
            _participant(4, "recipient", 20, 2, "Ukraine"),
        ])  # fmt: skip
    return engine


def _rows(engine: Engine, sql: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(text(sql)).mappings()]


def test_views_event_facts_joins_participants_in_text_order_and_codes_once(facts: Engine):
    first = _rows(facts, "SELECT * FROM event_facts WHERE event_id = 1")[0]
    assert first["actors"] == "Russia; Wagner fighters"
    assert first["actor_countries"] == "RUS" and first["actor_sectors"] == "MIL"
    assert (first["recipients"], first["recipient_countries"], first["recipient_sectors"]) == ("Ukraine", "UKR", None)
    assert first["reported_by"] == "the governor"
    assert (first["location"], first["location_country"], first["location_lat"]) == ("Kherson", "UKR", 46.64)
    assert (first["quad_class"], first["article_title"], first["article_url"]) == (
        "material conflict",
        "Shelling",
        "https://example.org/a",
    )
    assert str(first["event_date"]) == "2022-11-08" and not first["negated"] and first["confidence"] == 0.9


def test_views_actor_dyads_count_what_happened(facts: Engine):
    dyads = _rows(facts, "SELECT * FROM actor_dyads ORDER BY actor")
    russia = next(dyad for dyad in dyads if dyad["actor"] == "Russia")
    # Neither the negated event of the 10th nor the background one of 1954 is counted.
    assert (russia["recipient"], russia["event_type"], russia["events"]) == ("Ukraine", "ASSAULT", 2)
    assert (str(russia["first_date"]), str(russia["last_date"])) == ("2022-11-08", "2022-11-09")
    assert {dyad["actor"] for dyad in dyads} == {"Russia", "Wagner fighters"}


def test_views_entity_daily_mentions_count_by_utc_day(facts: Engine):
    days = _rows(
        facts, "SELECT day, mentions, articles FROM entity_daily_mentions WHERE entity = 'Kherson' ORDER BY day"
    )
    assert [(str(row["day"]), row["mentions"], row["articles"]) for row in days] == [
        ("2022-11-09", 2, 1),
        ("2022-11-10", 1, 1),
    ]
    later = _rows(facts, "SELECT count(*) AS n FROM entity_daily_mentions WHERE day >= '2022-11-10'")
    assert later[0]["n"] == 1


def test_views_article_overview_counts_each_article(facts: Engine):
    overview = _rows(
        facts, "SELECT title, mentions, entities, events, event_types FROM article_overview ORDER BY title"
    )
    assert overview == [
        {"title": "Shelling", "mentions": 2, "entities": 1, "events": 3, "event_types": "ASSAULT"},  # of 5 stored
        {"title": "Talks", "mentions": 1, "entities": 1, "events": 0, "event_types": None},
    ]


def test_views_count_events_at_or_above_the_confidence_line_that_are_news(facts: Engine):
    """The views read `counted_events`; every event stays in `events`, with its score and flag."""
    stored = _rows(facts, "SELECT id, confidence, is_background FROM events ORDER BY id")
    assert [(row["id"], row["confidence"], bool(row["is_background"])) for row in stored] == [
        (1, 0.9, False), (2, 0.9, False), (3, 0.36, False), (4, 0.9, True), (5, MIN_CONFIDENCE, False),
    ]  # fmt: skip
    counted = _rows(facts, "SELECT id FROM counted_events ORDER BY id")
    assert [row["id"] for row in counted] == [1, 2, 5]
    facts_rows = _rows(facts, "SELECT event_id FROM event_facts ORDER BY event_id")
    assert [row["event_id"] for row in facts_rows] == [1, 2, 5]


def test_views_event_facts_name_each_events_cluster_and_its_articles(facts: Engine):
    rows = _rows(facts, "SELECT event_id, cluster_id, cluster_articles FROM event_facts ORDER BY event_id")
    assert rows == [
        {"event_id": 1, "cluster_id": 1, "cluster_articles": 1},
        {"event_id": 2, "cluster_id": 1, "cluster_articles": 1},
        {"event_id": 5, "cluster_id": 2, "cluster_articles": 1},
    ]


def test_views_event_cluster_facts_has_one_named_row_per_cluster(facts: Engine):
    clusters = _rows(facts, "SELECT * FROM event_cluster_facts ORDER BY cluster_id")
    assert [(c["cluster_id"], c["actor"], c["recipient"], c["location"], c["num_mentions"]) for c in clusters] == [
        (1, "Russia", "Ukraine", "Kherson", 2),
        (2, "Russia", "Ukraine", None, 1),
    ]
    assert (clusters[0]["quad_class"], clusters[0]["actor_country"], str(clusters[0]["event_date"])) == (
        "material conflict",
        "RUS",
        "2022-11-08",
    )
