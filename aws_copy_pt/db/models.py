"""The database schema as typed SQLAlchemy 2 models.

Alembic revisions in ``migrations/`` create these tables; a test checks that autogenerate finds
no difference between the models and the migrated database. States are stored as plain strings
(validated by ``core``), so adding a state never needs a table rebuild.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from aws_copy_pt.core.states import ObjectState

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes (SQLite stores naive text, so we add the zone back)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Setting(Base):
    """Small key/value settings (e.g. the Globus client id)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AwsCredential(Base):
    """A way to act as an AWS principal: a profile reference, or stored keys, optionally a role."""

    __tablename__ = "aws_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # "profile" | "keys"
    profile: Mapped[str | None] = mapped_column(String(200))
    access_key_id: Mapped[str | None] = mapped_column(String(128))
    secret_access_key: Mapped[str | None] = mapped_column(Text)
    session_token: Mapped[str | None] = mapped_column(Text)
    role_arn: Mapped[str | None] = mapped_column(String(2048))
    external_id: Mapped[str | None] = mapped_column(String(1224))
    account_id: Mapped[str | None] = mapped_column(String(12))
    caller_arn: Mapped[str | None] = mapped_column(String(2048))
    checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GlobusToken(Base):
    """Globus tokens per resource server, the storage behind the SDK's TokenStorage."""

    __tablename__ = "globus_tokens"

    namespace: Mapped[str] = mapped_column(String(100), primary_key=True)
    resource_server: Mapped[str] = mapped_column(String(200), primary_key=True)
    identity_id: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at_seconds: Mapped[int] = mapped_column(BigInteger)
    token_type: Mapped[str | None] = mapped_column(String(50))
    extra: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Bucket(Base):
    """A registered S3 bucket (staging or destination) with its access and copy settings."""

    __tablename__ = "buckets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("aws_credentials.id", ondelete="RESTRICT")
    )
    endpoint_url: Mapped[str | None] = mapped_column(String(2048))
    region: Mapped[str | None] = mapped_column(String(64))
    region_source: Mapped[str] = mapped_column(String(20), default="auto")  # auto | manual
    expected_owner: Mapped[str | None] = mapped_column(String(12))
    storage_class: Mapped[str | None] = mapped_column(String(40))
    acl: Mapped[str | None] = mapped_column(String(40), default="bucket-owner-full-control")
    sse: Mapped[str | None] = mapped_column(String(20))  # AES256 | aws:kms
    sse_kms_key_id: Mapped[str | None] = mapped_column(String(2048))
    requester_pays: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_directive: Mapped[str] = mapped_column(String(10), default="COPY")
    tagging_directive: Mapped[str] = mapped_column(String(10), default="COPY")
    # The copy engine for transfers into this bucket (local | batch | auto; None: auto), the
    # S3 Batch Operations role registered for it, and auto's object threshold (None: default).
    engine: Mapped[str | None] = mapped_column(String(10))
    batch_role_arn: Mapped[str | None] = mapped_column(String(2048))
    batch_threshold: Mapped[int | None] = mapped_column(Integer)
    checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    credential: Mapped[AwsCredential] = relationship()


