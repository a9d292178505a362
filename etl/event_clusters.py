"""Event clusters: the coded events of every article reporting one real-world event, counted once.

Each event stored joins one cluster (`events.cluster_id`), chosen when it is inserted, in the load stage's
transaction:

1. an event of a near-duplicate article joins a cluster of its original's events: one with the same type,
   actor, recipient and location if there is one, else the first of the same type (a copy's relative dates,
   "yesterday", may resolve to another day than the original's), else the original's first: a copy adds
   reports, not events, even when its own boilerplate or an added paragraph is coded as one;
2. otherwise it joins the first cluster of the same type, actor and recipient (with no recipient: the same
   location) whose date is fewer than `cluster_days` days from its own (the event's date, else its article's
   publication day), as Phoenix keeps one event per day, actor, recipient and type; an event with neither a
   named actor, recipient nor place joins none this way: nothing tells it is the same as another;
3. otherwise it starts a new cluster, which keeps that event's type, mode, participants and date.

The counts of every cluster an insert or a delete touched are then recomputed from its events (`refresh`), so
they always equal what is stored, whatever order articles arrive, are re-annotated or retired in. On PostgreSQL
the transactions that cluster take one advisory lock first (`lock`), so concurrent writers (a load and a
`--retire-missing` or backfill of another process) see each other's clusters and never create the same one twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Select, bindparam, distinct, exists, func, insert, select, update
from sqlalchemy import delete as sql_delete

from etl.database import pages
from etl.models import ArticleRow, EventClusterRow, EventParticipantRow, EventRow

# Any constant would do: the key of the advisory lock that serialises clustering on PostgreSQL.
_LOCK_KEY = 0x6E65_7773_6574_6C18
ARTICLES_PER_PAGE = 200


@dataclass(frozen=True, slots=True)
class EventToCluster:
    """What chooses an event's cluster."""

    article_id: int
    event_type: str
    mode: str | None
    actor_id: int | None  # the entity of its first actor
    recipient_id: int | None  # the entity of its first recipient
    location_id: int | None
    event_date: date | None

    @property
    def has_parties(self) -> bool:
        """Whether a named actor, recipient or place tells this event from others of its type and day."""
        return (self.actor_id, self.recipient_id, self.location_id) != (None, None, None)


@dataclass(frozen=True, slots=True)
class _Cluster:
    id: int
    event_type: str
    actor_id: int | None
    recipient_id: int | None
    location_id: int | None

    def same_parties(self, event: EventToCluster) -> bool:
        return (self.actor_id, self.recipient_id) == (event.actor_id, event.recipient_id) and (
            event.recipient_id is not None or self.location_id == event.location_id
        )


# A cluster's id and what events are matched against.
_CLUSTER = select(
    EventClusterRow.id,
    EventClusterRow.event_type,
    EventClusterRow.actor_entity_id,
    EventClusterRow.recipient_entity_id,
    EventClusterRow.location_entity_id,
)


def to_cluster(event: Mapping[str, Any], participants: Sequence[Mapping[str, Any]]) -> EventToCluster:
    """What picks an event's cluster, from its row and its participants' rows (those of `events` and
    `event_participants`): its type, the entities of its first actor and recipient, its place and date."""

    def first(role: str) -> int | None:
        named = [p for p in participants if p["role"] == role and p["entity_id"] is not None]
        return min(named, key=itemgetter("start_char"))["entity_id"] if named else None

    return EventToCluster(
        article_id=event["article_id"],
        event_type=event["event_type"],
        mode=event["mode"],
        actor_id=first("actor"),
        recipient_id=first("recipient"),
        location_id=event["location_entity_id"],
        event_date=event["event_date"],
    )


