"""Texts in, annotations out: spaCy over batches, then canonical entities and PLOVER events per document."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, TypeVar

from spacy.language import Language
from spacy.tokens import Doc

from etl import __version__
from etl.nlp.entities import resolve_entities
from etl.nlp.events import code_events
from etl.nlp.gazetteer import reference_version
from etl.nlp.lexicon import Lexicon
from etl.nlp.model import model_version, parse
from etl.records import Annotation, Event

Context = TypeVar("Context")


def annotate_doc(doc: Doc, publication_date: date | None, lexicon: Lexicon) -> Annotation:
    """Entities, mentions and events of one parsed document; offsets are into `doc.text`."""
    entities, mentions = resolve_entities(doc)
    by_key = {entity.entity_key: entity for entity in entities}
    events = code_events(doc, mentions, by_key, publication_date, lexicon)
    return Annotation(entities=entities, mentions=mentions, events=tuple(events))


def annotate(
    nlp: Language,
    items: Iterable[tuple[str, date | None, Context]],
    lexicon: Lexicon,
    *,
    batch_size: int = 64,
    n_process: int = 1,
) -> Iterator[tuple[Annotation, Context]]:
    """Annotate `(text, publication_date, context)` items in order, streaming; the context is passed through.

    The one path from text to annotation: the flows and `newsetl annotate` both call it.
    """
    docs_with_context = parse(
        nlp,
        ((text, (published, context)) for text, published, context in items),
        batch_size=batch_size,
        n_process=n_process,
    )
    for doc, (published, context) in docs_with_context:
        yield annotate_doc(doc, published, lexicon), context


def pipeline_version(nlp: Language) -> str:
    """Stamped on every article: a change of code, model or reference data (lexicon, gazetteer, aliases) makes
    stored annotations out of date. At most 64 characters (the `articles.pipeline_version` column)."""
    return f"newsetl-{__version__}+{model_version(nlp)}+ref-{reference_version()}"


def annotation_json(record_id: object, annotation: Annotation) -> dict[str, Any]:
    """The `newsetl annotate` output line for one input: entities and events with offsets into its text."""
    canonical = {entity.entity_key: entity.canonical_name for entity in annotation.entities}

    def participants(event: Event, role: str) -> list[dict[str, Any]]:
        return [
            {
                "start": p.start,
                "end": p.end,
                "text": p.text,
                "canonical": p.canonical,
                "country": p.country,
                "sector": p.sector,
                "entity_key": p.entity_key,
            }
            for p in event.participants
            if p.role == role
        ]

    return {
        "id": record_id,
        "entities": [
            {
                "start": m.start,
                "end": m.end,
                "text": m.text,
                "label": m.label,
                "canonical": canonical[m.entity_key],
                "entity_key": m.entity_key,
            }
            for m in annotation.mentions
        ],
        "events": [
            {
                "type": event.event_type,
                "mode": event.mode,
                "trigger": {
                    "start": event.trigger_start,
                    "end": event.trigger_end,
                    "text": event.trigger_text,
                },
                "actors": participants(event, "actor"),
                "recipients": participants(event, "recipient"),
                "sources": participants(event, "source"),
                "location": canonical.get(event.location_key) if event.location_key else None,
                "date": event.event_date.isoformat() if event.event_date else None,
                "date_text": event.date_text,
                "negated": event.negated,
                "hypothetical": event.hypothetical,
                "sentence_index": event.sentence_index,
            }
            for event in annotation.events
        ],
    }
