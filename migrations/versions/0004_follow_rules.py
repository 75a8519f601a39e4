"""follow rules (follow_rules, followed_tasks) and files Globus skipped (globus_skipped_files)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 16:30:02.469378
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follow_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=True),
        sa.Column("label_match", sa.String(length=200), nullable=True),
        sa.Column("timer_id", sa.String(length=36), nullable=True),
        sa.Column("dest_bucket_id", sa.Integer(), nullable=False),
        sa.Column("dest_prefix", sa.String(length=1024), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("high_water", sa.DateTime(), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_follow_rules_collection_id_collections"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["dest_bucket_id"],
            ["buckets.id"],
            name=op.f("fk_follow_rules_dest_bucket_id_buckets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_follow_rules_name")),
    )
    op.create_table(
        "followed_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("globus_task_id", sa.String(length=36), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("also_matched", sa.JSON(), nullable=False),
        sa.Column("timers", sa.JSON(), nullable=False),
        sa.Column("request_time", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["follow_rules.id"],
            name=op.f("fk_followed_tasks_rule_id_follow_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_followed_tasks_transfer_id_transfers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followed_tasks")),
        sa.UniqueConstraint("globus_task_id", name=op.f("uq_followed_tasks_globus_task_id")),
    )
    with op.batch_alter_table("followed_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_followed_tasks_rule_decision", ["rule_id", "decision"], unique=False
        )

    op.create_table(
        "globus_skipped_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("destination_path", sa.Text(), nullable=True),
        sa.Column("is_directory", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(length=100), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_globus_skipped_files_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_globus_skipped_files")),
        sa.UniqueConstraint("transfer_id", "source_path", name="uq_globus_skipped_files_source"),
    )


def downgrade() -> None:
    op.drop_table("globus_skipped_files")
    with op.batch_alter_table("followed_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_followed_tasks_rule_decision")

    op.drop_table("followed_tasks")
    op.drop_table("follow_rules")
