"""Running a job: read the manifest, copy each task as the job's role, report, finish.

One background thread per job walks the state machine. The manifest is streamed twice, never
held in memory: once while Preparing (check its ETag, count and validate the rows, as S3 parses
the whole manifest before it runs anything), then again while Active, chunk by chunk, with
``If-Match`` on the ETag so the job runs exactly the manifest it was created with.
"""

from __future__ import annotations

import csv
import functools
import itertools
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from aws_copy_pt.core.batch_manifest import decode_key
from aws_copy_pt.sandbox.s3server import s3_client

from .jobs import (
    ACTIVE,
    CANCELLED,
    CANCELLING,
    COMPLETE,
    COMPLETING,
    FAILED,
    FAILING,
    NEW,
    PREPARING,
    READY,
    SUSPENDED,
    Job,
    State,
    TaskFailure,
)
from .report import ReportWriter

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

# FailureCode / FailureReason texts: AWS documents a few reasons ("Reading the manifest is
# forbidden: AccessDenied", "The job report could not be written to your report bucket. Please
# check your permissions.") but no list of codes; the codes here are the stand-in's own.
REPORT_NOT_WRITTEN = (
    "ReportWriteFailed",
    "The job report could not be written to your report bucket. Please check your permissions.",
)


STOPPED = "stopped"  # not a job status: the stand-in stopped while the job ran


