"""Precision of coded events at each confidence line, on the PLOVER and CASE 2021 dev sets.

Reads `newsetl annotate` output saved for each set (run annotate once, then try lines without re-parsing) and
prints, per line, the events at or above it that are not background and the share of them that are right:
PLOVER, the event's type is its sentence's gold type (as `eval_events.py` counts precision); CASE, the type is
one the snippet's gold subtype accepts (`eval_case.py`'s table; a disaster, crime or weapons-find snippet
accepts none). The gold and the scoring tables are read from `../shared`, never copied here.

    .venv/bin/newsetl annotate < plover_dev.jsonl > plover_out.jsonl   # {"id", "text"} lines of each set
    .venv/bin/newsetl annotate < case_dev.jsonl > case_out.jsonl
    .venv/bin/python bench/confidence_precision.py plover_out.jsonl case_out.jsonl
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from etl.nlp.confidence import MIN_CONFIDENCE

SHARED = Path(__file__).resolve().parents[2] / "shared"
LINES = (0.0, 0.4, MIN_CONFIDENCE, 0.6, 0.7, 0.8, 0.9)


def _shared_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, SHARED / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _events(path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                yield from ((str(record["id"]), event) for event in record["events"])


def _plover_judge() -> Callable[[str, dict[str, Any]], bool | None]:
    script = _shared_script("eval_events")
    gold = json.loads((SHARED / "data/plover/dev.json").read_text(encoding="utf-8"))
    types = {str(r["id"]): script.RENAMED.get(r["event"], r["event"]) for r in gold if r.get("event") != "DOCUMENT"}
    return lambda record_id, event: event["type"] == types[record_id] if event["type"] in script.PLOVER else None


def _case_judge() -> Callable[[str, dict[str, Any]], bool | None]:
    script = _shared_script("eval_case")
    with open(SHARED / "data/case2021/dev.tsv", encoding="utf-8") as f:
        subtypes = {row["id"]: row["SubType"] for row in csv.DictReader(f, delimiter="\t")}

    def judge(record_id: str, event: dict[str, Any]) -> bool | None:
        subtype = subtypes[record_id]
        if subtype in script.NON_POLITICAL:
            return False
        return event["type"] in script.ACCEPT[subtype] if subtype in script.ACCEPT else None

    return judge


def main() -> None:
    plover_out, case_out = sys.argv[1], sys.argv[2]
    for name, path, judge in (("PLOVER dev", plover_out, _plover_judge()), ("CASE dev", case_out, _case_judge())):
        judged = [
            (event["confidence"], event["is_background"], right)
            for record_id, event in _events(path)
            if (right := judge(record_id, event)) is not None
        ]
        for line in LINES:
            kept = [right for confidence, background, right in judged if confidence >= line and not background]
            share = sum(kept) / len(kept) if kept else 0.0
            print(f"{name}: confidence >= {line:.2f}: {len(kept)} events, precision {share:.3f}")


if __name__ == "__main__":
    main()
