"""Entity mentions from a parsed Doc, grouped into one canonical entity per real-world thing.

Within an article, "Vladimir Putin", "Putin" and "Putin's" are one person; the same surface form carries one
label (a vote across its mentions). Across articles, the entity key (type and normalised canonical name) maps
every article that names the same thing to the same `entities` row.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

from etl.nlp import gazetteer
from etl.records import Entity, Mention

# Named things only: dates, times and quantities are attributes of events and articles, not entities.
ENTITY_LABELS = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
_LEADING_WORDS = frozenset({"the", "a", "an"})
_POSSESSIVES = frozenset({"'s", "’s", "'", "’"})
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    text: str
    label: str
    sentence_index: int


def normalise_name(text: str) -> str:
    """The comparison form of a name: case-folded, single-spaced, without a leading article."""
    words = _SPACES.sub(" ", text).strip().casefold().split(" ")
    if len(words) > 1 and words[0] in _LEADING_WORDS:
        words = words[1:]
    return " ".join(words)


def entity_key(label: str, canonical_name: str) -> str:
    return f"{label}:{normalise_name(canonical_name)}"


def _trimmed(ent: Span) -> Span | None:
    """The entity span without a leading article, a trailing possessive, punctuation or figure."""
    start, end = ent.start, ent.end
    doc = ent.doc
    while start < end and (doc[start].lower_ in _LEADING_WORDS or doc[start].is_punct):
        start += 1
    # A score or figure after a name belongs to the table, not the name ("Somerset 83", "J. Russell 56").
    while end > start and (doc[end - 1].text in _POSSESSIVES or doc[end - 1].is_punct or _is_figure(doc[end - 1])):
        end -= 1
    return doc[start:end] if end > start else None


def _is_figure(token: Token) -> bool:
    return token.like_num or (any(ch.isdigit() for ch in token.text) and not any(ch.isalpha() for ch in token.text))


def _mention_spans(doc: Doc) -> list[_Span]:
    sentence_starts = [sent.start for sent in doc.sents]
    spans = []
    for ent in doc.ents:
        if ent.label_ not in ENTITY_LABELS:
            continue
        span = _trimmed(ent)
        if span is None:
            continue
        sentence_index = bisect.bisect_right(sentence_starts, span.start) - 1
        spans.append(_Span(span.start_char, span.end_char, span.text, ent.label_, sentence_index))
    return spans


def _voted_labels(spans: Iterable[_Span]) -> dict[str, str]:
    """One label per surface form in a document: the most frequent, the first seen on a tie."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for span in spans:
        votes[normalise_name(span.text)][span.label] += 1
    return {name: counter.most_common(1)[0][0] for name, counter in votes.items()}


def _person_full_names(names: Iterable[str]) -> dict[str, str]:
    """Map each partial person name ("putin") to the one full name that ends with it ("vladimir putin").

    A partial name shared by two different full names ("biden": Joe and Hunter) stays unresolved, so that two
    people are never merged.
    """
    names = sorted(set(names), key=len, reverse=True)
    resolved: dict[str, str] = {}
    for short in names:
        fuller = {long for long in names if long != short and long.endswith(" " + short)}
        # Keep only the longest forms: "vladimir putin" and "president vladimir putin" are not two people.
        longest = {name for name in fuller if not any(other.endswith(" " + name) for other in fuller)}
        if len(longest) == 1:
            resolved[short] = resolved.get(next(iter(longest)), next(iter(longest)))
    return resolved


def resolve_entities(doc: Doc) -> tuple[tuple[Entity, ...], tuple[Mention, ...]]:
    """Canonical entities and their mentions (offsets into `doc.text`) for one parsed document."""
    spans = _mention_spans(doc)
    labels = _voted_labels(spans)
    full_names = _person_full_names(normalise_name(s.text) for s in spans if labels[normalise_name(s.text)] == "PERSON")

    groups: dict[tuple[str, str], list[_Span]] = defaultdict(list)
    for span in spans:
        name = normalise_name(span.text)
        label = labels[name]
        groups[label, full_names.get(name, name) if label == "PERSON" else name].append(span)

    entities, mentions = [], []
    for (label, _), members in groups.items():
        surface_forms = Counter(m.text for m in members)
        # The longest form is the most explicit name ("Vladimir Putin" over "Putin"); frequency breaks ties.
        canonical = max(surface_forms, key=lambda form: (len(form.split()), surface_forms[form]))
        key = entity_key(label, canonical)
        entities.append(_entity(key, canonical, label, tuple(sorted(surface_forms))))
        mentions.extend(Mention(m.start, m.end, m.text, label, m.sentence_index, key) for m in members)
    mentions.sort(key=lambda m: (m.start, m.end))
    return tuple(entities), tuple(mentions)


def _entity(key: str, canonical: str, label: str, aliases: tuple[str, ...]) -> Entity:
    country = gazetteer.country_of(canonical) if label in {"GPE", "LOC", "NORP", "ORG", "FAC"} else None
    kb_id = f"iso3166:{country}" if country and label == "GPE" and gazetteer.is_country_name(canonical) else None
    return Entity(entity_key=key, canonical_name=canonical, type=label, aliases=aliases, country=country, kb_id=kb_id)
