"""The completion report, written the way S3 Batch Operations lays it out.

``<prefix>/job-<id>/manifest.json`` indexes one CSV per task status under ``results/``
(``<sha1>.csv``). Rows are ``bucket,key,versionId,status,httpStatus,errorCode,message``
with the key percent-encoded like the manifest, and the index's ``ReportSchema`` string copied
from real reports, which names the last columns in another order than the rows use (see
:mod:`aws_copy_pt.core.batch_manifest`). Every file is written SSE-S3 (AES256), and nothing at
all when no task ran. Rows go to temporary files while the job runs, so a million tasks cost
disk, not memory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from aws_copy_pt.core.batch_manifest import (
    FAILED,
    REPORT_FORMAT,
    REPORT_SCHEMA,
    SUCCEEDED,
    encode_key,
    job_report_prefix,
)

from .jobs import TaskFailure

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from .spec import JobSpec

INDEX_NAME = "manifest.json"
SUCCESS_MESSAGE = "Successful"


class ReportWriter:
    """Collects task results of one job and uploads them when it ends."""

    def __init__(self, job_id: str, spec: JobSpec) -> None:
        self.job_id = job_id
        self.spec = spec
        self._files: dict[str, tuple[BinaryIO, io.TextIOWrapper]] = {}

    def add(
        self, bucket: str, key: str, version_id: str | None, failure: TaskFailure | None
    ) -> None:
        status = SUCCEEDED if failure is None else FAILED
        if not self.spec.report_enabled or (
            status == SUCCEEDED and self.spec.report_scope == "FailedTasksOnly"
        ):
            return
        if failure is None:
            row = [bucket, encode_key(key), version_id or "", status, "200", "", SUCCESS_MESSAGE]
        else:
            row = [
                bucket,
                encode_key(key),
                version_id or "",
                status,
                str(failure.http_status),
                failure.code,
                failure.message,
            ]
        csv.writer(self._text(status)).writerow(row)

    def _text(self, status: str) -> io.TextIOWrapper:
        if status not in self._files:
            raw = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            self._files[status] = (raw, io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        return self._files[status][1]

    def upload(self, s3: S3Client) -> None:
        """Write the result files and the index (call only when at least one task ran)."""
        if not self.spec.report_enabled or self.spec.report_bucket is None:
            return
        bucket = self.spec.report_bucket
        prefix = job_report_prefix(self.spec.report_prefix, self.job_id)
        results = []
        for status in (SUCCEEDED, FAILED):
            if status not in self._files:
                continue
            raw, text = self._files[status]
            text.flush()
            key = f"{prefix}results/{_file_name(self.job_id, status)}.csv"
            results.append(
                {
                    "TaskExecutionStatus": status,
                    "Bucket": bucket,
                    "MD5Checksum": _md5(raw),
                    "Key": key,
                }
            )
            raw.seek(0)
            s3.put_object(Bucket=bucket, Key=key, Body=raw, ServerSideEncryption="AES256")
        index = {
            "Format": REPORT_FORMAT,
            "ReportCreationDate": datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "Results": results,
            "ReportSchema": REPORT_SCHEMA,
        }
        s3.put_object(
            Bucket=bucket,
            Key=prefix + INDEX_NAME,
            Body=json.dumps(index, indent=4).encode(),
            ServerSideEncryption="AES256",
        )

    def close(self) -> None:
        for _, text in self._files.values():
            text.close()
        self._files.clear()


def _file_name(job_id: str, status: str) -> str:
    return hashlib.sha1(f"{job_id}/{status}".encode(), usedforsecurity=False).hexdigest()


def _md5(raw: BinaryIO) -> str:
    raw.seek(0)
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := raw.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()