def cluster_stored(connection: Connection, cluster_days: int) -> None:
    """Put every stored event in its cluster, article by article in id order, a page of articles at a time (an
    upgraded database's events, stored before clusters were); each article's original comes before it."""
    last_id = 0
    while article_ids := connection.scalars(
        select(ArticleRow.id).where(ArticleRow.id > last_id).order_by(ArticleRow.id).limit(ARTICLES_PER_PAGE)
    ).all():
        events = (
            connection.execute(
                select(
                    EventRow.id,
                    EventRow.article_id,
                    EventRow.event_type,
                    EventRow.mode,
                    EventRow.location_entity_id,
                    EventRow.event_date,
                )
                .where(EventRow.article_id.in_(article_ids))
                .order_by(EventRow.article_id, EventRow.id)
            )
            .mappings()
            .all()
        )
        participants: dict[int, list[Mapping[str, Any]]] = {}
        for page in pages([event["id"] for event in events]):
            rows = connection.execute(
                select(
                    EventParticipantRow.event_id,
                    EventParticipantRow.role,
                    EventParticipantRow.entity_id,
                    EventParticipantRow.start_char,
                ).where(EventParticipantRow.event_id.in_(page))
            ).mappings()
            for row in rows:
                participants.setdefault(row["event_id"], []).append(row)
        of_article: dict[int, list[Mapping[str, Any]]] = {}
        for event in events:
            of_article.setdefault(event["article_id"], []).append(event)
        touched: set[int] = set()
        # One article at a time: a copy's events look for the clusters its original's events joined.
        for own in of_article.values():
            chosen = assign(connection, [to_cluster(e, participants.get(e["id"], [])) for e in own], cluster_days)
            connection.execute(
                update(EventRow).where(EventRow.id == bindparam("event_id")).values(cluster_id=bindparam("cluster")),
                [{"event_id": e["id"], "cluster": c} for e, c in zip(own, chosen, strict=True)],
            )
            touched.update(chosen)
        refresh(connection, touched)
        last_id = article_ids[-1]


def lock(connection: Connection) -> None:
    """Hold the clustering lock until the transaction ends (PostgreSQL; a SQLite writer is alone already).
    Taken before anything else a load locks, so no transaction waits for it while holding what the holder needs."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))


def assign(connection: Connection, events: Sequence[EventToCluster], cluster_days: int) -> list[int]:
    """The cluster of each event about to be inserted, in order; new clusters are inserted (with zero counts until
    `refresh`). An article's events may be among them, before its copies' (events of one batch are inserted
    after they are all assigned)."""
    articles = _articles(connection, sorted({event.article_id for event in events}))
    stored_clusters: dict[int, list[_Cluster]] = {}
    assigned: dict[int, list[_Cluster]] = {}  # by article, in this call
    chosen = []
    for event in events:
        original, published = articles[event.article_id]
        cluster = None
        if original is not None:
            if original not in stored_clusters:
                stored_clusters[original] = _clusters_of_article(connection, original)
            known = {c.id: c for c in (*stored_clusters[original], *assigned.get(original, ()))}
            cluster = _of_original([known[i] for i in sorted(known)], event)
        day = event.event_date or published
        if cluster is None and event.has_parties:
            cluster = _matching(connection, event, day, cluster_days)
        if cluster is None:
            cluster = _new(connection, event, day)
        assigned.setdefault(event.article_id, []).append(cluster)
        chosen.append(cluster.id)
    return chosen


def of_articles(connection: Connection, article_ids: Iterable[int]) -> set[int]:
    """The clusters the events of these articles belong to: those to refresh after the events are deleted."""
    found: set[int] = set()
    for page in pages(sorted(set(article_ids))):
        found.update(connection.scalars(select(distinct(EventRow.cluster_id)).where(EventRow.article_id.in_(page))))
    return found


def refresh(connection: Connection, cluster_ids: Iterable[int]) -> None:
    """Recompute these clusters' counts and first sighting from their events; delete those left without any."""
    cluster = EventClusterRow
    members = EventRow.cluster_id == cluster.id
    reports = select().select_from(EventRow).join(ArticleRow, ArticleRow.id == EventRow.article_id).where(members)
    for page in pages(sorted(set(cluster_ids))):
        connection.execute(sql_delete(cluster).where(cluster.id.in_(page), ~exists().where(members)))
        connection.execute(
            update(cluster)
            .where(cluster.id.in_(page))
            .values(
                num_mentions=select(func.count()).where(members).scalar_subquery(),
                num_articles=select(func.count(distinct(EventRow.article_id))).where(members).scalar_subquery(),
                num_sources=reports.add_columns(func.count(distinct(ArticleRow.source))).scalar_subquery(),
                first_seen_at=reports.add_columns(func.min(ArticleRow.published_at)).scalar_subquery(),
            )
        )


