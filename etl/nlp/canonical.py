"""Known entities across articles: a name in one article → the canonical entity every article shares.

Two tables under `etl/reference_data/`: `entity_aliases.csv` (hand-written spellings and transliterations, the
authority for what it lists) and `leaders.csv` (persons compiled from the Phoenix country dictionary by
`tools/compile_leaders.py`). A name is looked up in this order, each step guarded by the kind of thing named
(a person never matches a place):

1. the alias table, exactly (after case, accent and punctuation folding: "Erdoğan" is "erdogan");
2. for a person, the leaders table, exactly; a surname alone ("Putin") when it is the surname of one known
   person only, is not itself a place, and the document does not name two people with that surname;
3. fuzzy matching (rapidfuzz) against the alias table, for transliterations not listed ("Zelenskyi"): a high
   score, the same initial on every word, and similar lengths, so that Joe and Hunter Biden stay apart.

A capital or a country tagged as an organisation ("Kyiv asked for access", "Moscow rejected the plan": the
government by metonymy) is the place, with its country. A name none of these knows is returned as None: its
entity key stays what the document alone gives it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz

from etl.nlp.gazetteer import country_of, is_country_name, is_place_name, normalize
from etl.resources import REFERENCE_DIR

# spaCy labels that can name the same kind of thing: a city tagged GPE in one article and LOC in another
# is one place; a person is never a place.
TYPE_GROUPS = {
    "PERSON": "person",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "ORG": "organization",
    "NORP": "group",
}
# Fuzzy matches must score this high (rapidfuzz ratio, 0-100) on the whole name, and every word of a
# person's name at least WORD_SCORE, with the same initial.
NAME_SCORE = 88.0
PLACE_SCORE = 90.0
WORD_SCORE = 80.0
MIN_FUZZY_LENGTH = 5  # shorter names are too close to each other ("Lviv", "Liv") for edit distance
MAX_LENGTH_GAP = 2
MIN_SURNAME_LENGTH = 3


@dataclass(frozen=True, slots=True)
class KnownEntity:
    """A real-world thing the reference tables know, with what they say about it."""

    canonical_name: str
    type: str  # spaCy label
    country: str | None
    sector: str | None
    kb_id: str | None
    curated: bool  # from the hand-written alias table, which wins over context; leaders.csv dates from 2014


@dataclass(frozen=True, slots=True)
class _Index:
    aliases: dict[tuple[str, str], KnownEntity]  # (group, normalised alias) -> entity, alias table
    leaders: dict[str, tuple[KnownEntity, ...]]  # normalised alias -> persons, leaders table
    surnames: dict[str, tuple[KnownEntity, ...]]  # normalised surname -> leaders
    # (group, initials of its words) -> normalised aliases of the alias table: a fuzzy match has the same initials
    fuzzy_choices: dict[tuple[str, tuple[str, ...]], tuple[str, ...]]


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def _index() -> _Index:
    aliases: dict[tuple[str, str], KnownEntity] = {}
    for row in _rows("entity_aliases.csv"):
        entity = KnownEntity(
            row["canonical_name"],
            row["type"],
            row["country"] or None,
            row["sector"] or None,
            row["kb_id"] or None,
            True,
        )
        group = TYPE_GROUPS[row["type"]]
        for name in (row["canonical_name"], row["alias"]):
            aliases[group, normalize(name)] = entity

    # A leader the alias table lists under any spelling is that entry: his other spellings join it.
    leader_aliases: dict[tuple[str, str], set[str]] = defaultdict(set)
    leader_facts: dict[tuple[str, str], tuple[str, str]] = {}
    for row in _rows("leaders.csv"):
        person = (row["canonical_name"], row["country"])
        leader_aliases[person].add(row["alias"])
        leader_facts[person] = (row["country"], row["sector"])
    curated_people = {name for group, name in aliases if group == "person"}
    canonical_keys = {canonical: normalize(canonical) for canonical, _ in leader_aliases}
    leaders: dict[str, list[KnownEntity]] = defaultdict(list)
    for (canonical, iso3), names in sorted(leader_aliases.items()):
        curated = aliases["person", min(spellings)] if (spellings := names & curated_people) else None
        country, sector = leader_facts[canonical, iso3]
        entity = curated or KnownEntity(canonical, "PERSON", country or None, sector or None, None, False)
        for name in names | {canonical_keys[canonical]}:
            if entity not in leaders[name]:
                leaders[name].append(entity)

    # A leader's surname is the last word of his name, unless another leader's name has it first: "Li" begins
    # many Chinese leaders' names and is nobody's surname alone, nor is a given name such as "Angela".
    # (Curated surnames are the single-word aliases of the alias table.)
    surnames: dict[str, list[KnownEntity]] = defaultdict(list)
    other_words: set[str] = set()
    for people in leaders.values():
        for person in (p for p in people if not p.curated):
            *first, last = canonical_keys[person.canonical_name].split()
            other_words.update(first)
            if len(last) >= MIN_SURNAME_LENGTH and person not in surnames[last]:
                surnames[last].append(person)

    choices: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for group, name in aliases:
        choices[group, _initials(name.split())].append(name)
    return _Index(
        aliases,
        {name: tuple(people) for name, people in leaders.items()},
        {name: tuple(people) for name, people in surnames.items() if name not in other_words},
        {key: tuple(names) for key, names in choices.items()},
    )


def known_entity(
    name: str,
    label: str,
    *,
    ambiguous_surnames: frozenset[str] = frozenset(),
    context_country: str | None = None,
    document_countries: frozenset[str] = frozenset(),
) -> KnownEntity | None:
    """The known entity a name of spaCy type `label` refers to, or None.

    `ambiguous_surnames` are surnames (normalised) that the document gives to two different full names;
    `context_country` is the country the text around the mention names ("Ukrainian President ..."), used to
    choose between known people who share a name; `document_countries` are the countries of the document's
    other entities: a leader from the 2014 table named by his surname alone is only recognised in a document that
    names his country.
    """
    group = TYPE_GROUPS.get(label)
    key = normalize(name)
    if group is None or not key:
        return None
    index = _index()
    if (group, key) in index.aliases and not (group == "person" and key in ambiguous_surnames):
        return index.aliases[group, key]
    if group == "organization":
        return _place_for_government(name, key, index)
    if group == "person":
        person = _known_person(key, index, ambiguous_surnames, context_country, document_countries)
        if person is not None:
            return person
    return _fuzzy(key, group, index, ambiguous_surnames)


def known_place(name: str) -> KnownEntity | None:
    """The place a whole name means in the alias table ("Dnieper") or the gazetteer ("Crimea"), or None."""
    key = normalize(name)
    if ("place", key) in _index().aliases:
        return _index().aliases["place", key]
    if is_place_name(name):
        return KnownEntity(name, "GPE", country_of(name), None, None, False)
    return None


def _place_for_government(name: str, key: str, index: _Index) -> KnownEntity | None:
    """The place a capital or country tagged as an organisation names: the alias table's, else the gazetteer's."""
    if ("place", key) in index.aliases:
        return index.aliases["place", key]
    if is_country_name(name):
        return KnownEntity(name, "GPE", country_of(name), None, None, False)
    return None


def _known_person(
    key: str,
    index: _Index,
    ambiguous_surnames: frozenset[str],
    context_country: str | None,
    document_countries: frozenset[str],
) -> KnownEntity | None:
    if " " in key:
        people = index.leaders.get(key, ())
    elif key in ambiguous_surnames or is_place_name(key):
        return None
    else:
        people = index.surnames.get(key, ())
    person = _one(people, context_country)
    # A full name is specific enough on its own; a surname is the leader's only where his country is named.
    if person is None or person.curated or " " in key:
        return person
    return person if person.country in document_countries | {context_country} else None


def _one(people: tuple[KnownEntity, ...], context_country: str | None) -> KnownEntity | None:
    """The one candidate, or the one from the country the context names; None when still ambiguous."""
    if len(people) > 1 and context_country is not None:
        people = tuple(person for person in people if person.country == context_country)
    if len(people) != 1:
        return None
    person = people[0]
    if context_country is not None and person.country is not None and person.country != context_country:
        return None  # "French minister Lavrov" is not Sergei Lavrov
    return person


def _fuzzy(key: str, group: str, index: _Index, ambiguous_surnames: frozenset[str]) -> KnownEntity | None:
    if len(key) < MIN_FUZZY_LENGTH or group not in ("person", "place"):
        return None
    if group == "person" and (key in ambiguous_surnames or (" " not in key and is_place_name(key))):
        return None
    if group == "place" and is_place_name(key):
        return None  # a place the gazetteer knows under this name is itself, not a misspelling of another
    words = key.split()
    matches = {
        index.aliases[group, choice]
        for choice in index.fuzzy_choices.get((group, _initials(words)), ())
        if _close(words, choice.split(), group)
    }
    return matches.pop() if len(matches) == 1 else None


def _initials(words: list[str]) -> tuple[str, ...]:
    return tuple(word[0] for word in words)


def _close(words: list[str], other: list[str], group: str) -> bool:
    """Spelling variants of one name: same word count, same initials, close in length and in letters."""
    if len(words) != len(other):
        return False
    for word, candidate in zip(words, other, strict=True):
        if word[0] != candidate[0] or abs(len(word) - len(candidate)) > MAX_LENGTH_GAP:
            return False
        if group == "person" and fuzz.ratio(word, candidate) < WORD_SCORE:
            return False
    threshold = NAME_SCORE if group == "person" else PLACE_SCORE
    return fuzz.ratio(" ".join(words), " ".join(other)) >= threshold
