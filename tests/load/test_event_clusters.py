"""Event clusters: every stored event is a mention of one cluster, whose counts always equal its events."""

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from etl.article_store import load_articles, replace_annotations
from etl.database import create_engine_for, transaction, upgrade
from etl.file_ledger import retire_file
from etl.integrity import check_database
from etl.models import ArticleRow, EventClusterRow, EventRow
from etl.records import (
    AnnotatedArticle,
    Annotation,
    Article,
    DateSource,
    Entity,
    Event,
    FileStatus,
    Grouping,
    Participant,
)
from etl.run_ledger import start_run

RUSSIA = Entity("GPE:russia", "Russia", "GPE", country="RUS")
UKRAINE = Entity("GPE:ukraine", "Ukraine", "GPE", country="UKR")
KHERSON = Entity("GPE:kherson", "Kherson", "GPE", country="UKR")
TURKEY = Entity("GPE:turkey", "Turkey", "GPE", country="TUR")
MONDAY = datetime(2022, 11, 14, 8, tzinfo=UTC)
# Long enough for a near-duplicate to be told from another report: MinHash compares three-word shingles.
STORY = (
    "Russia shelled Ukraine's positions near Kherson on Monday, regional officials said, in the heaviest "
    "bombardment of the city since the withdrawal of Russian troops across the river earlier this month. "
    "Residents said power and water were cut in several districts and that queues formed at the few shops "
    "still open. Turkey offered to host talks between the two sides, the foreign ministry in Ankara said."
)
OTHER_STORY = (
    "Shells fell on Kherson again as Russian artillery on the far bank of the Dnipro targeted Ukrainian units, "
    "according to the governor. Aid groups are handing out generators and blankets before winter. Ankara "
    "repeated its offer of mediation."
)
VERSION = "v1"
DEFAULT = Grouping()


def _article(path: str, body: str, source: str, published_at: datetime) -> Article:
    return Article(
        source_path=path,
        record_index=0,
        title="Kherson",
        body=body,
        content_sha256=hashlib.sha256(f"{path}\n{body}".encode()).hexdigest(),
        word_count=len(body.split()),
        source=source,
        published_at=published_at,
        published_at_source=DateSource.METADATA,
    )


def _event(body: str, event_type: str, actor: Entity, recipient: Entity | None, day: date | None) -> Event:
    """An event triggered by the first word of `body`, between entities named where they first occur (or at 0)."""

    def party(role: str, entity: Entity) -> Participant:
        start = max(body.find(entity.canonical_name), 0)
        return Participant(role, start, start + len(entity.canonical_name), entity.canonical_name, entity.entity_key)

    participants = (party("actor", actor),) + (() if recipient is None else (party("recipient", recipient),))
    first_word = body.split()[0]
    return Event(
        event_type, None, 0, len(first_word), first_word, 0, body, participants, day, location_key=KHERSON.entity_key
    )


def _report(
    path: str,
    events: list[tuple[str, Entity, Entity | None, date | None]],
    *,
    body: str = STORY,
    source: str = "Wire",
    published_at: datetime = MONDAY,
) -> AnnotatedArticle:
    annotation = Annotation(
        entities=(RUSSIA, UKRAINE, KHERSON, TURKEY),
        events=tuple(_event(body, *event) for event in events),
    )
    return AnnotatedArticle(_article(path, body, source, published_at), annotation)


def _load(engine: Engine, items: list[AnnotatedArticle], grouping: Grouping = DEFAULT) -> list[FileStatus]:
    run_id = start_run(engine, "nightly", {})
    with transaction(engine, "load") as connection:
        return load_articles(connection, run_id, [(item, VERSION) for item in items], grouping)


def _clusters(engine: Engine) -> list[tuple[str, int, int, int]]:
    """(type, articles, sources, mentions) of every cluster, by id."""
    with engine.connect() as connection:
        return connection.execute(
            select(
                EventClusterRow.event_type,
                EventClusterRow.num_articles,
                EventClusterRow.num_sources,
                EventClusterRow.num_mentions,
            ).order_by(EventClusterRow.id)
        ).all()


