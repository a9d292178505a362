"""The date of an event: a DATE entity of its sentence resolved against the article's publication date."""

from __future__ import annotations

import functools
from datetime import date, datetime
from itertools import islice

import dateparser
from spacy.tokens import Span, Token

from etl.errors import article_stage

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A month without a day ("in September") means its start, "the end of September" its last day: never the
# publication date's day number, which dateparser would otherwise borrow.
MONTH_END_WORDS = frozenset({"end", "late"})
# A date in one of these dependents belongs to another clause: "announced the annexation by the end of September,
# and on September 21 ordered the mobilisation" dates each act by its own phrase.
OTHER_CLAUSE_DEPS = frozenset({"conj", "ccomp", "advcl", "relcl", "parataxis"})
# A sentence opening "Minutes earlier," or "Later," continues the day of the sentence before it.
SAME_DAY_ADVERBS = frozenset({"earlier", "later", "meanwhile"})
SAME_DAY_UNITS = frozenset({"minute", "minutes", "moment", "moments", "hour", "hours"})
# An event dated more than this many days before its article is a quoted history ("in 2014", "last spring"),
# background to the news: wire copy reports what happened within days, and a month back is a recap.
BACKGROUND_DAYS = 30


@article_stage("dating")
def resolve_event_date(
    sentence: Span, publication_date: date | None, predicate: Token | None = None
) -> tuple[date | None, str | None]:
    """(date, the text it was read from) for the first resolvable DATE entity of the sentence.

    With a `predicate` (the event's verb), a date in its own clause comes first. Relative dates ("on Wednesday",
    "last week", "yesterday") count back from the publication date, as wire copy does; a weekday that is the
    publication day itself means that day. Without a publication date only full calendar dates resolve. A
    sentence with no resolvable date gets (publication_date, None). Never raises: an unreadable date is absent.
    """
    own_clause = _clause(predicate) if predicate is not None else set()
    dates = sorted(
        (
            ent
            for ent in entities_within(sentence)
            if ent.label_ == "DATE" and not _describes_another_thing(ent, predicate)
        ),
        key=lambda ent: (ent.root.i not in own_clause, ent.start),
    )
    for ent in dates:
        resolved = _parse(ent.text, publication_date)
        if resolved is not None:
            return resolved, ent.text
    return publication_date, None


def is_background(event_date: date | None, publication_date: date | None) -> bool:
    """The event is dated more than `BACKGROUND_DAYS` before the article's publication date."""
    if event_date is None or publication_date is None:
        return False
    return (publication_date - event_date).days > BACKGROUND_DAYS


def entities_within(span: Span) -> list[Span]:
    """The entities wholly inside `span`, as `span.ents` gives them, read from the span's own tokens: `span.ents`
    walks every entity of the Doc, so that asking it once per sentence made a long document quadratic."""
    doc, ents, start = span.doc, [], None
    for token in span:
        if start is not None and token.ent_iob_ != "I":
            ents.append(Span(doc, start, token.i, label=doc[start].ent_type_))
            start = None
        if token.ent_iob_ == "B":
            start = token.i  # an entity that began before the span ("I" here) is not wholly inside it
    if start is not None and (span.end == len(doc) or doc[span.end].ent_iob_ != "I"):
        ents.append(Span(doc, start, span.end, label=doc[start].ent_type_))
    return ents


def continues_previous_day(sentence: Span) -> str | None:
    """The opening words ("Minutes earlier", "Later") by which a sentence continues the previous one's day."""
    words = list(islice((t for t in sentence if not t.is_space), 3))
    for n, token in enumerate(words):
        if token.lower_ in SAME_DAY_ADVERBS:
            opening = words[:n]
            if all(t.lower_ in SAME_DAY_UNITS or t.like_num for t in opening):
                return sentence.doc[words[0].i : token.i + 1].text
            return None
    return None


def _describes_another_thing(ent: Span, predicate: Token | None) -> bool:
    """The date is inside a relative clause the event is not in ("…, which was forced out in September")."""
    if predicate is None:
        return False
    clauses = [t for t in (ent.root, *ent.root.ancestors) if t.dep_ == "relcl"]
    return any(predicate not in clause.subtree for clause in clauses)


def _clause(predicate: Token) -> set[int]:
    other = {t.i for c in predicate.children if c.dep_ in OTHER_CLAUSE_DEPS for t in c.subtree}
    return {t.i for t in predicate.subtree} - other


# dateparser takes milliseconds a phrase; the same phrases recur within an article (one per event of a sentence)
# and across articles of a day, and the answer depends on nothing else.
@functools.lru_cache(maxsize=8192)
def _parse(text: str, publication_date: date | None) -> date | None:
    words = text.split()
    lowered = {w.lower() for w in words}
    if publication_date is not None and WEEKDAYS[publication_date.weekday()] in lowered:
        return publication_date
    settings: dict[str, object] = {
        "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "PREFER_DAY_OF_MONTH": "last" if lowered & MONTH_END_WORDS else "first",
    }
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
