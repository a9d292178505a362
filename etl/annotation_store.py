"""An article's annotation written: its entities upserted, their aliases, its mentions, events and participants."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, select

from etl import event_clusters
from etl.bulk_write import insert_rows, new_ids
from etl.database import pages
from etl.errors import RejectedInput, article_stage
from etl.models import EntityAliasRow, EntityRow, EventParticipantRow, EventRow, MentionRow
from etl.records import Annotation, Entity

# Entity attributes a later article fills in when the article that named the entity first did not know them.
_FILLED = ("country", "sector", "kb_id", "lat", "lon")


def insert_annotation(connection: Connection, article_id: int, annotation: Annotation, cluster_days: int) -> None:
    entity_ids = referenced_entity_ids(connection, [annotation], upsert_merged_entities(connection, [annotation]))
    with article_stage("building rows"):
        rows = annotation_rows(annotation, entity_ids)
    insert_aliases(connection, [annotation], entity_ids)
    insert_annotation_rows(connection, [(article_id, rows)], cluster_days)


@dataclass(frozen=True, slots=True)
class AnnotationRows:
    """The rows of one article's annotation, ready to insert but for its article's id and its events' ids, which
    `insert_annotation_rows` sets in them (rather than copy thousands of dicts to add a key)."""

    mentions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    participants: list[list[dict[str, Any]]]  # those of each event, without its event_id


def annotation_rows(annotation: Annotation, entity_ids: dict[str, int]) -> AnnotationRows:
    """`RejectedInput` when the annotation refers to an entity that is neither in it nor stored."""
    mentions = [
        {
            "entity_id": _entity_id(entity_ids, mention.entity_key, "mention"),
            "start_char": mention.start,
            "end_char": mention.end,
            "text": mention.text,
            "label": mention.label,
            "sentence_index": mention.sentence_index,
        }
        for mention in annotation.mentions
    ]
    events = [
        {
            "event_type": event.event_type,
            "mode": event.mode,
            "trigger_text": event.trigger_text,
            "trigger_start": event.trigger_start,
            "trigger_end": event.trigger_end,
            "sentence_index": event.sentence_index,
            "sentence_text": event.sentence_text,
            "event_date": event.event_date,
            "date_text": event.date_text,
            "location_entity_id": (
                None if event.location_key is None else _entity_id(entity_ids, event.location_key, "event location")
            ),
            "negated": event.negated,
            "hypothetical": event.hypothetical,
            "confidence": event.confidence,
            "is_background": event.is_background,
        }
        for event in annotation.events
    ]
    participants = [
        [
            {
                "role": participant.role,
                "entity_id": (
                    None
                    if participant.entity_key is None
                    else _entity_id(entity_ids, participant.entity_key, "event participant")
                ),
                "text": participant.text,
                "start_char": participant.start,
                "end_char": participant.end,
                "country": participant.country,
                "sector": participant.sector,
            }
            for participant in event.participants
        ]
        for event in annotation.events
    ]
    return AnnotationRows(mentions, events, participants)


def insert_annotation_rows(
    connection: Connection, annotations: Sequence[tuple[int, AnnotationRows]], cluster_days: int
) -> None:
    """Mentions, events and their participants of many articles, by article id, one statement per table; each
    event in its cluster (`etl.event_clusters`), whose counts are then recomputed."""
    for article_id, rows in annotations:
        for row in (*rows.mentions, *rows.events):
            row["article_id"] = article_id
    insert_rows(connection, MentionRow, [row for _, rows in annotations for row in rows.mentions])
    events = [row for _, rows in annotations for row in rows.events]
    event_ids = new_ids(connection, EventRow, len(events))
    event_participants = [participants for _, rows in annotations for participants in rows.participants]
    to_cluster = [
        event_clusters.to_cluster(row, participants)
        for row, participants in zip(events, event_participants, strict=True)
    ]
    cluster_ids = event_clusters.assign(connection, to_cluster, cluster_days)
    for event_id, cluster_id, row, participants in zip(event_ids, cluster_ids, events, event_participants, strict=True):
        row["id"] = event_id
        row["cluster_id"] = cluster_id
        for participant in participants:
            participant["event_id"] = event_id
    insert_rows(connection, EventRow, events)
    insert_rows(connection, EventParticipantRow, [row for participants in event_participants for row in participants])
    event_clusters.refresh(connection, cluster_ids)


def insert_aliases(connection: Connection, annotations: Sequence[Annotation], entity_ids: dict[str, int]) -> None:
    """Every name the annotations give their entities; an article's own canonical name is kept as an alias, so it is
    not lost when another article's won."""
    aliases = {
        (entity_ids[entity.entity_key], alias)
        for annotation in annotations
        for entity in annotation.entities
        for alias in (entity.canonical_name, *entity.aliases)
    }
    rows = [{"entity_id": entity_id, "alias": alias} for entity_id, alias in sorted(aliases)]
    insert_rows(connection, EntityAliasRow, rows, lambda statement: statement.on_conflict_do_nothing())


