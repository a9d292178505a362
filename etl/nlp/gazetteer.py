"""Lookups that give a mention a country (ISO 3166 alpha-3), a sector, an organisation and a city's location.

The tables are CSVs under `etl/reference_data/`, compiled from the Phoenix/PETRARCH dictionaries by
`tools/compile_reference.py` and from GeoNames by `tools/compile_coordinates.py`. Lookups are dictionary hits
on normalised word n-grams, longest first, so the NLP stage can afford one per mention.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable

from etl.resources import REFERENCE_DIR, reference_files

# Aliases this short are also English words or other acronyms ("us", "un", "eu"): they only match
# a token written in capitals in the original text ("US", "U.S.", "UN").
SHORT_ALIAS_MAX_LEN = 3

# A demonym after these words names a side or an ethnic group, not the actor's country:
# "pro-Iranian Hezbollah" is Lebanese, "ethnic Albanians in Serbia" are Serbian.
NOT_NATIONALITY_BEFORE = frozenset({"pro", "anti", "ethnic"})

_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b|(?<=s)['’](?=\s|$)")
_NON_WORD_ANY_CASE = re.compile(r"[^0-9A-Za-z]+")


@dataclass(frozen=True, slots=True)
class Token:
    norm: str
    upper: bool  # written in capitals in the original text (acronyms: "US", "U.S.")
    capitalised: bool  # begins with a capital letter in the original text (a proper name)


def tokenize(text: str) -> list[Token]:
    """Split a phrase into normalised word tokens: lowercase ASCII, possessives, dots and accents removed."""
    tokens = []
    for raw in _folded(text).split():
        # Dots and apostrophes join their word ("U.S." -> "us", "Xi'an" -> "xian"); other marks split.
        joined = raw.replace(".", "").replace("'", "")
        upper = joined.isupper()  # it has letters, all capitals (ASCII by now: only letters have a case)
        for part in _NON_WORD_ANY_CASE.split(joined):
            if part:
                tokens.append(Token(part.lower(), upper, part[:1].isupper()))
    return tokens


def normalize(text: str) -> str:
    """The key form of a name or alias: its tokens joined by single spaces (the norms of `tokenize`, without building
    its tokens: the reference tables normalise tens of thousands of names as a process starts)."""
    joined = _folded(text).replace(".", "").replace("'", "").lower()
    return " ".join(part for part in _NON_WORD_ANY_CASE.split(joined) if part)


def _folded(text: str) -> str:
    """The text without possessives and underscores, in ASCII without accents."""
    text = _POSSESSIVE.sub("", text.replace("_", " "))
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _key(tokens: list[Token]) -> str:
    return " ".join(token.norm for token in tokens)


@dataclass(frozen=True, slots=True)
class Country:
    iso3: str
    name: str
    region: str
    capital: str | None


@dataclass(frozen=True, slots=True)
class Organization:
    canonical_name: str
    code: str  # Phoenix code: "IGOUNO", "IGOWSTNAT", "LBNREB"...
    country: str | None  # ISO3 when the code starts with one
    sector: str | None


@dataclass(frozen=True, slots=True)
class City:
    """A city GeoNames knows: its id there and its coordinates (decimal degrees)."""

    geonames_id: int
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class _Tables:
    countries: dict[str, Country]
    country_aliases: dict[str, tuple[str, str]]  # alias -> (iso3, kind)
    places: dict[str, str]  # alias -> iso3
    organizations: dict[str, Organization]
    agents: dict[str, str]  # term, singular and plural -> sector
    weapons: frozenset[str]  # term, singular and plural
    targets: frozenset[str]  # term, singular and plural
    cities: dict[tuple[str, str], City]  # (name key, iso3) -> city
    longest_alias: int  # tokens in the longest key of any table
    first_words: frozenset[str]  # the first token of every key but targets: where a key can start


def _read(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _plurals(term: str) -> list[str]:
    """Regular English plurals of a term's last word (the Phoenix agents file lists singulars only)."""
    head, _, last = term.rpartition(" ")
    prefix = f"{head} " if head else ""
    if last.endswith("man"):
        forms = [last[:-3] + "men"]
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        forms = [last[:-1] + "ies"]
    elif last.endswith(("s", "sh", "ch", "x", "z")):
        forms = [last + "es"]
    else:
        forms = [last + "s"]
    return [prefix + form for form in forms]


