"""Event dates: DATE entities resolved against the publication date (a blank pipeline, no model needed)."""

from datetime import date

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc, Span

from etl.nlp.event_dates import BACKGROUND_DAYS, continues_previous_day, is_background, resolve_event_date

NLP = spacy.blank("en")
THURSDAY = date(2022, 11, 10)


def _sentence(text: str, date_text: str | None) -> Span:
    doc: Doc = NLP(text)
    if date_text is not None:
        start = text.index(date_text)
        span = doc.char_span(start, start + len(date_text), label="DATE")
        assert span is not None
        doc.ents = [span]
    return doc[:]


@pytest.mark.parametrize(
    ("date_text", "expected"),
    [
        ("Wednesday", date(2022, 11, 9)),
        ("Sunday", date(2022, 11, 6)),
        ("Thursday", THURSDAY),  # the publication day itself, not a week earlier
        ("yesterday", date(2022, 11, 9)),
        ("last week", date(2022, 11, 3)),
        ("November 9", date(2022, 11, 9)),
        ("early on Wednesday", date(2022, 11, 9)),
    ],
)
def test_resolve_event_date_relative_to_publication(date_text: str, expected: date) -> None:
    sentence = _sentence(f"Border guards fired on the convoy {date_text}, officials said.", date_text)
    assert resolve_event_date(sentence, THURSDAY) == (expected, date_text)


def test_resolve_event_date_without_a_date_is_the_publication_date() -> None:
    assert resolve_event_date(_sentence("The talks resumed.", None), THURSDAY) == (THURSDAY, None)


def test_resolve_event_date_skips_unreadable_dates() -> None:
    sentence = _sentence("The talks resumed after the harvest season.", "the harvest season")
    assert resolve_event_date(sentence, THURSDAY) == (THURSDAY, None)


def test_resolve_event_date_without_publication_date_reads_absolute_dates() -> None:
    sentence = _sentence("The treaty was signed on 3 March 2021.", "3 March 2021")
    assert resolve_event_date(sentence, None) == (date(2021, 3, 3), "3 March 2021")


# No deadline: dateparser loads its language data on the first call, which made the first example flaky.
@settings(deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(str.strip))
def test_resolve_event_date_never_raises(date_text: str) -> None:
    doc = NLP(f"On {date_text} they met.")
    span = doc.char_span(3, 3 + len(date_text), label="DATE", alignment_mode="expand")
    if span is not None:
        doc.ents = [span]
    resolved, text = resolve_event_date(doc[:], THURSDAY)
    assert (resolved, text) == (THURSDAY, None) or isinstance(resolved, date)


@pytest.mark.parametrize("date_text", ["Wednesday", "yesterday", "last week"])
def test_resolve_event_date_relative_without_publication_date_stays_unresolved(date_text: str) -> None:
    # Counting back from the day the command runs would make the output depend on the clock.
    sentence = _sentence(f"The talks ended {date_text}.", date_text)
    assert resolve_event_date(sentence, None) == (None, None)


def test_resolve_event_date_full_date_without_publication_date() -> None:
    sentence = _sentence("The talks ended on 9 November 2022.", "9 November 2022")
    assert resolve_event_date(sentence, None) == (date(2022, 11, 9), "9 November 2022")


@pytest.mark.parametrize(
    ("date_text", "expected"),
    [
        ("September", date(2022, 9, 1)),
        ("the end of September", date(2022, 9, 30)),
        ("late October", date(2022, 10, 31)),
    ],
)
def test_resolve_event_date_month_without_a_day(date_text: str, expected: date) -> None:
    # Never the publication date's day number (the 10th) borrowed into another month.
    sentence = _sentence(f"The region was annexed by {date_text}.", date_text)
    assert resolve_event_date(sentence, THURSDAY) == (expected, date_text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Minutes earlier, the army announced a withdrawal.", "Minutes earlier"),
        ("Later, the talks resumed.", "Later"),
        ("Two days later, the talks resumed.", None),
        ("The talks resumed later.", None),
    ],
)
def test_continues_previous_day_only_for_same_day_openings(text: str, expected: str | None) -> None:
    assert continues_previous_day(NLP(text)[:]) == expected


@pytest.mark.parametrize(
    ("event_date", "publication_date", "expected"),
    [
        (date(1954, 11, 1), THURSDAY, True),  # "in 1954": a quoted history
        (date(2022, 10, 11), THURSDAY, False),  # BACKGROUND_DAYS before: still news
        (date(2022, 10, 10), THURSDAY, True),
        (date(2022, 11, 12), THURSDAY, False),  # after publication: announced, not background
        (date(1954, 11, 1), None, False),  # nothing to compare with
        (None, THURSDAY, False),
    ],
)
def test_is_background_when_dated_more_than_background_days_before_publication(
    event_date: date | None, publication_date: date | None, expected: bool
) -> None:
    assert (THURSDAY - date(2022, 10, 11)).days == BACKGROUND_DAYS
    assert is_background(event_date, publication_date) is expected
