"""Entity mentions from a parsed Doc, grouped into one canonical entity per real-world thing.

Within an article, "Vladimir Putin", "Putin" and "Putin's" are one person; the same surface form carries one
label (a vote across its mentions). Across articles, the entity key (type and normalised canonical name) maps
every article that names the same thing to the same `entities` row: names the reference tables know
("Kiev", "Zelenskiy") take the table's canonical name (see `etl.nlp.canonical`), other names keep their own.
A person's country and sector come from the alias table, else from the title before the name ("Ukrainian Army
Chief of Staff Valeriy Zaluzhnyi" → UKR MIL), else from the 2014 leaders table.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span, Token

from etl.nlp import gazetteer
from etl.nlp.canonical import KnownEntity, known_entity, known_place
from etl.records import Entity, Mention

# Named things only: dates, times and quantities are attributes of events and articles, not entities.
ENTITY_LABELS = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
_LEADING_WORDS = frozenset({"the", "a", "an"})
_POSSESSIVES = frozenset({"'s", "’s", "'", "’"})
_SPACES = re.compile(r"\s+")
# A title before a person's name: nouns, adjectives and names, joined by "of" or a possessive ("Ukraine's
# President", "Army Chief of Staff"), at most this many words.
_TITLE_POS = frozenset({"PROPN", "NOUN", "ADJ"})
_TITLE_JOINERS = frozenset({"of", "'s", "’s"})
MAX_TITLE_WORDS = 6
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    text: str
    label: str
    sentence_index: int
    title: str  # the words before the name that describe it ("Ukrainian President"), or ""


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
        # A pronoun the model tagged ("He", "It") names no one by itself; the event coder resolves it.
        if span is None or all(token.pos_ == "PRON" for token in span):
            continue
        sentence_index = bisect.bisect_right(sentence_starts, span.start) - 1
        # The model sometimes tags a nationality as a place; "Ukrainian" names people (NORP), not Ukraine.
        label = "NORP" if ent.label_ in {"GPE", "LOC"} and gazetteer.is_demonym(span.text) else ent.label_
        spans.append(_Span(span.start_char, span.end_char, span.text, label, sentence_index, _title(span)))
    return spans


def _title(span: Span) -> str:
    """The title words right before a name, within its sentence ("Egyptian police officer" before a name)."""
    doc, start = span.doc, span.start
    while start > span.start - MAX_TITLE_WORDS and start > span.sent.start:
        token = doc[start - 1]
        if token.ent_type_ == "PERSON" or not (token.pos_ in _TITLE_POS or token.lower_ in _TITLE_JOINERS):
            break
        start -= 1
    while start < span.start and doc[start].lower_ in _TITLE_JOINERS:
        start += 1
    return doc[start : span.start].text


def _voted_labels(spans: Iterable[_Span]) -> dict[str, str]:
    """One label per surface form in a document: the most frequent, the first seen on a tie."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for span in spans:
        votes[normalise_name(span.text)][span.label] += 1
    return {name: counter.most_common(1)[0][0] for name, counter in votes.items()}


def _person_full_names(names: Iterable[str]) -> tuple[dict[str, str], frozenset[str]]:
    """Map each partial person name ("putin") to the one full name that ends with it ("vladimir putin").

    A partial name shared by two different full names ("biden": Joe and Hunter) stays unresolved, so that two
    people are never merged; such names are returned as the second item.
    """
    names = sorted(set(names), key=len, reverse=True)
    resolved: dict[str, str] = {}
    ambiguous: set[str] = set()
    for short in names:
        fuller = {long for long in names if long != short and long.endswith(" " + short)}
        # Keep only the longest forms: "vladimir putin" and "president vladimir putin" are not two people.
        longest = {name for name in fuller if not any(other.endswith(" " + name) for other in fuller)}
        if len(longest) == 1:
            resolved[short] = resolved.get(next(iter(longest)), next(iter(longest)))
        elif longest:
            ambiguous.add(gazetteer.normalize(short))
    return resolved, frozenset(ambiguous)


