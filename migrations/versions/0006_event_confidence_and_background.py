"""Events get a `confidence` (`etl/nlp/confidence.py`) and an `is_background` flag, and the analysts' views count
only the events at or above the confidence line that are news: `counted_events`, the new view they read from.

Events already stored are scored from what is stored: their participants, `negated` and `hypothetical`; the kind
of trigger is not stored, so each is scored as a verb alone (`newsetl backfill --reprocess` scores them anew).
They are background when dated more than `BACKGROUND_DAYS` before their article's UTC publication day.

The columns are added in place, not in batch mode: on SQLite a batch rebuild drops `events`, and with foreign keys
on, dropping it deletes every participant by cascade. SQLite adds a NOT NULL column only with a default, so the
columns keep theirs on both backends (`etl/models.py` declares the same).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.nlp.confidence import (
    ACTOR_FACTOR,
    HYPOTHETICAL_FACTOR,
    NEGATED_FACTOR,
    NO_RECIPIENT_FACTOR,
    TRIGGER_STRENGTH,
    ActorKind,
    TriggerKind,
)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The views' rules, written into their SQL: a view means the same to every reader, whatever their settings. A test
# holds these equal to `etl.nlp.confidence.MIN_CONFIDENCE` and `etl.nlp.event_dates.BACKGROUND_DAYS`.
MIN_CONFIDENCE = 0.5
BACKGROUND_DAYS = 30

# Columns named, not `*`: PostgreSQL fixes a view's columns when it is made, SQLite whenever it is read.
COUNTED_EVENTS = f"""SELECT id, article_id, event_type, mode, trigger_text, trigger_start, trigger_end, sentence_index,
    sentence_text, event_date, date_text, location_entity_id, negated, hypothetical, confidence, is_background
FROM events
WHERE confidence >= {MIN_CONFIDENCE} AND NOT is_background"""
PARTICIPANT = "SELECT 1 FROM event_participants AS p WHERE p.event_id = events.id AND p.role = '{role}'"

# 0005's views, over `counted_events` instead of `events`; `event_facts` shows each event's confidence.
_0005 = importlib.import_module("migrations.versions.0005_reference_tables_and_views")
EVENT_SOURCE = "events AS ev"
EVENT_FACTS_FLAGS = "    ev.hypothetical,\n"


def _views(dialect: str) -> dict[str, str]:
    views = {}
    for name, select in _0005._views(dialect).items():
        if name == "event_facts":
            assert EVENT_FACTS_FLAGS in select, "0005's event_facts lists ev.hypothetical"
            select = select.replace(EVENT_FACTS_FLAGS, f"{EVENT_FACTS_FLAGS}    ev.confidence,\n")
        views[name] = select.replace(EVENT_SOURCE, "counted_events AS ev")
    return views


def _backfilled_confidence() -> str:
    """`etl.nlp.confidence.confidence` over the stored evidence, as SQL, for a trigger scored as a verb alone."""
    resolved = f"{PARTICIPANT.format(role='actor')} AND (p.entity_id IS NOT NULL OR p.sector IS NOT NULL)"
    factors = (
        str(TRIGGER_STRENGTH[TriggerKind.VERB]),
        f"CASE WHEN EXISTS ({resolved}) THEN {ACTOR_FACTOR[ActorKind.RESOLVED]} "
        f"WHEN EXISTS ({PARTICIPANT.format(role='actor')}) THEN {ACTOR_FACTOR[ActorKind.UNRESOLVED]} "
        f"ELSE {ACTOR_FACTOR[ActorKind.NONE]} END",
        f"CASE WHEN EXISTS ({PARTICIPANT.format(role='recipient')}) THEN 1 ELSE {NO_RECIPIENT_FACTOR} END",
        f"CASE WHEN negated THEN {NEGATED_FACTOR} ELSE 1 END",
        f"CASE WHEN hypothetical THEN {HYPOTHETICAL_FACTOR} ELSE 1 END",
    )
    return f"round(CAST({' * '.join(factors)} AS NUMERIC), 3)"


def _backfilled_background(dialect: str) -> str:
    if dialect == "postgresql":
        days = "CAST(a.published_at AT TIME ZONE 'UTC' AS DATE) - events.event_date"
    else:
        days = "julianday(date(a.published_at)) - julianday(events.event_date)"
    return f"coalesce((SELECT {days} > {BACKGROUND_DAYS} FROM articles AS a WHERE a.id = events.article_id), false)"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in _0005._views(dialect):
        op.execute(f"DROP VIEW {name}")
    op.add_column("events", sa.Column("confidence", sa.Float(), nullable=False, server_default="1"))
    op.add_column("events", sa.Column("is_background", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        f"UPDATE events SET confidence = {_backfilled_confidence()}, is_background = {_backfilled_background(dialect)}"
    )
    op.execute(f"CREATE VIEW counted_events AS {COUNTED_EVENTS}")
    for name, select in _views(dialect).items():
        op.execute(f"CREATE VIEW {name} AS {select}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in _views(dialect):
        op.execute(f"DROP VIEW {name}")
    op.execute("DROP VIEW counted_events")
    op.drop_column("events", "is_background")
    op.drop_column("events", "confidence")
    for name, select in _0005._views(dialect).items():
        op.execute(f"CREATE VIEW {name} AS {select}")
