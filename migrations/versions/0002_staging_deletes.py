"""staging deletes bound to what was verified: the version copied, deletes owed, why one stays

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("object_copies") as batch:
        batch.add_column(sa.Column("source_version_id", sa.String(length=1024), nullable=True))
        batch.add_column(
            sa.Column("delete_owed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("staging_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("object_copies") as batch:
        batch.drop_column("staging_note")
        batch.drop_column("delete_owed")
        batch.drop_column("source_version_id")