def referenced_entity_ids(
    connection: Connection, annotations: Sequence[Annotation], known: dict[str, int]
) -> dict[str, int]:
    """The ids of the entities the annotations refer to: `known`, and those stored before, looked up."""
    ids = dict(known)
    keys = sorted({key for annotation in annotations for key in _referenced_keys(annotation)} - ids.keys())
    for page in pages(keys):
        ids.update(
            connection.execute(select(EntityRow.entity_key, EntityRow.id).where(EntityRow.entity_key.in_(page))).all()
        )
    return ids


def upsert_merged_entities(connection: Connection, annotations: Sequence[Annotation]) -> dict[str, int]:
    """Upsert at once, in key order, the entities of the annotations a transaction is about to load, as loading
    them one annotation after another would leave them (the first names an entity, later ones fill only what it
    did not know). Called first in a batch transaction, it takes every entity lock the batch needs in one global
    order, so two batches loading the same entities at once wait for each other and never deadlock. Returns their
    ids by key."""
    merged: dict[str, Entity] = {}
    for annotation in annotations:
        for entity in annotation.entities:
            first = merged.setdefault(entity.entity_key, entity)
            known = {name: getattr(entity, name) for name in _FILLED if getattr(first, name) is None}
            if first is not entity and any(value is not None for value in known.values()):
                merged[entity.entity_key] = replace(first, **known)
    return _upsert_entity_rows(connection, merged.values())


def _upsert_entity_rows(connection: Connection, entities: Iterable[Entity]) -> dict[str, int]:
    """Insert entities not stored yet; an existing row keeps its canonical name and fills only its unknown
    attributes. In key order: transactions upserting the same entities lock them in one order, never waiting on
    each other in a cycle. Returns their ids by key, from the upsert itself (no look-up after)."""
    rows = [
        {
            "entity_key": entity.entity_key,
            "canonical_name": entity.canonical_name,
            "type": entity.type,
            "country": entity.country,
            "sector": entity.sector,
            "kb_id": entity.kb_id,
            "lat": entity.lat,
            "lon": entity.lon,
        }
        for entity in sorted(entities, key=lambda entity: entity.entity_key)
    ]

    def known_or_new(statement: Any) -> Any:
        filled = {column: func.coalesce(getattr(EntityRow, column), statement.excluded[column]) for column in _FILLED}
        upsert = statement.on_conflict_do_update(index_elements=[EntityRow.entity_key], set_=filled)
        return upsert.returning(EntityRow.entity_key, EntityRow.id)

    result = insert_rows(connection, EntityRow, rows, known_or_new)
    return {} if result is None else dict(result.tuples().all())


def _referenced_keys(annotation: Annotation) -> list[str]:
    keys: set[str] = {entity.entity_key for entity in annotation.entities}
    keys.update(mention.entity_key for mention in annotation.mentions)
    for event in annotation.events:
        if event.location_key is not None:
            keys.add(event.location_key)
        keys.update(p.entity_key for p in event.participants if p.entity_key is not None)
    return sorted(keys)


def _entity_id(entity_ids: dict[str, int], key: str, referrer: str) -> int:
    try:
        return entity_ids[key]
    except KeyError:
        raise RejectedInput(
            f"{referrer} refers to entity {key!r}, which is neither in the annotation nor stored"
        ) from None
