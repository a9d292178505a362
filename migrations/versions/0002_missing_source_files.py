"""Deleted source files: `source_files.status` may be `missing`, and each run counts its deleted files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('loaded', 'skipped', 'duplicate', 'rejected')"
NEW_STATUSES = "status IN ('loaded', 'skipped', 'duplicate', 'rejected', 'missing')"


def upgrade() -> None:
    # Batch mode: SQLite can change a CHECK constraint only by rebuilding the table (a plain ALTER elsewhere).
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("files_deleted", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("source_files") as batch:
        batch.drop_constraint(op.f("ck_source_files_status"), type_="check")
        batch.create_check_constraint(op.f("ck_source_files_status"), NEW_STATUSES)


def downgrade() -> None:
    # The old schema cannot say `missing`: forget those files, as `newsetl run --retire-missing` would not.
    op.execute("DELETE FROM source_files WHERE status = 'missing'")
    with op.batch_alter_table("source_files") as batch:
        batch.drop_constraint(op.f("ck_source_files_status"), type_="check")
        batch.create_check_constraint(op.f("ck_source_files_status"), OLD_STATUSES)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("files_deleted")
