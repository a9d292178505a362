"""The events a reader lists from the reference war report, checked against `newsetl annotate`.

The report (`../shared/seeds/000_40024aaf683d07a5.txt`) is publisher-owned and read by path only: the
expectations below are (type, actor country, trigger keyword, place, date, mode) facts a reader would list,
never its sentences. Prints found/missing per expected event; exits 1 if any is missing, 2 if the report is
absent.

Example: `.venv/bin/python bench/eval_war_report.py` (or `… REPORT_PATH 'newsetl annotate'`)
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WAR_REPORT = REPO.parent / "shared/seeds/000_40024aaf683d07a5.txt"
# The report is undated in the file; it was published the day after the Russian withdrawal was announced.
PUBLISHED = "2022-11-10"


@dataclass(frozen=True, slots=True)
class Expected:
    what: str
    event_type: str
    actor_country: str
    keyword: str  # in the trigger text
    place: str | None = None  # canonical name of the event's location
    date: str | None = None  # ISO date of the event
    mode: str | None = None


EXPECTED = (
    Expected("villages recaptured", "ASSAULT", "UKR", "recapture", "Kherson", "2022-11-10"),
    Expected(
        "withdrawal to the left bank announced", "RETREAT", "RUS", "withdrawal", "Kherson", "2022-11-09", "withdraw"
    ),
    Expected("reservists mobilised", "MOBILIZE", "RUS", "mobiliz", None, "2022-09-21"),
    Expected("four regions annexed", "COERCE", "RUS", "annexation", None, "2022-09-30", "seize"),
    Expected("bridges knocked out", "ASSAULT", "UKR", "knocking out"),
    Expected("visit to Kyiv", "CONSULT", "USA", "visit", "Kyiv", "2022-11-04", "visit"),
)


def matches(expected: Expected, event: dict[str, Any]) -> bool:
    return (
        event["type"] == expected.event_type
        and expected.keyword in event["trigger"]["text"].lower()
        and expected.actor_country in {actor["country"] for actor in event["actors"]}
        and (expected.place is None or event["location"] == expected.place)
        and (expected.date is None or event["date"] == expected.date)
        and (expected.mode is None or event["mode"] == expected.mode)
    )


def annotate(report: Path, command: list[str]) -> list[dict[str, Any]]:
    line = json.dumps({"id": "war-report", "text": report.read_text(encoding="utf-8"), "published_at": PUBLISHED})
    result = subprocess.run(command, input=line + "\n", capture_output=True, text=True, check=True)
    return json.loads(result.stdout)["events"]


def main(argv: list[str]) -> int:
    report = Path(argv[0]) if argv else WAR_REPORT
    command = shlex.split(argv[1]) if len(argv) > 1 else [str(Path(sys.executable).parent / "newsetl"), "annotate"]
    if not report.exists():
        print(f"the reference war report is not present: {report}", file=sys.stderr)
        return 2
    events = annotate(report, command)
    missing = 0
    for expected in EXPECTED:
        found = next((e for e in events if matches(expected, e)), None)
        missing += found is None
        detail = f"'{found['trigger']['text']}' at {found['location']} on {found['date']}" if found else ""
        status = "found  " if found else "MISSING"
        print(f"{status} {expected.what}: {expected.event_type} by {expected.actor_country} {detail}")
    print(f"{len(EXPECTED) - missing}/{len(EXPECTED)} expected events found")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