class Collection(Base):
    """A Globus staging collection and how its paths map onto a staging bucket."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(36), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(500))
    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="RESTRICT"))
    base_path: Mapped[str] = mapped_column(String(4096), default="/")
    key_prefix: Mapped[str] = mapped_column(String(1024), default="")
    entity_type: Mapped[str | None] = mapped_column(String(64))
    is_s3_gateway: Mapped[bool | None]
    needs_data_access_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    bucket: Mapped[Bucket] = relationship()


class Transfer(Base):
    """One unit of work: a watched Globus task (or a direct copy) and its copy into a bucket."""

    __tablename__ = "transfers"
    __table_args__ = (Index("ix_transfers_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))  # "globus" | "direct"
    state: Mapped[str] = mapped_column(String(32))
    globus_task_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="RESTRICT")
    )
    source_bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="RESTRICT"))
    source_prefix: Mapped[str] = mapped_column(String(1024), default="")
    dest_bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="RESTRICT"))
    dest_prefix: Mapped[str] = mapped_column(String(1024), default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Globus task progress, as last seen.
    globus_status: Mapped[str | None] = mapped_column(String(20))
    nice_status: Mapped[str | None] = mapped_column(String(100))
    faults: Mapped[int] = mapped_column(Integer, default=0)
    files_expected: Mapped[int | None]
    files_transferred: Mapped[int] = mapped_column(Integer, default=0)
    bytes_transferred: Mapped[int] = mapped_column(BigInteger, default=0)
    effective_bytes_per_second: Mapped[int | None] = mapped_column(BigInteger)
    globus_completed_at: Mapped[datetime | None]
    # Scheduling and copy bookkeeping.
    last_polled_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    poll_failures: Mapped[int] = mapped_column(Integer, default=0)
    listing_marker: Mapped[str | None] = mapped_column(Text)
    objects_total: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # The latest copy phase, stored when a copy run ends (services.copy.report.copy_phases):
    # bytes verified, and seconds from its first object copied to its last one verified.
    copy_bytes: Mapped[int | None] = mapped_column(BigInteger)
    copy_seconds: Mapped[float | None] = mapped_column(Float)
    # How its objects travel (core.route: server-side | stream), decided by its first copy run.
    route: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]

    collection: Mapped[Collection | None] = relationship()
    source_bucket: Mapped[Bucket] = relationship(foreign_keys=[source_bucket_id])
    dest_bucket: Mapped[Bucket] = relationship(foreign_keys=[dest_bucket_id])


class ObjectCopy(Base):
    """One object of a transfer: where it comes from, where it goes, and how far it got."""

    __tablename__ = "object_copies"
    __table_args__ = (
        UniqueConstraint("transfer_id", "source_key", name="uq_object_copies_transfer_source"),
        Index("ix_object_copies_transfer_state", "transfer_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"))
    globus_source_path: Mapped[str | None] = mapped_column(Text)
    globus_destination_path: Mapped[str | None] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(Text)
    dest_key: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=ObjectState.PENDING.value)
    size: Mapped[int | None] = mapped_column(BigInteger)
    source_etag: Mapped[str | None] = mapped_column(String(200))
    checksum_algorithm: Mapped[str | None] = mapped_column(String(20))
    source_checksum: Mapped[str | None] = mapped_column(String(200))
    dest_etag: Mapped[str | None] = mapped_column(String(200))
    dest_checksum: Mapped[str | None] = mapped_column(String(200))
    upload_id: Mapped[str | None] = mapped_column(Text)
    part_size: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    staging_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The staging version that was copied (versioned buckets: the one delete that is exact).
    # A batch job's rows get it from the job's manifest, which names the version to copy.
    source_version_id: Mapped[str | None] = mapped_column(String(1024))
    # Set (and committed) before a staging delete is sent; cleared once it is done or refused
    # for good. A pass killed in between leaves it set, and the next pass finishes the delete.
    delete_owed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    staging_note: Mapped[str | None] = mapped_column(Text)  # why the staging object stays
    # What proved the copy identical (core.checksums.proof): "crc32c from source", "size only"...
    verified_by: Mapped[str | None] = mapped_column(String(120))
    # The batch job attempt (``batch_jobs.attempt``) that copies or copied this object; None:
    # the local engine. A ``copying`` row with an attempt is held by that job.
    batch_attempt: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ObjectPart(Base):
    """A part a streamed multipart upload has finished (``upload_id`` of its object row): what
    a resumed upload keeps after checking it with ListParts, and the CRCs of the bytes it holds
    (combined into the whole object's, so finished parts need not be read again)."""

    __tablename__ = "object_parts"

    object_id: Mapped[int] = mapped_column(
        ForeignKey("object_copies.id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    upload_id: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(200))
    checksums: Mapped[dict[str, Any]] = mapped_column(default=dict)  # algorithm -> value


class BatchJob(Base):
    """One S3 Batch Operations copy job of a transfer (attempt 1, 2... after a failed job).

    ``phase`` is aws-copy-pt's own progress through the job's life (see
    ``core.batch_engine.Phase``): every step is recorded before the next one starts, so a
    crash anywhere resumes at the step it interrupted; ``status`` is what S3 last said.
    """

    __tablename__ = "batch_jobs"
    __table_args__ = (
        UniqueConstraint("transfer_id", "attempt", name="uq_batch_jobs_transfer_attempt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(64))
    role_arn: Mapped[str] = mapped_column(String(2048))
    client_request_token: Mapped[str] = mapped_column(String(64))
    confirmation_required: Mapped[bool] = mapped_column(Boolean, default=False)
    report_scope: Mapped[str] = mapped_column(String(20), default="AllTasks")
    target_key_prefix: Mapped[str] = mapped_column(String(1024), default="")
    versioned: Mapped[bool] = mapped_column(Boolean, default=False)
    objects: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    manifest_bucket: Mapped[str] = mapped_column(String(255))
    manifest_key: Mapped[str] = mapped_column(Text)
    manifest_etag: Mapped[str | None] = mapped_column(String(200))
    manifest_version_id: Mapped[str | None] = mapped_column(String(1024))
    report_bucket: Mapped[str] = mapped_column(String(255))
    report_prefix: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(20))
    tasks_total: Mapped[int | None] = mapped_column(Integer)
    tasks_succeeded: Mapped[int] = mapped_column(Integer, default=0)
    tasks_failed: Mapped[int] = mapped_column(Integer, default=0)
    failure_reasons: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]


class Event(Base):
    """Append-only history: every state change and notable happening, per transfer."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_transfer_at", "transfer_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")


class NotificationTarget(Base):
    """Where outcomes are announced: an email address or a webhook URL."""

    __tablename__ = "notification_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # "email" | "webhook"
    target: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    events: Mapped[str] = mapped_column(String(200), default="DONE,PARTIAL,FAILED,NEEDS_LOGIN")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PendingNotification(Base):
    """A notification not yet delivered: retried until it goes out (never fatal)."""

    __tablename__ = "pending_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(
        ForeignKey("notification_targets.id", ondelete="CASCADE")
    )
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- follow rules and files Globus skipped (issue #19) -----------------------------------------


class FollowRule(Base):
    """A rule that turns new Globus tasks into a staging collection into watched transfers."""

    __tablename__ = "follow_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="RESTRICT"))
    path: Mapped[str | None] = mapped_column(String(4096))  # a collection folder, "/a/b/"
    label_match: Mapped[str | None] = mapped_column(String(200))
    timer_id: Mapped[str | None] = mapped_column(String(36))
    dest_bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="RESTRICT"))
    dest_prefix: Mapped[str] = mapped_column(String(1024), default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    since: Mapped[datetime]  # tasks requested (timer runs made) before this are not followed
    high_water: Mapped[datetime | None]  # newest request time listed (run time, for timers)
    last_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    collection: Mapped[Collection] = relationship()
    dest_bucket: Mapped[Bucket] = relationship()


class FollowedTask(Base):
    """A Globus task some follow rule matched, decided once: registered, skipped or pending."""

    __tablename__ = "followed_tasks"
    __table_args__ = (Index("ix_followed_tasks_rule_decision", "rule_id", "decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    globus_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("follow_rules.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(20))  # core.follow.FollowOutcome values, "watched"
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id", ondelete="SET NULL"))
    also_matched: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"rules": [ids]}
    timers: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"ids": [timer ids]}
    request_time: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GlobusSkippedFile(Base):
    """A file a ``skip_source_errors`` task left out (task_skipped_errors): never delivered,
    so never copied; its transfer ends PARTIAL."""

    __tablename__ = "globus_skipped_files"
    __table_args__ = (
        UniqueConstraint("transfer_id", "source_path", name="uq_globus_skipped_files_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"))
    source_path: Mapped[str] = mapped_column(Text)
    destination_path: Mapped[str | None] = mapped_column(Text)
    is_directory: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(String(100))
    error_details: Mapped[str | None] = mapped_column(Text)
