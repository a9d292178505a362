"""Event participants may be the `source` of reported speech ("…, General Milley said"), beside actors and recipients.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = "role IN ('actor', 'recipient')"
NEW_ROLES = "role IN ('actor', 'recipient', 'source')"


def upgrade() -> None:
    # Batch mode: SQLite can change a CHECK constraint only by rebuilding the table (a plain ALTER elsewhere).
    with op.batch_alter_table("event_participants") as batch:
        batch.drop_constraint(op.f("ck_event_participants_role"), type_="check")
        batch.create_check_constraint(op.f("ck_event_participants_role"), NEW_ROLES)


def downgrade() -> None:
    # The old schema cannot say who reported an event: drop the sources, the events themselves stay.
    op.execute("DELETE FROM event_participants WHERE role = 'source'")
    with op.batch_alter_table("event_participants") as batch:
        batch.drop_constraint(op.f("ck_event_participants_role"), type_="check")
        batch.create_check_constraint(op.f("ck_event_participants_role"), OLD_ROLES)
