"""batch engine: per-bucket engine settings, batch jobs per transfer, rows held by a job

(object_copies.source_version_id, the staged version a job copies, exists since 0002.)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 15:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable, no default): SQLite adds them without rebuilding the table,
    # so a home with millions of object rows migrates in milliseconds.
    with op.batch_alter_table("buckets", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("engine", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("batch_role_arn", sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column("batch_threshold", sa.Integer(), nullable=True))
    with op.batch_alter_table("object_copies", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("batch_attempt", sa.Integer(), nullable=True))
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("role_arn", sa.String(length=2048), nullable=False),
        sa.Column("client_request_token", sa.String(length=64), nullable=False),
        sa.Column("confirmation_required", sa.Boolean(), nullable=False),
        sa.Column("report_scope", sa.String(length=20), nullable=False),
        sa.Column("target_key_prefix", sa.String(length=1024), nullable=False),
        sa.Column("versioned", sa.Boolean(), nullable=False),
        sa.Column("objects", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("manifest_bucket", sa.String(length=255), nullable=False),
        sa.Column("manifest_key", sa.Text(), nullable=False),
        sa.Column("manifest_etag", sa.String(length=200), nullable=True),
        sa.Column("manifest_version_id", sa.String(length=1024), nullable=True),
        sa.Column("report_bucket", sa.String(length=255), nullable=False),
        sa.Column("report_prefix", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("tasks_total", sa.Integer(), nullable=True),
        sa.Column("tasks_succeeded", sa.Integer(), nullable=False),
        sa.Column("tasks_failed", sa.Integer(), nullable=False),
        sa.Column("failure_reasons", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_batch_jobs_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_jobs")),
        sa.UniqueConstraint("transfer_id", "attempt", name="uq_batch_jobs_transfer_attempt"),
    )


def downgrade() -> None:
    op.drop_table("batch_jobs")
    with op.batch_alter_table("object_copies") as batch_op:
        batch_op.drop_column("batch_attempt")
    with op.batch_alter_table("buckets") as batch_op:
        batch_op.drop_column("batch_threshold")
        batch_op.drop_column("batch_role_arn")
        batch_op.drop_column("engine")
