"""initial schema: credentials, tokens, collections, buckets, transfers, objects, events

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21 15:21:25.191728
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of aws_copy_pt.db.engine.APPLICATION_ID: revisions must not import app code.
APPLICATION_ID = 0x41435054


def upgrade() -> None:
    # Mark the file as aws-copy-pt's so a foreign SQLite file is recognised and refused.
    op.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    op.create_table(
        "aws_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("profile", sa.String(length=200), nullable=True),
        sa.Column("access_key_id", sa.String(length=128), nullable=True),
        sa.Column("secret_access_key", sa.Text(), nullable=True),
        sa.Column("session_token", sa.Text(), nullable=True),
        sa.Column("role_arn", sa.String(length=2048), nullable=True),
        sa.Column("external_id", sa.String(length=1224), nullable=True),
        sa.Column("account_id", sa.String(length=12), nullable=True),
        sa.Column("caller_arn", sa.String(length=2048), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aws_credentials")),
        sa.UniqueConstraint("name", name=op.f("uq_aws_credentials_name")),
    )
    op.create_table(
        "globus_tokens",
        sa.Column("namespace", sa.String(length=100), nullable=False),
        sa.Column("resource_server", sa.String(length=200), nullable=False),
        sa.Column("identity_id", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at_seconds", sa.BigInteger(), nullable=False),
        sa.Column("token_type", sa.String(length=50), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "resource_server", name=op.f("pk_globus_tokens")),
    )
    op.create_table(
        "notification_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("events", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_targets")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_targets_name")),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "buckets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_url", sa.String(length=2048), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("region_source", sa.String(length=20), nullable=False),
        sa.Column("expected_owner", sa.String(length=12), nullable=True),
        sa.Column("storage_class", sa.String(length=40), nullable=True),
        sa.Column("acl", sa.String(length=40), nullable=True),
        sa.Column("sse", sa.String(length=20), nullable=True),
        sa.Column("sse_kms_key_id", sa.String(length=2048), nullable=True),
        sa.Column("requester_pays", sa.Boolean(), nullable=False),
        sa.Column("metadata_directive", sa.String(length=10), nullable=False),
        sa.Column("tagging_directive", sa.String(length=10), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["aws_credentials.id"],
            name=op.f("fk_buckets_credential_id_aws_credentials"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buckets")),
        sa.UniqueConstraint("name", name=op.f("uq_buckets_name")),
    )
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=500), nullable=True),
        sa.Column("bucket_id", sa.Integer(), nullable=False),
        sa.Column("base_path", sa.String(length=4096), nullable=False),
        sa.Column("key_prefix", sa.String(length=1024), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=True),
        sa.Column("is_s3_gateway", sa.Boolean(), nullable=True),
        sa.Column("needs_data_access_consent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_id"],
            ["buckets.id"],
            name=op.f("fk_collections_bucket_id_buckets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("collection_id", name=op.f("uq_collections_collection_id")),
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("globus_task_id", sa.String(length=36), nullable=True),
        sa.Column("collection_id", sa.Integer(), nullable=True),
        sa.Column("source_bucket_id", sa.Integer(), nullable=False),
        sa.Column("source_prefix", sa.String(length=1024), nullable=False),
        sa.Column("dest_bucket_id", sa.Integer(), nullable=False),
        sa.Column("dest_prefix", sa.String(length=1024), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("globus_status", sa.String(length=20), nullable=True),
        sa.Column("nice_status", sa.String(length=100), nullable=True),
        sa.Column("faults", sa.Integer(), nullable=False),
        sa.Column("files_expected", sa.Integer(), nullable=True),
        sa.Column("files_transferred", sa.Integer(), nullable=False),
        sa.Column("bytes_transferred", sa.BigInteger(), nullable=False),
        sa.Column("effective_bytes_per_second", sa.BigInteger(), nullable=True),
        sa.Column("globus_completed_at", sa.DateTime(), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(), nullable=True),
        sa.Column("poll_failures", sa.Integer(), nullable=False),
        sa.Column("listing_marker", sa.Text(), nullable=True),
        sa.Column("objects_total", sa.Integer(), nullable=False),
        sa.Column("bytes_total", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_transfers_collection_id_collections"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["dest_bucket_id"],
            ["buckets.id"],
            name=op.f("fk_transfers_dest_bucket_id_buckets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_bucket_id"],
            ["buckets.id"],
            name=op.f("fk_transfers_source_bucket_id_buckets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("globus_task_id", name=op.f("uq_transfers_globus_task_id")),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index("ix_transfers_state", ["state"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_events_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_transfer_at", ["transfer_id", "at"], unique=False)

    op.create_table(
        "object_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("globus_source_path", sa.Text(), nullable=True),
        sa.Column("globus_destination_path", sa.Text(), nullable=True),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("dest_key", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("source_etag", sa.String(length=200), nullable=True),
        sa.Column("checksum_algorithm", sa.String(length=20), nullable=True),
        sa.Column("source_checksum", sa.String(length=200), nullable=True),
        sa.Column("dest_etag", sa.String(length=200), nullable=True),
        sa.Column("dest_checksum", sa.String(length=200), nullable=True),
        sa.Column("upload_id", sa.Text(), nullable=True),
        sa.Column("part_size", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("staging_deleted", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_object_copies_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_object_copies")),
        sa.UniqueConstraint("transfer_id", "source_key", name="uq_object_copies_transfer_source"),
    )
    with op.batch_alter_table("object_copies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_object_copies_transfer_state", ["transfer_id", "state"], unique=False
        )

    op.create_table(
        "pending_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["notification_targets.id"],
            name=op.f("fk_pending_notifications_target_id_notification_targets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_pending_notifications_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_notifications")),
    )


def downgrade() -> None:
    op.execute("PRAGMA application_id = 0")
    op.drop_table("pending_notifications")
    with op.batch_alter_table("object_copies", schema=None) as batch_op:
        batch_op.drop_index("ix_object_copies_transfer_state")

    op.drop_table("object_copies")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_transfer_at")

    op.drop_table("events")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_state")

    op.drop_table("transfers")
    op.drop_table("collections")
    op.drop_table("buckets")
    op.drop_table("settings")
    op.drop_table("notification_targets")
    op.drop_table("globus_tokens")
    op.drop_table("aws_credentials")
