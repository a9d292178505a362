"""Truecasing of words in capitals from the document's own evidence."""

from hypothesis import given
from hypothesis import strategies as st

from etl.nlp.casing import truecase


def test_casing_headline_words_take_the_body_spelling():
    text = "CRICKET - LEICESTERSHIRE TAKE OVER AT TOP\nLeicestershire beat Somerset on Friday."
    assert truecase(text).splitlines()[0] == "cricket - Leicestershire take over at top"


def test_casing_acronyms_in_running_text_are_kept():
    text = "NATO and the US met. Let us go. The OB team won."
    assert truecase(text) == text


def test_casing_capitals_in_a_results_line_follow_the_body():
    text = "SEATTLE 9 Baltimore 6\nSeattle won again."
    assert truecase(text).startswith("Seattle 9 Baltimore 6")


def test_casing_text_without_capitals_is_unchanged():
    text = "Russia withdrew its troops from Kherson."
    assert truecase(text) is text


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_casing_keeps_length_and_letters(text):
    recased = truecase(text)
    assert len(recased) == len(text)
    assert recased.casefold() == text.casefold()
