"""Near-duplicate articles and event clusters: `articles.near_duplicate_of`, `article_signatures`,
`article_bands`, `event_clusters`, `events.cluster_id` (not null), and the views that show them.

The articles already stored are signed and linked, and their events clustered, here, in id order, with the
settings `etl.database.upgrade` hands over (the defaults otherwise): nothing is read again from the input folder.
`event_facts` gains its event's cluster and the cluster's number of articles, and `event_cluster_facts` is new.

SQLite cannot make a column NOT NULL in place: `events` is rebuilt (batch mode), its participants kept aside
meanwhile, as dropping the old table would delete them by cascade; the views are dropped first and made again
after, since SQLite checks them against the tables as it renames the rebuilt one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from etl import event_clusters, near_duplicates
from etl.records import Grouping

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns `event_facts` gains, after those it had.
CLUSTER_COLUMNS = "ev.cluster_id, c.num_articles AS cluster_articles"

EVENT_CLUSTER_FACTS = """
SELECT
    c.id AS cluster_id,
    c.event_date,
    c.event_type,
    c.mode,
    et.quad_class,
    c.actor_entity_id,
    ae.canonical_name AS actor,
    ae.country AS actor_country,
    c.recipient_entity_id,
    re.canonical_name AS recipient,
    re.country AS recipient_country,
    c.location_entity_id,
    loc.canonical_name AS location,
    loc.country AS location_country,
    c.first_seen_at,
    c.num_articles,
    c.num_sources,
    c.num_mentions
FROM event_clusters AS c
LEFT JOIN event_types AS et ON et.event_type = c.event_type AND et.mode = ''
LEFT JOIN entities AS ae ON ae.id = c.actor_entity_id
LEFT JOIN entities AS re ON re.id = c.recipient_entity_id
LEFT JOIN entities AS loc ON loc.id = c.location_entity_id
WHERE c.id IN (SELECT ev.cluster_id FROM counted_events AS ce JOIN events AS ev ON ev.id = ce.id)"""


def _view_definitions(dialect: str) -> dict[str, str]:
    """Every view's SELECT as the database holds it now, whichever migration made it."""
    bind = op.get_bind()
    if dialect == "postgresql":
        rows = bind.execute(
            sa.text("SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema() ORDER BY viewname")
        )
        return {name: definition.strip().rstrip(";") for name, definition in rows}
    rows = bind.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name"))
    return {name: sql.split(" AS ", 1)[1] for name, sql in rows}


def _with_clusters(event_facts: str) -> str:
    return (
        f"SELECT facts.*, {CLUSTER_COLUMNS}\nFROM ({event_facts}) AS facts\n"
        "JOIN events AS ev ON ev.id = facts.event_id\nJOIN event_clusters AS c ON c.id = ev.cluster_id"
    )


