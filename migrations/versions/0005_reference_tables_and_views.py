"""Reference tables (`event_types`, `countries`), the analysts' views (`event_facts`, `entity_daily_mentions`,
`actor_dyads`, `article_overview`) and the indexes their questions need.

The tables are created empty: `etl.database.upgrade` fills them from `etl/reference_data/` on every upgrade.
The views mean the same on both backends; only lists of names differ in spelling (SQLite's `group_concat`
over rows a subquery ordered, PostgreSQL's `string_agg(… ORDER BY …)`) and so does a timestamp's UTC day.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEPARATOR = "; "

# A participant's name, country and sector: what the event coder attributed, else what its entity says.
PARTICIPANTS = """event_participants AS p LEFT JOIN entities AS pe ON pe.id = p.entity_id
    WHERE p.event_id = ev.id AND p.role = '{role}'"""
PARTICIPANT_NAME = "coalesce(pe.canonical_name, p.text)"
PARTICIPANT_COUNTRY = "coalesce(p.country, pe.country)"
PARTICIPANT_SECTOR = "coalesce(p.sector, pe.sector)"


def _joined(dialect: str, value: str, source: str, order: str | None = None) -> str:
    """A scalar subquery joining `value` over `source` with '; ': in `order`, or distinct and sorted when None."""
    if dialect == "postgresql":
        aggregate = (
            f"DISTINCT {value}, '{SEPARATOR}' ORDER BY {value}"
            if order is None
            else (f"{value}, '{SEPARATOR}' ORDER BY {order}")
        )
        return f"(SELECT string_agg({aggregate}) FROM {source})"
    # SQLite before 3.44 has no ORDER BY inside an aggregate: group_concat keeps the order of its input rows.
    rows = (
        f"SELECT DISTINCT {value} AS v FROM {source} ORDER BY v"
        if order is None
        else (f"SELECT {value} AS v FROM {source} ORDER BY {order}")
    )
    return f"(SELECT group_concat(v, '{SEPARATOR}') FROM ({rows}))"


def _utc_day(dialect: str, timestamp: str) -> str:
    if dialect == "postgresql":
        return f"CAST({timestamp} AT TIME ZONE 'UTC' AS DATE)"
    return f"date({timestamp})"  # stored in UTC already


def _participant_lists(dialect: str, role: str, prefix: str) -> str:
    source = PARTICIPANTS.format(role=role)
    return ",\n    ".join(
        (
            f"{_joined(dialect, PARTICIPANT_NAME, source, order='p.start_char, p.id')} AS {prefix}s",
            f"{_joined(dialect, PARTICIPANT_COUNTRY, source)} AS {prefix}_countries",
            f"{_joined(dialect, PARTICIPANT_SECTOR, source)} AS {prefix}_sectors",
        )
    )


def _views(dialect: str) -> dict[str, str]:
    return {
        "event_facts": f"""
SELECT
    ev.id AS event_id,
    ev.event_date,
    ev.event_type,
    ev.mode,
    et.quad_class,
    ev.negated,
    ev.hypothetical,
    {_participant_lists(dialect, "actor", "actor")},
    {_participant_lists(dialect, "recipient", "recipient")},
    {_joined(dialect, PARTICIPANT_NAME, PARTICIPANTS.format(role="source"), order="p.start_char, p.id")} AS reported_by,
    loc.canonical_name AS location,
    loc.country AS location_country,
    loc.lat AS location_lat,
    loc.lon AS location_lon,
    ev.trigger_text,
    ev.sentence_text,
    ev.article_id,
    a.title AS article_title,
    a.source AS article_source,
    a.url AS article_url,
    a.published_at
FROM events AS ev
JOIN articles AS a ON a.id = ev.article_id
LEFT JOIN event_types AS et ON et.event_type = ev.event_type AND et.mode = ''
LEFT JOIN entities AS loc ON loc.id = ev.location_entity_id""",
        "entity_daily_mentions": f"""
SELECT
    e.id AS entity_id,
    e.canonical_name AS entity,
    e.type,
    e.country,
    {_utc_day(dialect, "a.published_at")} AS day,
    count(*) AS mentions,
    count(DISTINCT m.article_id) AS articles
FROM mentions AS m
JOIN entities AS e ON e.id = m.entity_id
JOIN articles AS a ON a.id = m.article_id
GROUP BY e.id, e.canonical_name, e.type, e.country, {_utc_day(dialect, "a.published_at")}""",
        # What happened, between whom: negated and hypothetical events are left out.
        "actor_dyads": """
SELECT
    ap.entity_id AS actor_entity_id,
    coalesce(ae.canonical_name, ap.text) AS actor,
    coalesce(ap.country, ae.country) AS actor_country,
    rp.entity_id AS recipient_entity_id,
    coalesce(re.canonical_name, rp.text) AS recipient,
    coalesce(rp.country, re.country) AS recipient_country,
    ev.event_type,
    et.quad_class,
    count(DISTINCT ev.id) AS events,
    min(ev.event_date) AS first_date,
    max(ev.event_date) AS last_date
FROM events AS ev
JOIN event_participants AS ap ON ap.event_id = ev.id AND ap.role = 'actor'
JOIN event_participants AS rp ON rp.event_id = ev.id AND rp.role = 'recipient'
LEFT JOIN entities AS ae ON ae.id = ap.entity_id
LEFT JOIN entities AS re ON re.id = rp.entity_id
LEFT JOIN event_types AS et ON et.event_type = ev.event_type AND et.mode = ''
WHERE NOT ev.negated AND NOT ev.hypothetical
GROUP BY ap.entity_id, coalesce(ae.canonical_name, ap.text), coalesce(ap.country, ae.country),
    rp.entity_id, coalesce(re.canonical_name, rp.text), coalesce(rp.country, re.country),
    ev.event_type, et.quad_class""",
        "article_overview": f"""
SELECT
    a.id AS article_id,
    a.published_at,
    {_utc_day(dialect, "a.published_at")} AS day,
    a.title,
    a.source,
    a.url,
    a.language,
    a.word_count,
    (SELECT count(*) FROM mentions AS m WHERE m.article_id = a.id) AS mentions,
    (SELECT count(DISTINCT m.entity_id) FROM mentions AS m WHERE m.article_id = a.id) AS entities,
    (SELECT count(*) FROM events AS ev WHERE ev.article_id = a.id) AS events,
    {_joined(dialect, "ev.event_type", "events AS ev WHERE ev.article_id = a.id")} AS event_types,
    a.source_path,
    a.first_seen_run_id,
    a.updated_run_id
FROM articles AS a""",
    }


def upgrade() -> None:
    op.create_table(
        "event_types",
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=64), nullable=False),
        sa.Column("quad_class", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_type", "mode", name=op.f("pk_event_types")),
    )
    op.create_table(
        "countries",
        sa.Column("iso3", sa.String(length=3), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("iso3", name=op.f("pk_countries")),
    )
    op.create_index(op.f("ix_entities_canonical_name"), "entities", ["canonical_name"])
    op.create_index(op.f("ix_event_participants_country_sector"), "event_participants", ["country", "sector"])
    for name, select in _views(op.get_bind().dialect.name).items():
        op.execute(f"CREATE VIEW {name} AS {select}")


def downgrade() -> None:
    for name in _views(op.get_bind().dialect.name):
        op.execute(f"DROP VIEW {name}")
    op.drop_index(op.f("ix_event_participants_country_sector"), table_name="event_participants")
    op.drop_index(op.f("ix_entities_canonical_name"), table_name="entities")
    op.drop_table("countries")
    op.drop_table("event_types")
