"""The files an S3 Batch Operations copy job reads and writes (pure: no I/O).

* The **manifest** is CSV without a header row: ``bucket,key[,versionId]``. The user guide says
  "object keys must be URL-encoded" and shows ``object%20key%20with%20spaces``: percent-encoding
  of the UTF-8 bytes (RFC 3986). A literal ``+`` is ambiguous (form encoding reads it as a
  space), so :func:`encode_key` percent-encodes everything but unreserved characters and ``/``:
  no row ever holds a raw ``+``, ``,``, ``"``, ``%``, space or line break. Every row has a
  version id, or none does (AWS requires it); :func:`manifest_lines` enforces that.
* The **completion report** lands under ``<prefix>/job-<id>/``: an index plus one CSV per task
  status in ``results/``. Real jobs write the index as ``manifest.json`` (the user guide's
  example, and the report of a 2025 production job published by LINZ); some pages call it
  ``report.json``, so :func:`find_report` accepts either, and never needs the index at all.
* Report rows: the index's ``ReportSchema`` says ``Bucket, Key, VersionId, TaskStatus,
  ErrorCode, HTTPStatusCode, ResultMessage``, but every published row (``...,succeeded,200,,
  Successful``; ``...,failed,400,InvalidRequest,Task failed due to missing VersionId``) has the
  HTTP status before the error code. :func:`parse_report_rows` reads both orders.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote

MANIFEST_FORMAT = "S3BatchOperations_CSV_20180820"
REPORT_FORMAT = "Report_CSV_20180820"
REPORT_SCHEMA = "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
REPORT_INDEX_NAMES = ("manifest.json", "report.json")
SUCCEEDED = "succeeded"
FAILED = "failed"
# CopyObject's own ceiling, as S3 words it: "...larger than the maximum allowable size for a
# copy source: 5368709120". Batch Operations copies through CopyObject, so 5 GiB, not 5 * 10**9.
BATCH_COPY_MAX_BYTES = 5 * 1024**3
MAX_CLIENT_REQUEST_TOKEN = 64
_TOKEN_PREFIX = "aws-copy-pt-"  # noqa: S105 - an idempotency token, not a secret
_UNSAFE_VERSION = re.compile(r'[,"\r\n]')
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~/-]*")  # what quote(key, safe="/") leaves as it is


class ManifestError(ValueError):
    """A row cannot go into a manifest (bad bucket, mixed version ids...)."""


class ReportFormatError(ValueError):
    """A completion report file does not have the documented layout."""


def encode_key(key: str) -> str:
    """A key as a manifest row holds it: percent-encoded UTF-8, ``/`` kept."""
    if _UNRESERVED.fullmatch(key):  # most keys: nothing to encode (a million rows, a fast path)
        return key
    return quote(key, safe="/")


def decode_key(text: str) -> str:
    """The key a manifest or report field names (percent-decoding; ``+`` stays ``+``)."""
    return unquote(text, errors="strict")


def manifest_fields(versioned: bool) -> list[str]:
    """``Manifest.Spec.Fields`` for a manifest written with or without version ids."""
    return ["Bucket", "Key", "VersionId"] if versioned else ["Bucket", "Key"]


def manifest_lines(
    entries: Iterable[tuple[str, str, str | None]], *, versioned: bool
) -> Iterator[bytes]:
    """One encoded manifest row per ``(bucket, key, version_id)``, streamed.

    ``versioned`` says whether every row carries a version id; a row that does not match
    raises :class:`ManifestError` (AWS refuses manifests that mix both).
    """
    for number, (bucket, key, version_id) in enumerate(entries, start=1):
        if not bucket or "," in bucket or _UNSAFE_VERSION.search(bucket):
            raise ManifestError(f"row {number}: {bucket!r} is not a bucket name")
        if not key:
            raise ManifestError(f"row {number}: an empty key cannot be copied")
        if versioned != bool(version_id):
            state = "has no version id" if versioned else "has a version id"
            raise ManifestError(f"row {number} ({key!r}) {state}: every row has one, or none does")
        fields = [bucket, encode_key(key)]
        if version_id:
            if _UNSAFE_VERSION.search(version_id):
                raise ManifestError(f"row {number}: {version_id!r} is not a version id")
            fields.append(version_id)
        yield (",".join(fields) + "\n").encode("utf-8")


def client_request_token(transfer_id: int | str, attempt: int) -> str:
    """The ``ClientRequestToken`` of a transfer's job attempt: the same inputs, the same token.

    A rerun after a crash sends the same token, so S3 answers with the job it already made.
    """
    digest = hashlib.sha256(f"{transfer_id}\0{attempt}".encode()).hexdigest()
    return (_TOKEN_PREFIX + digest)[:MAX_CLIENT_REQUEST_TOKEN]


def job_report_prefix(report_prefix: str | None, job_id: str) -> str:
    """Where a job's report files start: ``<prefix>/job-<id>/`` (``job-<id>/`` without one)."""
    base = (report_prefix or "").strip("/")
    return f"{base}/job-{job_id}/" if base else f"job-{job_id}/"