@contextmanager
def _participants_kept() -> Iterator[None]:
    """On SQLite, rebuilding `events` drops the old table, which deletes its participants by cascade: they are kept
    aside meanwhile and put back."""
    op.execute("CREATE TEMPORARY TABLE kept_event_participants AS SELECT * FROM event_participants")
    yield
    op.execute("INSERT INTO event_participants SELECT * FROM kept_event_participants")
    op.execute("DROP TABLE kept_event_participants")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    views = _view_definitions(dialect)
    # PostgreSQL alters `events` in place: only the view that changes is dropped.
    for name in views if dialect == "sqlite" else ["event_facts"]:
        op.execute(f"DROP VIEW {name}")

    op.create_table(
        "event_clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=64), nullable=True),
        sa.Column("actor_entity_id", sa.Integer(), nullable=True),
        sa.Column("recipient_entity_id", sa.Integer(), nullable=True),
        sa.Column("location_entity_id", sa.Integer(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("num_articles", sa.Integer(), nullable=False),
        sa.Column("num_sources", sa.Integer(), nullable=False),
        sa.Column("num_mentions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_entity_id"], ["entities.id"], name=op.f("fk_event_clusters_actor_entity_id_entities")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_entity_id"], ["entities.id"], name=op.f("fk_event_clusters_recipient_entity_id_entities")
        ),
        sa.ForeignKeyConstraint(
            ["location_entity_id"], ["entities.id"], name=op.f("fk_event_clusters_location_entity_id_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_clusters")),
    )
    op.create_index(op.f("ix_event_clusters_event_type_event_date"), "event_clusters", ["event_type", "event_date"])
    for column in ("actor_entity_id", "recipient_entity_id", "location_entity_id"):
        op.create_index(op.f(f"ix_event_clusters_{column}"), "event_clusters", [column])
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_signatures_article_id_articles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_signatures")),
    )
    op.create_table(
        "article_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_bands_article_id_articles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("band", "band_key", "article_id", name=op.f("pk_article_bands")),
    )
    op.create_index(op.f("ix_article_bands_article_id"), "article_bands", ["article_id"])

    op.add_column("articles", sa.Column("near_duplicate_of", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_articles_near_duplicate_of"), "articles", ["near_duplicate_of"])
    op.add_column("events", sa.Column("cluster_id", sa.Integer(), nullable=True))

    grouping = op.get_context().config.attributes.get("grouping", Grouping())
    connection = op.get_bind()
    near_duplicates.link_stored(connection, grouping.near_duplicate_threshold)
    event_clusters.cluster_stored(connection, grouping.cluster_days)

    cluster_fk = op.f("fk_events_cluster_id_event_clusters")
    if dialect == "sqlite":
        with _participants_kept(), op.batch_alter_table("events") as batch:
            batch.alter_column("cluster_id", existing_type=sa.Integer(), nullable=False)
            batch.create_foreign_key(cluster_fk, "event_clusters", ["cluster_id"], ["id"])
    else:
        op.alter_column("events", "cluster_id", existing_type=sa.Integer(), nullable=False)
        op.create_foreign_key(cluster_fk, "events", "event_clusters", ["cluster_id"], ["id"])
    op.create_index(op.f("ix_events_cluster_id"), "events", ["cluster_id"])

    views["event_facts"] = _with_clusters(views["event_facts"])
    views["event_cluster_facts"] = EVENT_CLUSTER_FACTS
    for name, select in views.items() if dialect == "sqlite" else [("event_facts", views["event_facts"])]:
        op.execute(f"CREATE VIEW {name} AS {select}")
    if dialect != "sqlite":
        op.execute(f"CREATE VIEW event_cluster_facts AS {EVENT_CLUSTER_FACTS}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    views = _view_definitions(dialect)
    del views["event_cluster_facts"]
    op.execute("DROP VIEW event_cluster_facts")
    for name in views if dialect == "sqlite" else ["event_facts"]:
        op.execute(f"DROP VIEW {name}")
    op.drop_index(op.f("ix_events_cluster_id"), table_name="events")
    if dialect == "sqlite":
        with _participants_kept(), op.batch_alter_table("events") as batch:
            batch.drop_constraint(op.f("fk_events_cluster_id_event_clusters"), type_="foreignkey")
            batch.drop_column("cluster_id")
    else:
        op.drop_constraint(op.f("fk_events_cluster_id_event_clusters"), "events", type_="foreignkey")
        op.drop_column("events", "cluster_id")
    op.drop_index(op.f("ix_articles_near_duplicate_of"), table_name="articles")
    op.drop_column("articles", "near_duplicate_of")
    op.drop_table("article_bands")
    op.drop_table("article_signatures")
    op.drop_table("event_clusters")
    # `event_facts` as migration 0006 made it.
    counted_views = importlib.import_module("migrations.versions.0006_event_confidence_and_background")
    views["event_facts"] = counted_views._views(dialect)["event_facts"]
    for name, select in views.items() if dialect == "sqlite" else [("event_facts", views["event_facts"])]:
        op.execute(f"CREATE VIEW {name} AS {select}")
