"""Creating, following, confirming and cancelling one S3 Batch Operations job.

CreateJob runs in the batch role's account (the destination's) and the destination bucket's
region, signed by the credential registered for the destination bucket. Its
``ClientRequestToken`` is derived from this home, the transfer and the attempt
(``core.batch_manifest.client_request_token``), so a rerun after a crash anywhere around
CreateJob gets the job that was created, never a second one. The job id is stored before the
first DescribeJob. Polls follow the adaptive timer of Globus tasks (``core.poll_timing``),
with the tasks done as progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aws_copy_pt.core.batch_manifest import client_request_token
from aws_copy_pt.core.copy_plan import ANNOTATION_TASK_KEY, DEFAULT_CHECKSUM_ALGORITHM
from aws_copy_pt.core.poll_timing import MAX_DELAY, MIN_DELAY, TaskProgress, next_poll_delay
from aws_copy_pt.db.models import BatchJob, Bucket, Transfer
from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec
from aws_copy_pt.s3.control import (
    CopyOperation,
    JobRequest,
    JobStatus,
    RequestedStatus,
    create_job,
    describe_job,
    update_job_status,
)
from aws_copy_pt.services.copy.batch.store import failure_text

if TYPE_CHECKING:
    from mypy_boto3_s3control import S3ControlClient

DESCRIPTION_LIMIT = 256


@dataclass(frozen=True)
class PollBounds:
    """The adaptive timer's limits (``run --min-poll/--max-poll``, the daemon's)."""

    minimum: float = MIN_DELAY
    maximum: float = MAX_DELAY


def token_for(home_id: str, transfer_id: int, attempt: int) -> str:
    return client_request_token(f"{home_id}/{transfer_id}", attempt)


def description_prefix(token: str) -> str:
    """How a job's description starts: unique to this home, transfer and attempt, so the job
    can be found with ListJobs even if its id was never stored (a crash after CreateJob)."""
    return f"aws-copy-pt job {token.removeprefix('aws-copy-pt-')[:16]}:"


def control_client(factory: ClientFactory, dest: Bucket) -> S3ControlClient:
    """S3 Control as the destination bucket's credential, in the bucket's region."""
    spec = CredentialSpec.from_row(dest.credential)
    return factory.s3control(spec, region=str(dest.region))


def job_request(job: BatchJob, transfer: Transfer, dest: Bucket, annotate: bool) -> JobRequest:
    """CreateJob's arguments: the bucket's copy settings mapped onto ``S3PutObjectCopy``."""
    tags = None
    if annotate and transfer.globus_task_id:
        tags = {ANNOTATION_TASK_KEY: transfer.globus_task_id}
    operation = CopyOperation(
        target_bucket=dest.name,
        target_key_prefix=job.target_key_prefix or None,
        canned_acl=dest.acl,
        storage_class=dest.storage_class,
        sse_kms_key_arn=dest.sse_kms_key_id if (dest.sse or "").startswith("aws:kms") else None,
        checksum_algorithm=DEFAULT_CHECKSUM_ALGORITHM,
        metadata_directive="COPY",
        tags=tags,
    )
    label = f": {transfer.label}" if transfer.label else ""
    assert job.manifest_etag is not None, "CreateJob before the manifest was uploaded"
    return JobRequest(
        account_id=job.account_id,
        region=job.region,
        role_arn=job.role_arn,
        manifest_bucket=job.manifest_bucket,
        manifest_key=job.manifest_key,
        manifest_etag=job.manifest_etag,
        manifest_version_id=job.manifest_version_id,
        versioned_manifest=job.versioned,
        report_bucket=job.report_bucket,
        report_prefix=job.report_prefix,
        report_scope="FailedTasksOnly" if job.report_scope == "FailedTasksOnly" else "AllTasks",
        operation=operation,
        client_request_token=job.client_request_token,
        confirmation_required=job.confirmation_required,
        description=(f"aws-copy-pt transfer {transfer.id} attempt {job.attempt}{label}")[
            :DESCRIPTION_LIMIT
        ],
    )


def submit(client: S3ControlClient, request: JobRequest) -> str:
    """CreateJob (or, with the same token, the job it already created)."""
    return create_job(client, request)


def poll(client: S3ControlClient, account_id: str, job_id: str) -> JobStatus:
    return describe_job(client, account_id, job_id)


def record_poll(job: BatchJob, status: JobStatus, bounds: PollBounds, now: datetime) -> bool:
    """Store what DescribeJob said and when to ask again; True if anything moved."""
    done_before = job.tasks_succeeded + job.tasks_failed
    changed = (job.status, done_before) != (
        status.status,
        status.succeeded_tasks + status.failed_tasks,
    )
    previous = None
    if job.next_poll_at and job.last_polled_at:
        previous = (job.next_poll_at - job.last_polled_at).total_seconds() or None
    done = status.succeeded_tasks + status.failed_tasks
    rate = done / status.active_seconds if status.active_seconds else None
    progress = TaskProgress(
        previous_delay=previous,
        changed=changed,
        bytes_done=done,
        bytes_expected=status.total_tasks or None,
        rate=rate,
    )
    delay = next_poll_delay(progress, minimum=bounds.minimum, maximum=bounds.maximum)
    job.status = status.status
    job.tasks_total = status.total_tasks
    job.tasks_succeeded = status.succeeded_tasks
    job.tasks_failed = status.failed_tasks
    job.failure_reasons = failure_text(status.failure_reasons) or job.failure_reasons
    job.last_polled_at = now
    job.next_poll_at = now + timedelta(seconds=delay)
    return changed


def due(job: BatchJob, now: datetime) -> bool:
    return job.next_poll_at is None or job.next_poll_at <= now


def set_status(
    client: S3ControlClient, account_id: str, job_id: str, requested: RequestedStatus, reason: str
) -> str:
    """UpdateJobStatus (Ready: confirm; Cancelled: cancel); returns the job's new status."""
    return update_job_status(client, account_id, job_id, requested, reason)