def _grouping_problems(engine: Engine) -> list[str]:
    """What `newsetl db check` finds wrong with clusters and near-duplicate links (these tests' runs stay open)."""
    checks = ("event cluster counts", "near-duplicate links")
    return [str(problem) for problem in check_database(engine) if problem.check in checks]


SHELLING = ("ASSAULT", RUSSIA, UKRAINE, date(2022, 11, 14))
OFFER = ("CONSULT", TURKEY, None, date(2022, 11, 14))


def test_event_clusters_the_same_event_reported_by_two_outlets_is_one_cluster(engine: Engine) -> None:
    _load(engine, [_report("/in/a.txt", [SHELLING, OFFER], published_at=MONDAY + timedelta(hours=2))])
    _load(engine, [_report("/in/b.txt", [SHELLING, SHELLING], body=OTHER_STORY, source="Gazette")])
    assert _clusters(engine) == [("ASSAULT", 2, 2, 3), ("CONSULT", 1, 1, 1)]
    with engine.connect() as connection:
        first_seen = connection.scalars(select(EventClusterRow.first_seen_at).order_by(EventClusterRow.id)).all()
        assert connection.scalar(select(func.count()).where(EventRow.cluster_id.is_(None))) == 0
    # The Gazette's report of the shelling was published first; only the Wire reported the offer.
    assert first_seen == [MONDAY, MONDAY + timedelta(hours=2)]
    assert _grouping_problems(engine) == []


def test_event_clusters_are_split_by_day_type_and_parties_within_the_window(engine: Engine) -> None:
    tuesday = ("ASSAULT", RUSSIA, UKRAINE, date(2022, 11, 15))
    other_recipient = ("ASSAULT", RUSSIA, TURKEY, date(2022, 11, 14))
    other_type = ("COERCE", RUSSIA, UKRAINE, date(2022, 11, 14))
    _load(engine, [_report("/in/a.txt", [SHELLING, tuesday, other_recipient, other_type])])
    assert [cluster[0] for cluster in _clusters(engine)] == ["ASSAULT", "ASSAULT", "ASSAULT", "COERCE"]


def test_event_clusters_window_of_two_days_joins_the_next_day(engine: Engine) -> None:
    tuesday = ("ASSAULT", RUSSIA, UKRAINE, date(2022, 11, 15))
    _load(engine, [_report("/in/a.txt", [SHELLING])], Grouping(cluster_days=2))
    _load(engine, [_report("/in/b.txt", [tuesday], body=OTHER_STORY)], Grouping(cluster_days=2))
    assert _clusters(engine) == [("ASSAULT", 2, 1, 2)]


def test_event_clusters_a_near_duplicates_events_join_its_originals_clusters(engine: Engine) -> None:
    _load(engine, [_report("/in/wire.txt", [SHELLING, OFFER])])
    # Republished a day later: "on Monday" read as another day, the recipient not recognised.
    copy_body = "(Gazette) " + STORY + " Subscribe for more."
    # Its boilerplate coded as an event its original does not have: a copy adds reports, not events.
    later = [
        ("ASSAULT", RUSSIA, None, date(2022, 11, 21)),
        ("CONSULT", TURKEY, None, None),
        ("AID", TURKEY, None, None),
    ]
    _load(
        engine,
        [_report("/in/gazette.txt", later, body=copy_body, source="Gazette", published_at=MONDAY + timedelta(1))],
    )
    with engine.connect() as connection:
        original, copy = connection.execute(select(ArticleRow.id, ArticleRow.near_duplicate_of).order_by(ArticleRow.id))
    assert copy.near_duplicate_of == original.id and original.near_duplicate_of is None
    assert _clusters(engine) == [("ASSAULT", 2, 2, 3), ("CONSULT", 2, 2, 2)]