class JobFailed(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Task:
    bucket: str
    key: str
    version_id: str | None


class JobRunner:
    def __init__(self, state: State, s3_endpoint_url: str, region: str) -> None:
        self._state = state
        self._endpoint = s3_endpoint_url
        self._region = region
        self._threads: list[threading.Thread] = []

    def start(self, job: Job) -> None:
        thread = threading.Thread(
            target=self._run, args=(job,), name=f"s3control-job-{job.job_id[:8]}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, job: Job) -> None:
        try:
            self._lifecycle(job)
        except Exception as exc:
            log.exception("S3 Control stand-in: job %s crashed", job.job_id)
            with self._state.lock:
                job.failure_reasons.append(("InternalError", f"stand-in error: {exc!r}"))
                if FAILED in _path_to_failed(job.status):
                    for status in _path_to_failed(job.status):
                        self._state.move(job, status)

    def _client(self, job: Job) -> S3Client:
        """An S3 client acting as the job's role (CreateJob checked it is registered)."""
        with self._state.lock:
            account = self._state.roles[job.spec.role_arn]
        return s3_client(self._endpoint, account, self._region, checksums="when_required")

    def _advance(self, job: Job, expected: str, status: str) -> bool:
        """Move on unless something else (a cancel, a stop) moved the job first."""
        with self._state.lock:
            if job.status != expected or self._state.stopping:
                return False
            self._state.move(job, status)
            return True

    def _lifecycle(self, job: Job) -> None:
        state = self._state
        if not (state.wait_while_held(job) and self._advance(job, NEW, PREPARING)):
            return
        if not state.wait_while_held(job):
            return
        s3 = self._client(job)
        try:
            total = sum(1 for _ in self._tasks(job, s3, preparing=True))
        except JobFailed as failure:
            with state.lock:
                job.failure_reasons.append((failure.code, failure.reason))
            self._advance(job, PREPARING, FAILED)
            return
        with state.lock:
            job.total = total
        if job.spec.confirmation_required:
            if not self._advance(job, PREPARING, SUSPENDED):
                return
            with state.lock:  # UpdateJobStatus moves it on: Ready, or Cancelled
                state.changed.wait_for(lambda: state.stopping or job.status != SUSPENDED)
        elif not self._advance(job, PREPARING, READY):
            return
        if state.wait_while_held(job) and self._advance(job, READY, ACTIVE):
            self._run_active(job, s3)

    def _run_active(self, job: Job, s3: S3Client) -> None:
        report = ReportWriter(job.job_id, job.spec)
        try:
            try:
                ending = self._execute(job, s3, report)
            except JobFailed as failure:
                with self._state.lock:
                    job.failure_reasons.append((failure.code, failure.reason))
                ending = FAILING
            if ending == STOPPED:
                return  # the stand-in is shutting down: the job stays where it is
            if ending == ACTIVE:
                self._advance(job, ACTIVE, COMPLETING)
                ending = COMPLETING
            elif ending == FAILING:
                self._advance(job, ACTIVE, FAILING)
            self._state.wait_while_held(job)
            if job.tasks_run:
                try:
                    report.upload(s3)
                except (ClientError, BotoCoreError):
                    with self._state.lock:
                        job.failure_reasons.append(REPORT_NOT_WRITTEN)
            final = {COMPLETING: COMPLETE, FAILING: FAILED, CANCELLING: CANCELLED}[ending]
            self._advance(job, ending, final)
        finally:
            report.close()

    def _execute(self, job: Job, s3: S3Client, report: ReportWriter) -> str:
        """Run every task; the status the job leaves Active for (Active: all done)."""
        state, settings = self._state, self._state.settings
        tasks = self._tasks(job, s3, preparing=False)
        with ThreadPoolExecutor(settings.workers, thread_name_prefix="s3control-task") as pool:
            while True:
                state.wait_while_held(job)
                with state.lock:
                    if state.stopping:
                        return STOPPED
                    if job.status != ACTIVE:
                        return job.status  # Cancelling (or a stop)
                chunk = list(itertools.islice(tasks, settings.chunk_size))
                if not chunk:
                    return ACTIVE
                outcomes = pool.map(functools.partial(self._copy, job, s3), chunk)
                for task, failure in zip(chunk, outcomes, strict=True):
                    report.add(task.bucket, task.key, task.version_id, failure)
                    with state.lock:
                        if failure is None:
                            job.succeeded += 1
                        else:
                            job.failed += 1
                with state.lock:
                    state.changed.notify_all()
                    if _threshold_exceeded(job, settings.failure_threshold_min_tasks):
                        job.failure_reasons.append(
                            (
                                "TaskFailureThresholdExceeded",
                                f"More than 50% of the {job.tasks_run} tasks run have failed",
                            )
                        )
                        return FAILING

    def _copy(self, job: Job, s3: S3Client, task: Task) -> TaskFailure | None:
        injected = self._state.failing_keys.get(task.key)
        if injected is not None:
            return injected
        source: dict[str, Any] = {"Bucket": task.bucket, "Key": task.key}
        if task.version_id:
            source["VersionId"] = task.version_id
        try:
            size = s3.head_object(**source)["ContentLength"]
            limit = self._state.settings.max_copy_bytes
            if size > limit:
                return TaskFailure(
                    400,
                    "InvalidRequest",
                    "The specified copy source is larger than the maximum allowable size "
                    f"for a copy source: {limit}",
                )
            s3.copy_object(CopySource=source, **_copy_arguments(job, task))  # type: ignore[arg-type]
        except ClientError as error:
            return _failure_of(error)
        except BotoCoreError as error:
            return TaskFailure(500, "InternalError", str(error))
        return None

    def _tasks(self, job: Job, s3: S3Client, *, preparing: bool) -> Iterator[Task]:
        """The manifest's rows, streamed; raises JobFailed for what fails a job."""
        spec = job.spec
        arguments: dict[str, Any] = {"Bucket": spec.manifest_bucket, "Key": spec.manifest_key}
        if spec.manifest_version_id:
            arguments["VersionId"] = spec.manifest_version_id
        expected = spec.manifest_etag.strip('"')
        if not preparing:
            arguments["IfMatch"] = f'"{expected}"'
        try:
            response = s3.get_object(**arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            verb = "is forbidden" if code in ("AccessDenied", "403") else "failed"
            raise JobFailed("ManifestReadFailed", f"Reading the manifest {verb}: {code}") from error
        found = response["ETag"].strip('"')
        if found != expected:
            response["Body"].close()
            raise JobFailed(
                "ManifestETagMismatch",
                f"Reading the manifest failed: ETag mismatch (the job names {expected}, "
                f"the object has {found})",
            )
        body = response["Body"]
        try:
            for number, line in enumerate(body.iter_lines(), start=1):
                if line.strip():
                    yield _task(number, line, job.spec.versioned)
        finally:
            body.close()


def _task(number: int, line: bytes, versioned: bool) -> Task:
    try:
        fields = next(csv.reader([line.decode("utf-8")]))
        bucket, key = fields[0], decode_key(fields[1])
        version_id = fields[2] if versioned else None
    except (UnicodeDecodeError, IndexError, StopIteration) as exc:
        raise JobFailed("InvalidManifest", f"Manifest line {number} is not valid: {exc}") from exc
    if not bucket or not key or (versioned and not version_id):
        raise JobFailed("InvalidManifest", f"Manifest line {number} is missing a field")
    return Task(bucket, key, version_id)


def _copy_arguments(job: Job, task: Task) -> dict[str, Any]:
    copy = job.spec.copy
    arguments: dict[str, Any] = {"Bucket": copy.target_bucket, "Key": copy.key_prefix + task.key}
    if copy.acl:
        arguments["ACL"] = copy.acl
    if copy.metadata_directive == "REPLACE":
        arguments.update(copy.new_metadata, MetadataDirective="REPLACE")
        arguments["Metadata"] = copy.user_metadata or {}
    elif copy.metadata_directive:
        arguments["MetadataDirective"] = copy.metadata_directive
    if copy.new_tags is not None:
        arguments["TaggingDirective"] = "REPLACE"
        arguments["Tagging"] = "&".join(f"{_q(k)}={_q(v)}" for k, v in copy.new_tags)
    if copy.storage_class:
        arguments["StorageClass"] = copy.storage_class
    if copy.kms_key_id:
        arguments.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=copy.kms_key_id)
    if copy.checksum_algorithm:
        arguments["ChecksumAlgorithm"] = copy.checksum_algorithm
    return arguments


def _q(text: str) -> str:
    return quote(text, safe="")


def _failure_of(error: ClientError) -> TaskFailure:
    details = error.response.get("Error", {})
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
    code = str(details.get("Code") or status)
    if code == "404":  # a HEAD answer has no body
        return TaskFailure(404, "NoSuchKey", "The specified key does not exist.")
    if code == "403":
        return TaskFailure(403, "AccessDenied", "Access Denied")
    return TaskFailure(status, code, str(details.get("Message") or code))


def _threshold_exceeded(job: Job, minimum: int) -> bool:
    return job.tasks_run >= minimum and job.failed * 2 > job.tasks_run


def _path_to_failed(status: str) -> list[str]:
    """The moves that take a crashed job to Failed."""
    return {NEW: [], PREPARING: [FAILED], ACTIVE: [FAILING, FAILED], COMPLETING: []}.get(status, [])