def _articles(connection: Connection, article_ids: Sequence[int]) -> dict[int, tuple[int | None, date | None]]:
    """Each article's original (when it is a near-duplicate) and publication day."""
    found = {}
    for page in pages(article_ids):
        rows = connection.execute(
            select(ArticleRow.id, ArticleRow.near_duplicate_of, ArticleRow.published_at).where(ArticleRow.id.in_(page))
        )
        found.update(
            (article_id, (original, published and published.date())) for article_id, original, published in rows
        )
    return found


def _clusters_of_article(connection: Connection, article_id: int) -> list[_Cluster]:
    of_article = select(EventRow.cluster_id).where(EventRow.article_id == article_id)
    rows = connection.execute(_CLUSTER.where(EventClusterRow.id.in_(of_article)).order_by(EventClusterRow.id))
    return [_Cluster(*row) for row in rows]


def _of_original(clusters: Sequence[_Cluster], event: EventToCluster) -> _Cluster | None:
    same_type = [cluster for cluster in clusters if cluster.event_type == event.event_type]
    same_parties = [cluster for cluster in same_type if cluster.same_parties(event)]
    return (same_parties or same_type or [*clusters, None])[0]


def _matching(connection: Connection, event: EventToCluster, day: date | None, cluster_days: int) -> _Cluster | None:
    statement = _matching_statement(
        event.actor_id is None, event.recipient_id is None, event.location_id is None, day is None
    )
    window = timedelta(days=cluster_days - 1)
    row = connection.execute(
        statement,
        {
            "event_type": event.event_type,
            "actor_id": event.actor_id,
            "recipient_id": event.recipient_id,
            "location_id": event.location_id,
            "first_day": day and day - window,
            "last_day": day and day + window,
        },
    ).first()
    return None if row is None else _Cluster(*row)


@cache
def _matching_statement(no_actor: bool, no_recipient: bool, no_location: bool, undated: bool) -> Select[Any]:
    """The query for the first cluster an event of this shape joins, built once per shape: an absent party
    matches a cluster without one; with no recipient, the location must match too."""
    cluster = EventClusterRow

    def equals(column: Any, absent: bool, name: str) -> Any:
        return column.is_(None) if absent else column == bindparam(name)

    conditions: list[Any] = [
        cluster.event_type == bindparam("event_type"),
        equals(cluster.actor_entity_id, no_actor, "actor_id"),
        equals(cluster.recipient_entity_id, no_recipient, "recipient_id"),
    ]
    if no_recipient:
        conditions.append(equals(cluster.location_entity_id, no_location, "location_id"))
    if undated:
        conditions.append(cluster.event_date.is_(None))
    else:
        conditions.append(cluster.event_date.between(bindparam("first_day"), bindparam("last_day")))
    return _CLUSTER.where(*conditions).order_by(cluster.id).limit(1)


# Built once: constructing the statement per new cluster cost more than executing it.
_INSERT_CLUSTER = insert(EventClusterRow).returning(EventClusterRow.id)


def _new(connection: Connection, event: EventToCluster, day: date | None) -> _Cluster:
    cluster_id = connection.scalar(
        _INSERT_CLUSTER,
        {
            "event_type": event.event_type,
            "mode": event.mode,
            "actor_entity_id": event.actor_id,
            "recipient_entity_id": event.recipient_id,
            "location_entity_id": event.location_id,
            "event_date": day,
            "num_articles": 0,
            "num_sources": 0,
            "num_mentions": 0,
        },
    )
    return _Cluster(cluster_id, event.event_type, event.actor_id, event.recipient_id, event.location_id)