def test_event_clusters_of_a_folder_with_copies_are_those_of_the_originals(engine: Engine, second_db_url: str) -> None:
    originals = [_report("/in/a.txt", [SHELLING, OFFER]), _report("/in/b.txt", [SHELLING], body=OTHER_STORY)]
    # In one batch the copy may be stored before its original (ids follow content hashes), and start the clusters.
    copy = _report("/in/c.txt", [SHELLING], body=STORY + " Read more.", source="Gazette")
    _load(engine, [*originals, copy])
    alone = create_engine_for(second_db_url)
    upgrade(alone)
    _load(alone, originals)
    assert len(_clusters(engine)) == len(_clusters(alone)) == 2
    assert _clusters(engine)[0] == ("ASSAULT", 3, 2, 3)
    alone.dispose()


def test_event_clusters_a_copy_in_the_same_batch_joins_its_originals_clusters(engine: Engine) -> None:
    # No named party: only the copy's link to its original tells these events are the same.
    unnamed = ("PROTEST", TURKEY, None, date(2022, 11, 14))
    items = [_report(f"/in/{n}.txt", [unnamed], body=f"{STORY} Edition {n}.") for n in range(3)]
    items = [
        replace(item, annotation=replace(item.annotation, events=_unnamed(item.annotation.events))) for item in items
    ]
    _load(engine, items)
    assert _clusters(engine) == [("PROTEST", 3, 1, 3)]


def _unnamed(events: tuple[Event, ...]) -> tuple[Event, ...]:
    return tuple(replace(event, participants=(), location_key=None) for event in events)


def test_event_clusters_reannotation_recounts_the_clusters_it_leaves_and_joins(engine: Engine) -> None:
    _load(engine, [_report("/in/a.txt", [SHELLING]), _report("/in/b.txt", [SHELLING], body=OTHER_STORY)])
    with engine.connect() as connection:
        second = connection.scalar(select(func.max(ArticleRow.id)))
    run_id = start_run(engine, "backfill", {})
    replace_annotations(engine, second, _report("/in/b.txt", [OFFER], body=OTHER_STORY).annotation, "v2", run_id)
    assert _clusters(engine) == [("ASSAULT", 1, 1, 1), ("CONSULT", 1, 1, 1)]
    replace_annotations(engine, second, Annotation(entities=(TURKEY,)), "v2", run_id)
    assert _clusters(engine) == [("ASSAULT", 1, 1, 1)]
    assert _grouping_problems(engine) == []


def test_event_clusters_retiring_a_file_recounts_and_drops_emptied_clusters(engine: Engine) -> None:
    _load(engine, [_report("/in/a.txt", [SHELLING, OFFER]), _report("/in/b.txt", [SHELLING], body=OTHER_STORY)])
    retire_file(engine, "/in/a.txt")
    assert _clusters(engine) == [("ASSAULT", 1, 1, 1)]
    assert _grouping_problems(engine) == []


def test_event_clusters_loading_again_changes_nothing(engine: Engine) -> None:
    items = [_report("/in/a.txt", [SHELLING, OFFER]), _report("/in/b.txt", [SHELLING], body=OTHER_STORY)]
    _load(engine, items)
    before = _clusters(engine)
    assert _load(engine, items) == [FileStatus.SKIPPED, FileStatus.SKIPPED]
    assert _clusters(engine) == before


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_event_clusters_concurrent_loads_on_postgres_share_clusters(engine: Engine) -> None:
    """Loads in parallel transactions (workers of a Dask cluster) wait for each other's clusters."""
    bodies = [f"{STORY} Report number {n} from desk {n * 7}. " + OTHER_STORY * (n % 2) for n in range(8)]
    items = [_report(f"/in/{n}.txt", [SHELLING, OFFER], body=f"Desk {n}. {body}") for n, body in enumerate(bodies)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda item: _load(engine, [item]), items))
    assert _clusters(engine) == [("ASSAULT", 8, 1, 8), ("CONSULT", 8, 1, 8)]
    assert _grouping_problems(engine) == []
