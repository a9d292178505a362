"""The README is tested: its SQL runs against the sample articles loaded by the nightly flow, and its settings
table names every setting."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from etl.nlp.confidence import MIN_CONFIDENCE
from etl.query import QueryResult, run_query
from etl.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README, flags=re.DOTALL)


def _rows(result: QueryResult) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def _russia_assaults_ukraine(rows: Sequence[dict[str, Any]]) -> bool:
    return any(
        row["event_type"] == "ASSAULT"
        and row["actor"] in {"Russia", "Russian"}
        and row["recipient"] in {"Ukraine", "Ukrainian"}
        and row["confidence"] >= MIN_CONFIDENCE
        for row in rows
    )


def _zelensky_visit_reported_twice(rows: Sequence[dict[str, Any]]) -> bool:
    return all(row["num_articles"] > 1 for row in rows) and {
        ("CONSULT", "Volodymyr Zelensky", "visit"),
        ("CONSULT", "Volodymyr Zelensky", "visited"),
    } <= {(row["event_type"], row["actor"], row["trigger_text"]) for row in rows}


def _putin_with_his_aliases(rows: Sequence[dict[str, Any]]) -> bool:
    putin = next(row for row in rows if row["canonical_name"] == "Vladimir Putin")
    return {"Putin", "Vladimir Putin"} <= set(putin["aliases"].split(" | ")) and putin["type"] == "PERSON"


def _empty_and_broken_line_rejected(rows: Sequence[dict[str, Any]]) -> bool:
    facts = {(row["file"], row["record_index"], row["reason"]) for row in rows}
    return ("empty.txt", 0, "empty file") in facts and any(
        file == "feed-with-one-broken-line.jsonl" and index == 3 and reason.startswith("line 3: invalid JSON")
        for file, index, reason in facts
    )


# One real fact of each query's answer, in the README's order.
FACTS: list[Callable[[Sequence[dict[str, Any]]], bool]] = [
    _russia_assaults_ukraine,
    _zelensky_visit_reported_twice,
    _putin_with_his_aliases,
    _empty_and_broken_line_rejected,
]


def test_readme_has_one_checked_fact_per_sql_block():
    assert len(SQL_BLOCKS) == len(FACTS)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(FACTS)))
def test_readme_sql_runs_on_the_sample_database(sample_db: str, index: int):
    rows = _rows(run_query(sample_db, SQL_BLOCKS[index]))
    assert rows
    assert FACTS[index](rows), rows


def test_readme_settings_table_lists_every_setting():
    listed = set(re.findall(r"^\| `(NEWSETL_[A-Z_]+)` \|", README, flags=re.MULTILINE))
    assert listed == {f"NEWSETL_{name.upper()}" for name in Settings.model_fields}
