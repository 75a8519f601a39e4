"""Streamed copies: transfers.route, object_copies.verified_by, object_parts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 18:30:00.000000

A transfer records how its objects travel (server-side or streamed through this machine), each
verified object what proved it, and a streamed multipart upload the parts it finished (ETag,
size, CRCs), so a resumed upload keeps them after checking ListParts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.add_column(sa.Column("route", sa.String(length=20), nullable=True))
    with op.batch_alter_table("object_copies") as batch:
        batch.add_column(sa.Column("verified_by", sa.String(length=120), nullable=True))
    op.create_table(
        "object_parts",
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=200), nullable=False),
        sa.Column("checksums", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["object_copies.id"],
            name=op.f("fk_object_parts_object_id_object_copies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("object_id", "part_number", name=op.f("pk_object_parts")),
    )


def downgrade() -> None:
    op.drop_table("object_parts")
    with op.batch_alter_table("object_copies") as batch:
        batch.drop_column("verified_by")
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("route")