def resolve_entities(doc: Doc) -> tuple[tuple[Entity, ...], tuple[Mention, ...]]:
    """Canonical entities and their mentions (offsets into `doc.text`) for one parsed document."""
    spans = _mention_spans(doc)
    labels = _voted_labels(spans)
    full_names, ambiguous_surnames = _person_full_names(
        normalise_name(s.text) for s in spans if labels[normalise_name(s.text)] == "PERSON"
    )

    groups: dict[tuple[str, str], list[_Span]] = defaultdict(list)
    for span in spans:
        name = normalise_name(span.text)
        label = labels[name]
        groups[label, full_names.get(name, name) if label == "PERSON" else name].append(span)

    # People last: a leader named by his surname alone is recognised only in a document that names his country.
    document_countries: set[str] = set()
    merged: dict[str, _Group] = {}
    for (label, _), members in sorted(groups.items(), key=lambda item: item[0][0] == "PERSON"):
        surface_forms = Counter(m.text for m in members)
        # The longest form is the most explicit name ("Vladimir Putin" over "Putin"); frequency breaks ties.
        canonical = max(surface_forms, key=lambda form: (len(form.split()), surface_forms[form]))
        title_country, title_sector = _title_facts(members) if label == "PERSON" else (None, None)
        known = known_entity(
            canonical,
            label,
            ambiguous_surnames=ambiguous_surnames,
            context_country=title_country,
            document_countries=frozenset(document_countries),
        )
        # A place the tables know is never a person or an organisation ("Crimea" tagged ORG, "Dnieper" PERSON),
        # except a city as an organisation: a team is often named by its city ("Leeds").
        if label in {"PERSON", "ORG"} and (known is None or known.type == label):
            place = known_place(canonical)
            if place is not None and not (label == "ORG" and _is_city(place)):
                known = place
                for member in members:
                    labels[normalise_name(member.text)] = place.type
        entity = _entity(canonical, label, tuple(sorted(surface_forms)), known, title_country, title_sector)
        if entity.country and label != "PERSON":
            document_countries.add(entity.country)
        group = merged.setdefault(entity.entity_key, _Group(entity, []))
        group.members.extend(members)
        group.aliases.update(surface_forms)

    entities, mentions = [], []
    for key, group in merged.items():
        entities.append(dataclasses.replace(group.entity, aliases=tuple(sorted(group.aliases))))
        mentions.extend(
            Mention(m.start, m.end, m.text, labels[normalise_name(m.text)], m.sentence_index, key)
            for m in group.members
        )
    mentions.sort(key=lambda m: (m.start, m.end))
    return tuple(entities), tuple(mentions)


@dataclass(slots=True)
class _Group:
    """The mentions of one entity in a document; two spellings ("Kiev", "Kyiv") can make one group."""

    entity: Entity
    members: list[_Span]
    aliases: set[str] = field(default_factory=set)


def _title_facts(members: Iterable[_Span]) -> tuple[str | None, str | None]:
    """Country and sector named by the titles before a person's mentions, the first found of each."""
    titles = [m.title for m in members if m.title]
    country = next((c for c in map(gazetteer.country_of, titles) if c), None)
    sector = next((s for s in map(gazetteer.sector_of, titles) if s), None)
    return country, sector


def _entity(
    name: str,
    label: str,
    aliases: tuple[str, ...],
    known: KnownEntity | None,
    title_country: str | None,
    title_sector: str | None,
) -> Entity:
    """The entity a document's name stands for: the known entity's facts first, then the gazetteer's."""
    if known is not None:
        name, label = known.canonical_name, known.type
    key = entity_key(label, name)
    if label == "PERSON":
        if known is not None and known.curated:
            country, sector = known.country, known.sector
        else:
            # The leaders table knows nationality for good, but roles only as of 2014: the text's title wins.
            country = (known.country if known else None) or title_country
            sector = title_sector or (known.sector if known else None)
        kb_id = known.kb_id if known else None
        return Entity(key, name, label, aliases, country=country, kb_id=kb_id, sector=sector)
    country = (known.country if known else None) or (
        gazetteer.country_of(name) if label in {"GPE", "LOC", "NORP", "ORG", "FAC"} else None
    )
    city = _city(name, label, country)
    return Entity(
        key,
        name,
        label,
        aliases,
        country=country,
        kb_id=(known.kb_id if known else None) or _kb_id(name, label, country, known, city),
        lat=city.lat if city else None,
        lon=city.lon if city else None,
        sector=gazetteer.sector_of(name) if label == "ORG" else None,  # "Ukrainian Army" -> MIL
    )


def _is_city(place: KnownEntity) -> bool:
    return place.country is not None and gazetteer.city_in(place.canonical_name, place.country) is not None


def _names_country(name: str) -> bool:
    """True for a country's name ("Russia"); a capital ("Moscow") is a city of its own."""
    return gazetteer.is_country_name(name) and not gazetteer.is_capital_name(name)


def _city(name: str, label: str, country: str | None) -> gazetteer.City | None:
    """The GeoNames city a place's name means in its country; a country has none (its capital's is not its place)."""
    if label not in _PLACE_LABELS or country is None or _names_country(name):
        return None
    return gazetteer.city_in(name, country)


def _kb_id(
    name: str, label: str, country: str | None, known: KnownEntity | None, city: gazetteer.City | None
) -> str | None:
    """`iso3166:<ISO3>` for a country, `geonames:<id>` for a city GeoNames knows, `newsetl:place:<ISO3>:<name>`
    for another city or province the tables know."""
    if label not in _PLACE_LABELS or country is None:
        return None
    if _names_country(name):
        return f"iso3166:{country}"
    if city is not None:
        return f"geonames:{city.geonames_id}"
    if known is not None or gazetteer.is_place_name(name):
        return f"newsetl:place:{country}:{gazetteer.normalize(name).replace(' ', '-')}"
    return None
