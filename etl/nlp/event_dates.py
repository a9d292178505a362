"""The date of an event: a DATE entity of its sentence resolved against the article's publication date."""

from __future__ import annotations

from datetime import date, datetime

import dateparser
from spacy.tokens import Span

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def resolve_event_date(sentence: Span, publication_date: date | None) -> tuple[date | None, str | None]:
    """(date, the text it was read from) for the first resolvable DATE entity of the sentence.

    Relative dates ("on Wednesday", "last week", "yesterday") count back from the publication date, as wire
    copy does; a weekday that is the publication day itself means that day. Without a publication date only
    full calendar dates resolve. A sentence with no resolvable date gets (publication_date, None).
    Never raises: an unreadable date is treated as absent.
    """
    for ent in sentence.ents:
        if ent.label_ != "DATE":
            continue
        resolved = _parse(ent.text, publication_date)
        if resolved is not None:
            return resolved, ent.text
    return publication_date, None


def _parse(text: str, publication_date: date | None) -> date | None:
    words = text.split()
    if publication_date is not None and WEEKDAYS[publication_date.weekday()] in {w.lower() for w in words}:
        return publication_date
    settings: dict[str, object] = {"PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False}
    if publication_date is not None:
        settings["RELATIVE_BASE"] = datetime.combine(publication_date, datetime.min.time())
    else:
        # Nothing to count back from: only a full calendar date is an answer, never one relative to today.
        settings["PARSERS"] = ["absolute-time", "custom-formats"]
        settings["REQUIRE_PARTS"] = ["day", "month", "year"]
    # "early on Wednesday", "late last week": drop leading words until the rest parses.
    for start in range(len(words)):
        try:
            parsed = dateparser.parse(" ".join(words[start:]), languages=["en"], settings=settings)
        except (ValueError, TypeError, OverflowError):
            parsed = None
        if parsed is not None:
            return parsed.date()
    return None