@cache
def _tables() -> _Tables:
    countries = {
        row["iso3"]: Country(row["iso3"], row["name"], row["region"], row["capital"] or None)
        for row in _read("countries.csv")
    }
    country_aliases = {row["alias"]: (row["iso3"], row["kind"]) for row in _read("country_aliases.csv")}
    places = {row["alias"]: row["iso3"] for row in _read("places.csv")}
    organizations = {
        row["alias"]: Organization(row["canonical_name"], row["code"], row["country"] or None, row["sector"] or None)
        for row in _read("organizations.csv")
    }
    agents: dict[str, str] = {}
    for row in _read("agents.csv"):
        agents.setdefault(row["term"], row["sector"])
        for plural in _plurals(row["term"]):
            agents.setdefault(plural, row["sector"])
    weapons, targets = (
        frozenset(form for row in _read(name) for form in (row["term"], *_plurals(row["term"])))
        for name in ("weapons.csv", "targets.csv")
    )
    cities = {
        (row["name_key"], row["iso3"]): City(int(row["geonames_id"]), float(row["lat"]), float(row["lon"]))
        for row in _read("place_coordinates.csv")
        if row["kind"] == "city"
    }
    keys = [*country_aliases, *places, *organizations, *agents, *weapons]
    # Targets are only matched at a phrase's end: their first words ("house", "area") would make most nouns a
    # place where a key may start.
    longest = max(key.count(" ") + 1 for key in (*keys, *targets))
    first_words = frozenset(key.partition(" ")[0] for key in keys)
    return _Tables(
        countries, country_aliases, places, organizations, agents, weapons, targets, cities, longest, first_words
    )


def _matches(tokens: list[Token], table: Container[str], *, proper: bool = True):
    """Yield (start, end, key) of table keys found in the tokens, longest first, then leftmost.

    A proper name (`proper`: countries, places, organisations) must begin with a capital letter, so that
    "the west bank of the river" is not the West Bank; agent terms ("police", "troops") need not.
    """
    tables = _tables()
    # Windows are only tried where a key can start: most words of a phrase start none.
    starts = [start for start, token in enumerate(tokens) if token.norm in tables.first_words]
    for size in range(min(tables.longest_alias, len(tokens)), 0, -1):
        for start in starts:
            if start + size > len(tokens):
                break
            window = tokens[start : start + size]
            key = " ".join(token.norm for token in window)
            if key not in table:
                continue
            if size == 1 and len(key) <= SHORT_ALIAS_MAX_LEN and not window[0].upper:
                continue
            if proper and not window[0].capitalised:
                continue
            yield start, start + size, key


def _first(tokens: list[Token], table: Container[str], *, proper: bool = True) -> str | None:
    return next((key for _, _, key in _matches(tokens, table, proper=proper)), None)


def _country_alias(tokens: list[Token]) -> str | None:
    tables = _tables()
    for start, _, alias in _matches(tokens, tables.country_aliases):
        is_demonym = tables.country_aliases[alias][1] == "demonym"
        if not (is_demonym and start and tokens[start - 1].norm in NOT_NATIONALITY_BEFORE):
            return alias
    return None


def country_of(text: str) -> str | None:
    """ISO3 of the country a phrase names or belongs to, or None.

    Looks for country names, demonyms and capitals ("the Russian army", "Kyiv", "the government of
    France"), then for organisations tied to one country ("Hezbollah"), then for other places
    ("Kherson"). Within a table the longest alias wins, then the leftmost.
    """
    tables = _tables()
    tokens = tokenize(text)
    alias = _country_alias(tokens)
    if alias is not None:
        return tables.country_aliases[alias][0]
    organization = _first(tokens, tables.organizations)
    if organization is not None and tables.organizations[organization].country is not None:
        return tables.organizations[organization].country
    place = _first(tokens, tables.places)
    return tables.places[place] if place is not None else None


