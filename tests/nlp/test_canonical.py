"""Known entities across articles: the alias table, leaders by surname, fuzzy transliterations, and the guards."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from etl.nlp.canonical import TYPE_GROUPS, known_entity
from etl.nlp.gazetteer import normalize
from etl.resources import REFERENCE_DIR

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


@pytest.mark.parametrize(
    ("name", "label", "canonical"),
    [
        ("Kiev", "GPE", "Kyiv"),
        ("Kiev", "LOC", "Kyiv"),  # a place tagged LOC in one article and GPE in another is one place
        ("Kharkov", "GPE", "Kharkiv"),
        ("Odessa", "GPE", "Odesa"),
        ("Lugansk", "GPE", "Luhansk"),
        ("Zaporozhye", "GPE", "Zaporizhzhia"),
        ("Mykolayiv", "GPE", "Mykolaiv"),
        ("Dnipro", "GPE", "Dnipro"),
        ("Dnipro River", "LOC", "Dnieper"),
        ("Zelenskiy", "PERSON", "Volodymyr Zelensky"),
        ("Zelenskyy", "PERSON", "Volodymyr Zelensky"),
        ("Volodymyr Zelenskyy", "PERSON", "Volodymyr Zelensky"),
        ("Zalushny", "PERSON", "Valerii Zaluzhnyi"),
        ("Valeriy Zaluzhnyi", "PERSON", "Valerii Zaluzhnyi"),
        ("Erdoğan", "PERSON", "Recep Tayyip Erdogan"),
        ("Surovykin", "PERSON", "Sergei Surovikin"),
        ("Sergey Lavrov", "PERSON", "Sergei Lavrov"),
        ("Xi", "PERSON", "Xi Jinping"),
    ],
)
def test_canonical_alias_table_spellings(name: str, label: str, canonical: str) -> None:
    known = known_entity(name, label)
    assert known is not None and known.canonical_name == canonical


def test_canonical_alias_table_gives_country_sector_and_kb_id() -> None:
    zelensky = known_entity("Zelenskiy", "PERSON")
    zaluzhnyi = known_entity("Zaluzhnyi", "PERSON")
    kyiv = known_entity("Kiev", "GPE")
    assert zelensky is not None and (zelensky.country, zelensky.sector, zelensky.kb_id) == (
        "UKR",
        "GOV",
        "wikidata:Q3881",
    )
    assert zaluzhnyi is not None and (zaluzhnyi.country, zaluzhnyi.sector) == ("UKR", "MIL")
    assert kyiv is not None and (kyiv.type, kyiv.country) == ("GPE", "UKR")


def test_canonical_a_person_never_matches_a_place() -> None:
    assert known_entity("Kiev", "PERSON") is None
    assert known_entity("Dnipro", "PERSON") is None
    assert known_entity("Zelensky", "GPE") is None
    # A surname that is also a place is not resolved alone: "Austin" is a city as well as Lloyd Austin.
    assert known_entity("Austin", "PERSON", document_countries=frozenset({"USA"})) is None
    assert known_entity("Lloyd Austin", "PERSON").canonical_name == "Lloyd Austin"


def test_canonical_two_people_sharing_a_surname_are_never_merged() -> None:
    assert known_entity("Hunter Biden", "PERSON") is None
    assert known_entity("Jill Biden", "PERSON") is None
    assert known_entity("Joe Biden", "PERSON").canonical_name == "Joe Biden"
    # A document naming both Joe and Hunter Biden leaves "Biden" alone unresolved.
    assert known_entity("Biden", "PERSON", ambiguous_surnames=frozenset({"biden"})) is None
    assert known_entity("Biden", "PERSON").canonical_name == "Joe Biden"


def test_canonical_fuzzy_transliteration_variants() -> None:
    assert known_entity("Zelenskij", "PERSON").canonical_name == "Volodymyr Zelensky"
    assert known_entity("Volodymyr Zelenskij", "PERSON").canonical_name == "Volodymyr Zelensky"
    assert known_entity("Valeri Zaluzhnyi", "PERSON").canonical_name == "Valerii Zaluzhnyi"
    assert known_entity("Zaporizzhia", "GPE").canonical_name == "Zaporizhzhia"
    # Different initials, or a nearby place with a name of its own, are not variants.
    assert known_entity("Vitaly Zelinsky", "PERSON") is None
    assert known_entity("Mykolaivka", "GPE") is None
    assert known_entity("Pavel Shoigu", "PERSON") is None


def test_canonical_leader_by_full_name_needs_no_country_named() -> None:
    # A full name is specific enough on its own; a surname alone is not (below).
    bouteflika = known_entity("Abdelaziz Bouteflika", "PERSON")
    assert bouteflika is not None and bouteflika.country == "DZA"


def test_canonical_leader_by_surname_needs_the_document_to_name_his_country() -> None:
    assert known_entity("Merkel", "PERSON") is None
    merkel = known_entity("Merkel", "PERSON", document_countries=frozenset({"DEU"}))
    assert merkel is not None and (merkel.canonical_name, merkel.country, merkel.sector) == (
        "Angela Merkel",
        "DEU",
        "GOV",
    )
    # The title before the name is context too; a title naming another country rules the leader out.
    assert known_entity("Angela Merkel", "PERSON", context_country="DEU").canonical_name == "Angela Merkel"
    assert known_entity("Angela Merkel", "PERSON", context_country="FRA") is None


def test_canonical_a_word_of_many_leaders_names_is_nobodys_surname() -> None:
    assert known_entity("Li", "PERSON", document_countries=frozenset({"CHN"})) is None


def test_canonical_unknown_names_and_labels() -> None:
    assert known_entity("Halyna Luhova", "PERSON") is None
    assert known_entity("", "PERSON") is None
    assert known_entity("Kiev", "DATE") is None


def test_canonical_alias_table_is_consistent() -> None:
    """Every alias names one entity of a known type, and every row of one entity agrees on its facts."""
    with (REFERENCE_DIR / "entity_aliases.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    seen: dict[tuple[str, str], str] = {}
    facts: dict[str, tuple[str, str, str, str]] = {}
    for row in rows:
        assert row["type"] in TYPE_GROUPS
        key = (TYPE_GROUPS[row["type"]], normalize(row["alias"]))
        assert seen.setdefault(key, row["canonical_name"]) == row["canonical_name"], row
        fact = (row["type"], row["country"], row["sector"], row["kb_id"])
        assert facts.setdefault(row["canonical_name"], fact) == fact, row


@pytest.mark.skipif(not (SHARED / "reference" / "petrarch2").is_dir(), reason="needs ../shared/reference")
def test_canonical_leaders_table_regenerates_byte_identically(tmp_path: Path) -> None:
    compiler = REPO / "tools" / "compile_leaders.py"
    subprocess.run(
        [sys.executable, str(compiler), "--shared", str(SHARED), "--output", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "leaders.csv").read_bytes() == (REFERENCE_DIR / "leaders.csv").read_bytes()


def test_canonical_capital_for_its_government_is_the_place() -> None:
    kyiv = known_entity("Kyiv", "ORG")
    moscow = known_entity("Moscow", "ORG")
    assert kyiv is not None and (kyiv.canonical_name, kyiv.type, kyiv.country) == ("Kyiv", "GPE", "UKR")
    assert moscow is not None and (moscow.canonical_name, moscow.type, moscow.country) == ("Moscow", "GPE", "RUS")
    assert known_entity("European Union", "ORG") is None
    assert known_entity("Wagner", "ORG") is None


def test_canonical_a_given_name_alone_is_nobody() -> None:
    assert known_entity("Angela", "PERSON", document_countries=frozenset({"DEU"})) is None
