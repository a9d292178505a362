"""Texts in, annotations out: spaCy over batches, then canonical entities and PLOVER events per document."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from itertools import islice
from typing import Any, TypeVar

from spacy.language import Language
from spacy.tokens import Doc

from etl import __version__
from etl.errors import RejectedInput, article_stage
from etl.nlp.entities import resolve_entities
from etl.nlp.events import code_events
from etl.nlp.gazetteer import reference_version
from etl.nlp.lexicon import Lexicon
from etl.nlp.model import model_version, parse
from etl.records import Annotation, Entity, Event, Mention

Context = TypeVar("Context")
Text = tuple[str, date | None]  # a text to annotate and its publication date
# What annotating one text gives: its annotation, or why it cannot be annotated (that text only).
Outcome = Annotation | RejectedInput

# Texts longer than this are parsed in windows of at most this many characters, cut between paragraphs, else
# between sentences, else at a space: spaCy refuses texts over its `max_length` and its memory grows with a
# text's length, so a text of any length is parsed in time and memory linear in it. Entities are resolved per
# window (a long text's "Putin" is tied to the "Vladimir Putin" of its own window only).
WINDOW_CHARS = 50_000
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")


def annotate_doc(doc: Doc, publication_date: date | None, lexicon: Lexicon) -> Annotation:
    """Entities, mentions and events of one parsed document; offsets are into `doc.text`."""
    with article_stage("canonicalising"):
        entities, mentions = resolve_entities(doc)
    by_key = {entity.entity_key: entity for entity in entities}
    with article_stage("event coding"):
        events = code_events(doc, mentions, by_key, publication_date, lexicon)
    return Annotation(entities=entities, mentions=mentions, events=tuple(events))


def annotate(
    nlp: Language, items: Iterable[tuple[str, date | None, Context]], lexicon: Lexicon, *, batch_size: int = 16
) -> Iterator[tuple[Outcome, Context]]:
    """Annotate `(text, publication_date, context)` items in this process, in order, streaming; the context is
    passed through.

    The one path from text to annotation: `newsetl annotate` calls it, and so does every worker of an
    `etl.nlp.annotator.Annotator`, which the flows use. `batch_size` texts are parsed at once (spaCy's working
    memory grows with it). A text that fails (spaCy refuses it, a component raises) gives its `RejectedInput` (an
    `ArticleFailed` naming the stage) instead of an annotation; the other texts are annotated all the same.
    """
    iterator = iter(items)
    while chunk := list(islice(iterator, batch_size)):
        texts = [(text, published) for text, published, _ in chunk]
        try:
            outcomes = list(_annotated(nlp, texts, lexicon, batch_size))
        except Exception:  # spaCy failed on one of them, for them all: each alone below, to reject that one only
            outcomes = []
        if len(outcomes) < len(texts):  # out of the handler, so that no traceback shows the other text's error
            outcomes = [_annotated_alone(nlp, text, lexicon) for text in texts]
        yield from zip(outcomes, (context for _, _, context in chunk), strict=True)


def _annotated_alone(nlp: Language, text: Text, lexicon: Lexicon) -> Outcome:
    try:
        with article_stage("annotation"):
            [outcome] = _annotated(nlp, [text], lexicon, 1)
    except RejectedInput as exc:
        return exc
    return outcome


def _annotated(nlp: Language, texts: list[Text], lexicon: Lexicon, batch_size: int) -> Iterator[Outcome]:
    """Each text's outcome, its windows parsed and annotated in turn and joined; raises when spaCy fails."""
    size = min(WINDOW_CHARS, nlp.max_length)
    if any(len(text) > size for text, _ in texts):  # memory grows with the characters parsed at once, not the texts
        batch_size = 1
    windows = (
        (window, (number, start))
        for number, (text, _) in enumerate(texts)
        for start, window in text_windows(text, size)
    )
    parts: list[tuple[int, int, Annotation]] = []  # of the current text: (char offset, sentence offset, annotation)
    failure: RejectedInput | None = None
    sentences = 0
    current = 0
    for doc, (number, start) in parse(nlp, windows, batch_size=batch_size):
        if number != current:
            yield failure or joined(parts)
            parts, failure, sentences, current = [], None, 0, number
        if failure is None:
            try:
                parts.append((start, sentences, annotate_doc(doc, texts[number][1], lexicon)))
            except RejectedInput as exc:
                failure = exc
            sentences += sum(1 for _ in doc.sents)
    if texts:
        yield failure or joined(parts)


def text_windows(text: str, size: int) -> Iterator[tuple[int, str]]:
    """`(offset, window)` pieces of `text` of at most `size` characters that spell it exactly, in order: the whole
    text when it fits, else each piece cut after the last paragraph break of its second half, else after its last
    sentence end, else after its last space, else at `size`. Linear in the text's length."""
    start = 0
    while len(text) - start > size:
        low, high = start + size // 2, start + size
        end = text.rfind("\n\n", low, high) + 2
        if end < 2:
            ends = [match.end() for match in _SENTENCE_END.finditer(text, low, high)]
            end = ends[-1] if ends else max(text.rfind(" ", low, high), text.rfind("\n", low, high)) + 1
        if end <= low:  # no space in half a window: a hard cut
            end = high
        yield start, text[start:end]
        start = end
    yield start, text[start:]


def joined(parts: list[tuple[int, int, Annotation]]) -> Annotation:
    """One annotation of a text from those of its windows, each given with its character and sentence offsets in
    the text: offsets shifted, each entity once (the first window's, with every window's aliases)."""
    if len(parts) == 1:
        return parts[0][2]
    entities: dict[str, Entity] = {}
    mentions: list[Mention] = []
    events: list[Event] = []
    for chars, sentences, annotation in parts:
        for entity in annotation.entities:
            known = entities.get(entity.entity_key)
            aliases = entity.aliases if known is None else tuple(dict.fromkeys(known.aliases + entity.aliases))
            entities[entity.entity_key] = replace(known or entity, aliases=aliases)
        mentions.extend(
            replace(m, start=m.start + chars, end=m.end + chars, sentence_index=m.sentence_index + sentences)
            for m in annotation.mentions
        )
        events.extend(
            replace(
                e,
                trigger_start=e.trigger_start + chars,
                trigger_end=e.trigger_end + chars,
                sentence_index=e.sentence_index + sentences,
                participants=tuple(replace(p, start=p.start + chars, end=p.end + chars) for p in e.participants),
            )
            for e in annotation.events
        )
    return Annotation(entities=tuple(entities.values()), mentions=tuple(mentions), events=tuple(events))


def pipeline_version(model_name: str) -> str:
    """Stamped on every article: a change of code, model or reference data (lexicon, gazetteer, aliases) makes
    stored annotations out of date. At most 64 characters (the `articles.pipeline_version` column)."""
    return f"newsetl-{__version__}+{model_version(model_name)}+ref-{reference_version()}"


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
                "confidence": event.confidence,
                "is_background": event.is_background,
                "sentence_index": event.sentence_index,
            }
            for event in annotation.events
        ],
    }