def sector_of(text: str) -> str | None:
    """Sector code (GOV, MIL, COP, REB, OPP, JUD, BUS, JRN, MED, CVL...) of the agent a phrase names."""
    tables = _tables()
    tokens = tokenize(text)
    term = _first(tokens, tables.agents, proper=False)
    if term is not None:
        return tables.agents[term]
    organization = _first(tokens, tables.organizations)
    return tables.organizations[organization].sector if organization is not None else None


def is_agent_term(word: str) -> bool:
    """True when a single word is a generic agent of the agents table, short ones too ("man", "men")."""
    return word.lower() in _tables().agents


def names_weapon(text: str) -> bool:
    """True when a phrase ends with a weapon's name ("a roadside bomb", "two rockets"; not "weapon depots")."""
    return _ending(text, _tables().weapons) is not None


def names_target(text: str) -> bool:
    """True when a phrase ends with what force is used on: a settlement, a stronghold, a building, a vehicle
    ("the port", "an army convoy"; not "the legislation")."""
    return _ending(text, _tables().targets) is not None


def agent_sector(text: str) -> str | None:
    """The sector of the generic agent a phrase ends with ("Ukrainian troops" MIL; not "military aid")."""
    tables = _tables()
    term = _ending(text, tables.agents)
    return tables.agents[term] if term is not None else None


def _ending(text: str, table: Container[str]) -> str | None:
    """The longest key of `table` the phrase ends with."""
    words = [token.norm for token in tokenize(text)]
    for size in range(min(_tables().longest_alias, len(words)), 0, -1):
        if (key := " ".join(words[-size:])) in table:
            return key
    return None


def organization_of(text: str) -> tuple[str, str] | None:
    """(canonical name, Phoenix code) of an international or non-state organisation a phrase names."""
    tables = _tables()
    alias = _first(tokenize(text), tables.organizations)
    if alias is None:
        return None
    organization = tables.organizations[alias]
    return organization.canonical_name, organization.code


def country_name(iso3: str) -> str | None:
    """English display name of a country ("UKR" -> "Ukraine")."""
    country = _tables().countries.get(iso3.upper())
    return country.name if country is not None else None


def is_country_name(text: str) -> bool:
    """True when the whole text names a country or its capital; False for demonyms ("Ukrainian")."""
    return _names_country(tokenize(text))


def _names_country(tokens: list[Token]) -> bool:
    tables = _tables()
    whole = next(_matches(tokens, tables.country_aliases), None)
    if whole is None or whole[:2] != (0, len(tokens)):
        return False
    return tables.country_aliases[whole[2]][1] != "demonym"


def is_demonym(text: str) -> bool:
    """True when the whole text is a nationality word ("Ukrainian", "Russians"), which names people, not a place."""
    entry = _tables().country_aliases.get(normalize(text))
    return entry is not None and entry[1] == "demonym"


def is_capital_name(text: str) -> bool:
    """True when the whole text names a capital city ("Kyiv", "Moscow"), which is a place, not its country."""
    entry = _tables().country_aliases.get(normalize(text))
    return entry is not None and entry[1] == "capital"


def is_place_name(text: str) -> bool:
    """True when the whole text names a country, capital, city or province ("Kherson", "Mykolaiv")."""
    tokens = tokenize(text)
    return _key(tokens) in _tables().places or _names_country(tokens)


def city_in(name: str, iso3: str) -> City | None:
    """The city a whole name means in the given country ("Kiev", "UKR" -> Kyiv), or None.

    The country is required: a name several countries' cities share ("Paris", "Moscow") is only located with it.
    """
    return _tables().cities.get((normalize(name), iso3.upper()))


def reference_version(directory: Traversable = REFERENCE_DIR) -> str:
    """A short hash of every file under the reference folder (paths and bytes), for the pipeline version.

    Any change of reference data (gazetteer, aliases, leaders, lexicon) makes stored annotations out of date.
    """
    digest = hashlib.sha256()
    for path, entry in reference_files(directory):
        digest.update(path.encode() + b"\0")
        digest.update(hashlib.sha256(entry.read_bytes()).digest())
    return digest.hexdigest()[:12]
