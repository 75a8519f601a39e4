"""S3 Control's Batch Operations jobs, behind typed requests and aws-copy-pt's errors.

The batch engine describes a copy job with a :class:`JobRequest`, creates it with
:func:`create_job`, follows it with :func:`describe_job` (a :class:`JobStatus`), confirms or
cancels it with :func:`update_job_status`, and finds jobs with :func:`list_jobs`. The client is
injected (``ClientFactory.s3control``); every botocore failure comes out as an
:class:`~aws_copy_pt.errors.AwsCopyPtError` naming the IAM permission a denial needs and the
command that prints the policies.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from aws_copy_pt.core.batch_manifest import MANIFEST_FORMAT, REPORT_FORMAT
from aws_copy_pt.errors import AwsCopyPtError, RemoteError, UsageError
from aws_copy_pt.s3.errors import S3AccessDenied, translate

if TYPE_CHECKING:
    from mypy_boto3_s3control import S3ControlClient

POLICY_HINT = "run `aws-copy-pt policy --engine batch` for the statements to attach"
TERMINAL_STATUSES = frozenset({"Complete", "Failed", "Cancelled"})
# What each operation needs from the caller; CreateJob also passes the job's role.
REQUIRED_PERMISSION = {
    "CreateJob": "s3:CreateJob and iam:PassRole on the batch role",
    "DescribeJob": "s3:DescribeJob",
    "UpdateJobStatus": "s3:UpdateJobStatus",
    "ListJobs": "s3:ListJobs",
}
ReportScope = Literal["AllTasks", "FailedTasksOnly"]
RequestedStatus = Literal["Ready", "Cancelled"]


class BatchJobNotFound(RemoteError):
    """S3 Control knows no such job in that account and region (jobs vanish after 90 days)."""


class BatchJobStatusConflict(RemoteError):
    """The job is in a status that does not allow the requested change."""


class BatchJobTokenConflict(RemoteError):
    """The ClientRequestToken was used before for a different job request."""


@dataclass(frozen=True)
class CopyOperation:
    """``S3PutObjectCopy``: where and how every task copies."""

    target_bucket: str
    target_key_prefix: str | None = None
    canned_acl: str | None = None
    storage_class: str | None = None
    sse_kms_key_arn: str | None = None
    checksum_algorithm: str | None = None
    metadata_directive: Literal["COPY", "REPLACE"] | None = None
    new_metadata: Mapping[str, str] | None = None  # user metadata with REPLACE
    tags: Mapping[str, str] | None = None  # None: the source's tags are copied

    def to_api(self) -> dict[str, Any]:
        copy: dict[str, Any] = {"TargetResource": f"arn:aws:s3:::{self.target_bucket}"}
        optional = {
            "TargetKeyPrefix": self.target_key_prefix,
            "CannedAccessControlList": self.canned_acl,
            "StorageClass": self.storage_class,
            "SSEAwsKmsKeyId": self.sse_kms_key_arn,
            "ChecksumAlgorithm": self.checksum_algorithm,
            "MetadataDirective": self.metadata_directive,
        }
        copy.update({name: value for name, value in optional.items() if value})
        if self.new_metadata is not None:
            copy["NewObjectMetadata"] = {"UserMetadata": dict(self.new_metadata)}
        if self.tags is not None:
            copy["NewObjectTagging"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return {"S3PutObjectCopy": copy}


@dataclass(frozen=True)
class JobRequest:
    """Everything CreateJob needs, checked before anything is sent."""

    account_id: str
    region: str
    role_arn: str
    manifest_bucket: str
    manifest_key: str
    manifest_etag: str
    versioned_manifest: bool
    report_bucket: str
    report_prefix: str | None
    operation: CopyOperation
    client_request_token: str
    confirmation_required: bool
    report_scope: ReportScope = "AllTasks"
    manifest_version_id: str | None = None
    priority: int = 10
    description: str | None = None

    def __post_init__(self) -> None:
        prefix = self.operation.target_key_prefix
        if prefix is not None and not prefix.endswith("/"):
            # The API reference calls it a "folder"; ending it with "/" means the destination
            # key is prefix + key whether or not S3 would add a separator itself.
            raise UsageError(f"a batch TargetKeyPrefix must end with '/', not {prefix!r}")
        if not 0 < len(self.client_request_token) <= 64:
            raise UsageError("a ClientRequestToken has 1 to 64 characters")
        if self.description is not None and len(self.description) > 256:
            raise UsageError("a batch job description has at most 256 characters")

    def to_api(self) -> dict[str, Any]:
        location = {
            "ObjectArn": f"arn:aws:s3:::{self.manifest_bucket}/{self.manifest_key}",
            "ETag": self.manifest_etag.strip('"'),
        }
        if self.manifest_version_id:
            location["ObjectVersionId"] = self.manifest_version_id
        fields = ["Bucket", "Key", "VersionId"] if self.versioned_manifest else ["Bucket", "Key"]
        report: dict[str, Any] = {
            "Bucket": f"arn:aws:s3:::{self.report_bucket}",
            "Format": REPORT_FORMAT,
            "Enabled": True,
            "ReportScope": self.report_scope,
        }
        if self.report_prefix:
            report["Prefix"] = self.report_prefix
        arguments: dict[str, Any] = {
            "AccountId": self.account_id,
            "ConfirmationRequired": self.confirmation_required,
            "Operation": self.operation.to_api(),
            "Report": report,
            "ClientRequestToken": self.client_request_token,
            "Manifest": {
                "Spec": {"Format": MANIFEST_FORMAT, "Fields": fields},
                "Location": location,
            },
            "Priority": self.priority,
            "RoleArn": self.role_arn,
        }
        if self.description:
            arguments["Description"] = self.description
        return arguments


@dataclass(frozen=True)
class JobFailure:
    code: str
    reason: str


@dataclass(frozen=True)
class JobStatus:
    """What DescribeJob says about a job."""

    job_id: str
    status: str
    total_tasks: int
    succeeded_tasks: int
    failed_tasks: int
    active_seconds: int
    failure_reasons: tuple[JobFailure, ...] = ()
    status_update_reason: str | None = None
    report_bucket: str | None = None
    report_prefix: str | None = None
    report_scope: str | None = None
    creation_time: datetime | None = None
    termination_date: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def awaiting_confirmation(self) -> bool:
        return self.status == "Suspended"


@dataclass(frozen=True)
class JobSummary:
    job_id: str
    status: str
    description: str | None
    creation_time: datetime | None
    total_tasks: int
    succeeded_tasks: int
    failed_tasks: int


def create_job(client: S3ControlClient, request: JobRequest) -> str:
    """Create the job (or find the one this token already created); returns its id."""
    try:
        response = client.create_job(**request.to_api())
    except Exception as exc:
        raise _translate(exc, "CreateJob", request.account_id, role_arn=request.role_arn) from exc
    return response["JobId"]


def describe_job(client: S3ControlClient, account_id: str, job_id: str) -> JobStatus:
    try:
        job = client.describe_job(AccountId=account_id, JobId=job_id)["Job"]
    except Exception as exc:
        raise _translate(exc, "DescribeJob", account_id, job_id=job_id) from exc
    progress = job.get("ProgressSummary", {})
    report = job.get("Report", {})
    return JobStatus(
        job_id=job.get("JobId", job_id),
        status=job.get("Status", "New"),
        total_tasks=progress.get("TotalNumberOfTasks", 0),
        succeeded_tasks=progress.get("NumberOfTasksSucceeded", 0),
        failed_tasks=progress.get("NumberOfTasksFailed", 0),
        active_seconds=progress.get("Timers", {}).get("ElapsedTimeInActiveSeconds", 0),
        failure_reasons=tuple(
            JobFailure(item.get("FailureCode", ""), item.get("FailureReason", ""))
            for item in job.get("FailureReasons", [])
        ),
        status_update_reason=job.get("StatusUpdateReason"),
        report_bucket=_bucket_of(report.get("Bucket")),
        report_prefix=report.get("Prefix"),
        report_scope=report.get("ReportScope"),
        creation_time=job.get("CreationTime"),
        termination_date=job.get("TerminationDate"),
        extra=dict(job),
    )


def update_job_status(
    client: S3ControlClient,
    account_id: str,
    job_id: str,
    requested: RequestedStatus,
    reason: str | None = None,
) -> str:
    """Confirm (``Ready``) or cancel (``Cancelled``) a job; returns the status it now has."""
    arguments: dict[str, Any] = {
        "AccountId": account_id,
        "JobId": job_id,
        "RequestedJobStatus": requested,
    }
    if reason:
        arguments["StatusUpdateReason"] = reason[:256]
    try:
        return client.update_job_status(**arguments)["Status"]
    except Exception as exc:
        raise _translate(exc, "UpdateJobStatus", account_id, job_id=job_id) from exc


def list_jobs(
    client: S3ControlClient,
    account_id: str,
    statuses: Sequence[str] = (),
    *,
    page_size: int = 1000,
) -> Iterator[JobSummary]:
    """Every job of the account in this region (newest first), page by page."""
    arguments: dict[str, Any] = {"AccountId": account_id, "MaxResults": page_size}
    if statuses:
        arguments["JobStatuses"] = list(statuses)
    while True:
        try:
            page = client.list_jobs(**arguments)
        except Exception as exc:
            raise _translate(exc, "ListJobs", account_id) from exc
        for job in page.get("Jobs", []):
            progress = job.get("ProgressSummary", {})
            yield JobSummary(
                job_id=job["JobId"],
                status=job.get("Status", ""),
                description=job.get("Description"),
                creation_time=job.get("CreationTime"),
                total_tasks=progress.get("TotalNumberOfTasks", 0),
                succeeded_tasks=progress.get("NumberOfTasksSucceeded", 0),
                failed_tasks=progress.get("NumberOfTasksFailed", 0),
            )
        token = page.get("NextToken")
        if not token:
            return
        arguments["NextToken"] = token


def _bucket_of(arn: str | None) -> str | None:
    return arn.rpartition(":")[2] if arn else None


def _translate(
    exc: BaseException,
    operation: str,
    account_id: str,
    *,
    job_id: str | None = None,
    role_arn: str | None = None,
) -> AwsCopyPtError:
    from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

    if isinstance(exc, ConnectionError | ReadTimeoutError):
        return RemoteError(
            f"cannot reach S3 Control for {operation} in account {account_id}: {exc}",
            hint="it is retried on the next pass; check the network if it keeps happening",
        )
    if not isinstance(exc, ClientError):
        return translate(exc, operation=operation)
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    job = f"batch job {job_id}" if job_id else "batch job"
    if code in ("NotFoundException", "NoSuchJob") or (status == 404 and job_id):
        return BatchJobNotFound(
            f"{job} does not exist in account {account_id} ({operation}): {message}",
            hint="check the region; S3 forgets jobs 90 days after they finish",
        )
    if code == "JobStatusException":
        return BatchJobStatusConflict(f"{operation} refused for {job}: {message}")
    if code == "IdempotencyException":
        return BatchJobTokenConflict(
            f"S3 Control already has a different job for this request token: {message}",
            hint="this is a bug in aws-copy-pt's job bookkeeping; please report it",
        )
    if code in ("AccessDenied", "AccessDeniedException") or status == 403:
        return S3AccessDenied(
            f"access denied: {operation} in account {account_id} needs "
            f"{_needed(operation, message, role_arn)}",
            hint=POLICY_HINT,
        )
    return translate(exc, operation=operation)


def _needed(operation: str, message: str, role_arn: str | None) -> str:
    if operation == "CreateJob" and "iam:PassRole" in message:
        return f"iam:PassRole on {role_arn}" if role_arn else "iam:PassRole"
    if operation == "CreateJob" and role_arn:
        return f"s3:CreateJob and iam:PassRole on {role_arn}"
    return REQUIRED_PERMISSION.get(operation, "the matching s3: permission")
