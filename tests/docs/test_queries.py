"""docs/queries.md is tested: each question's SQL runs on the sample articles and gives the answer the page
states; on PostgreSQL each query plans with the indexes the page lists.

Plans are read with sequential scans discouraged (`enable_seqscan = off`): on a small database the planner
rightly prefers reading a whole table, and the question is whether an index exists that serves the query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from etl.query import run_query

QUERIES_DOC = (Path(__file__).resolve().parents[2] / "docs" / "queries.md").read_text(encoding="utf-8")
SECTIONS = re.split(r"^## \d+\. ", QUERIES_DOC, flags=re.MULTILINE)[1:]
SQL = [re.search(r"```sql\n(.*?)```", section, flags=re.DOTALL)[1] for section in SECTIONS]
INDEXES = [re.findall(r"`(ix_\w+)`", section.partition("**Indexes used (PostgreSQL):**")[2]) for section in SECTIONS]

Rows = Sequence[dict[str, Any]]


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _russian_military_targets(rows: Rows) -> bool:
    in_week = all(date(2022, 11, 20) <= _day(row["event_date"]) <= date(2022, 11, 26) for row in rows)
    recipients = {row["recipient"] for row in rows}
    return (
        in_week and {"Ukrainian", "Bakhmut"} <= recipients and all(row["actor"].startswith("Russian") for row in rows)
    )


def _kherson_by_day(rows: Rows) -> bool:
    days = [_day(row["day"]) for row in rows]
    by_day = {_day(row["day"]): (row["mentions"], row["articles"]) for row in rows}
    return days == sorted(days) and all(day.month == 11 for day in days) and by_day[date(2022, 11, 14)][1] == 2


def _quad_classes(rows: Rows) -> bool:
    classes = {row["quad_class"]: row for row in rows}
    expected = {"verbal cooperation", "material cooperation", "verbal conflict", "material conflict"}
    return set(classes) == expected and classes["verbal cooperation"]["events"] > classes["material conflict"]["events"]


def _conflict_dyads(rows: Rows) -> bool:
    top = rows[0]
    return (top["actor"], top["recipient"], top["event_type"], _day(top["first_date"])) == (
        "Russian",
        "Ukrainian",
        "ASSAULT",
        date(2022, 11, 15),
    ) and any(row["actor"] == "European Union" and row["event_type"] == "SANCTION" for row in rows)


def _event_countries(rows: Rows) -> bool:
    top = rows[0]
    ukraine = next(row for row in rows if row["country"] == "Ukraine")
    return (top["region"], top["country"]) == ("Asia", "China") and ukraine["region"] == "Europe"


def _putin_acts(rows: Rows) -> bool:
    return all("Vladimir Putin" in row["actors"] for row in rows) and any(
        _day(row["event_date"]) == date(2022, 9, 30) and row["trigger_text"].startswith("proclaimed") for row in rows
    )


def _mentioned_with_zelensky(rows: Rows) -> bool:
    names = {row["mentioned_with"] for row in rows}
    return {"Russia", "Ukraine", "Vladimir Putin"} <= names and "Volodymyr Zelensky" not in names


def _denied_events(rows: Rows) -> bool:
    return any(
        row["actor"] == "Beijing" and row["trigger_text"] == "condemned" and row["recipient"] == "Russia"
        for row in rows
    )


def _actor_regions(rows: Rows) -> bool:
    regions = [row["region"] for row in rows]
    return regions[0] == "Europe" and set(regions) <= {"Africa", "Americas", "Asia", "Europe", "Oceania"}


def _busiest_articles(rows: Rows) -> bool:
    counts = [row["events"] for row in rows]
    titles = " ".join(row["title"] for row in rows)
    return (
        len(rows) == 5
        and counts == sorted(counts, reverse=True)
        and all(_day(row["day"]).month == 11 for row in rows)
        and "Iranian police fire tear gas" in titles
    )


def _distinct_events_and_reports(rows: Rows) -> bool:
    by_type = {row["event_type"]: row for row in rows}
    assault = by_type["ASSAULT"]
    return (
        set(by_type) == {"ASSAULT", "CONSULT", "REJECT"}
        and all(row["events"] <= row["reports"] for row in rows)
        and assault["events"] < assault["reports"]
        and assault["most_articles"] == 2
    )


# One checked answer per question, in the page's order.
ANSWERS: list[Callable[[Rows], bool]] = [
    _russian_military_targets,
    _kherson_by_day,
    _quad_classes,
    _conflict_dyads,
    _event_countries,
    _putin_acts,
    _mentioned_with_zelensky,
    _denied_events,
    _actor_regions,
    _busiest_articles,
    _distinct_events_and_reports,
]


def test_queries_doc_has_eleven_questions_each_with_a_checked_answer():
    assert len(SQL) == len(ANSWERS) == 11


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(ANSWERS)))
def test_queries_answer_on_the_sample_database(sample_db: str, index: int):
    result = run_query(sample_db, SQL[index])
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    assert rows
    assert ANSWERS[index](rows), rows


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_queries_use_their_indexes_on_postgresql(engine: Engine):
    with engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        for sql, indexes in zip(SQL, INDEXES, strict=True):
            plan = "\n".join(connection.execute(text(f"EXPLAIN {sql}")).scalars())
            missing = [name for name in indexes if name not in plan]
            assert not missing, f"{missing} unused by:\n{sql}\n{plan}"


def test_schema_doc_example_queries_run_on_both_backends(engine: Engine):
    """The example under each view in docs/schema.md is valid SQL on SQLite and PostgreSQL."""
    schema_doc = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text(encoding="utf-8")
    examples = re.findall(r"```sql\n(.*?)```", schema_doc, flags=re.DOTALL)
    assert len(examples) == 7
    with engine.connect() as connection:
        for sql in examples:
            connection.execute(text(sql)).all()