@dataclass(frozen=True)
class ReportLocation:
    """The files of one job's completion report, found by listing its prefix."""

    index_key: str | None
    result_keys: tuple[str, ...]


def find_report(keys: Iterable[str], job_id: str) -> ReportLocation:
    """Pick a job's index and result CSVs out of keys listed under the report prefix."""
    marker = f"job-{job_id}/"
    index: str | None = None
    results: list[str] = []
    for key in keys:
        head, found, rest = key.rpartition(marker)
        if not found or (head and not head.endswith("/")):
            continue
        if rest in REPORT_INDEX_NAMES:
            index = key if index is None or rest == REPORT_INDEX_NAMES[0] else index
        elif rest.startswith("results/") and rest.endswith(".csv"):
            results.append(key)
    return ReportLocation(index, tuple(sorted(results)))


@dataclass(frozen=True)
class ReportFile:
    """One entry of the index's ``Results``: a CSV of tasks with one status."""

    bucket: str
    key: str
    task_status: str
    md5: str | None


def parse_report_index(document: bytes | str) -> list[ReportFile]:
    """The result files an index (``manifest.json``) lists."""
    try:
        parsed = json.loads(document)
        files = [
            ReportFile(
                bucket=str(item["Bucket"]),
                key=str(item["Key"]),
                task_status=str(item["TaskExecutionStatus"]),
                md5=item.get("MD5Checksum"),
            )
            for item in parsed["Results"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ReportFormatError(f"not a Batch Operations report index: {exc}") from exc
    if parsed.get("Format") != REPORT_FORMAT:
        raise ReportFormatError(f"unknown report format {parsed.get('Format')!r}")
    return files


@dataclass(frozen=True)
class TaskResult:
    """One row of a completion report."""

    bucket: str
    key: str
    version_id: str | None
    status: str
    http_status: int | None
    error_code: str | None
    message: str
    raw_key: str  # as written in the file, for matching when a writer encoded differently

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED


def parse_report_rows(lines: Iterable[str]) -> Iterator[TaskResult]:
    """Rows of a report CSV (lines with their line ends: quoted messages may span lines)."""
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or row == [""]:
            continue
        yield _task_result(number, row)


def _task_result(number: int, row: list[str]) -> TaskResult:
    if len(row) < 4:
        raise ReportFormatError(f"report row {number} has {len(row)} fields, not 7: {row!r}")
    bucket, raw_key, version_id, status, *rest = row
    status = status.strip().lower()
    if status not in (SUCCEEDED, FAILED):
        raise ReportFormatError(f"report row {number}: unknown task status {row[3]!r}")
    first, second, message = [*rest, "", "", ""][:3]
    if _is_status(first) or not _is_status(second):
        http, code = first, second  # what real reports write
    else:
        code, http = first, second  # the order ReportSchema names
    try:
        key = decode_key(raw_key)
    except UnicodeDecodeError as exc:
        raise ReportFormatError(f"report row {number}: key {raw_key!r} is not UTF-8") from exc
    return TaskResult(
        bucket=bucket,
        key=key,
        version_id=version_id or None,
        status=status,
        http_status=int(http) if _is_status(http) else None,
        error_code=code or None,
        message=",".join([message, *rest[3:]]) if len(rest) > 3 else message,
        raw_key=raw_key,
    )


def _is_status(text: str) -> bool:
    return len(text) == 3 and text.isdigit()
