"""Multipart server-side copy: CreateMultipartUpload, UploadPartCopy in parallel, Complete.

A multipart copy keeps only what CreateMultipartUpload is given, so the source's content
headers, user metadata (plus the annotation) and tags are passed explicitly, with the
destination's ACL / storage class / SSE and a full-object checksum S3 computes over the result
(``ChecksumType=FULL_OBJECT``). Every part is pinned with ``CopySourceIfMatch`` to the source's
ETag: a source that changes midway fails the copy instead of mixing two versions.

Crash safety: the UploadId and part size are handed to ``remember`` (which stores them in the
object's row) before the first part is sent. A later run passes them back: ListParts tells which
parts are done and only the rest is copied; an upload S3 no longer knows is started afresh.

Failure: the upload is aborted, so no orphaned parts keep costing money. A ``stop`` request
(SIGTERM) is not a failure: parts in flight finish, no new part starts, and the upload is left
for the next run to resume.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from aws_copy_pt.core.copy_plan import Checksum, Part, normalize_etag, parts
from aws_copy_pt.errors import AwsCopyPtError, RemoteError
from aws_copy_pt.s3.answers import CopyAnswer
from aws_copy_pt.s3.arguments import settings_for
from aws_copy_pt.s3.copier import (
    CopyRoute,
    ObjectHead,
    call,
    carried_metadata,
    cause_code,
    checksum_in,
)

log = logging.getLogger(__name__)

# Parts of one object in flight at once; the shared part pool bounds the total.
PARTS_IN_FLIGHT = 16


@dataclass(frozen=True)
class MultipartJob:
    source_key: str
    dest_key: str
    source: ObjectHead  # HEAD of the source: size, ETag, checksum, headers, metadata
    algorithm: str  # full-object checksum S3 computes
    part_size: int
    upload_id: str | None = None  # an upload to resume
    annotation: Mapping[str, str] | None = None


class MultipartFailed(AwsCopyPtError):
    """The copy failed; ``upload_left`` names an upload that could not be aborted."""

    def __init__(self, error: AwsCopyPtError, upload_left: str | None) -> None:
        message = error.message
        if upload_left:
            message += f"; its unfinished upload {upload_left} could not be aborted"
        super().__init__(message, hint=error.hint)
        self.exit_code = error.exit_code
        self.upload_left = upload_left


Remember = Callable[[str | None, int | None], None]


class StopFlag(Protocol):
    """Anything that says whether to stop (a ``threading.Event``, or several combined)."""

    def is_set(self) -> bool: ...


def copy_multipart(
    route: CopyRoute,
    job: MultipartJob,
    *,
    pool: Executor,
    stop: StopFlag,
    remember: Remember,
) -> CopyAnswer | None:
    """Copy ``job``; None when ``stop`` interrupted it (the upload is left to resume)."""
    size = job.source.facts.size
    assert size is not None
    done = _resume(route, job) if job.upload_id else None
    upload_id = job.upload_id if done is not None else None
    if upload_id is None:
        done = {}
        abort_strays(route, job.dest_key)
        upload_id = _create(route, job)
        remember(upload_id, job.part_size)
    assert done is not None
    try:
        finished = _copy_parts(route, job, upload_id, done, pool=pool, stop=stop)
        if finished is None:
            return None
        answer = _complete(route, job, upload_id, finished)
        abort_strays(route, job.dest_key)
        return answer
    except AwsCopyPtError as exc:
        left = abort(route, job.dest_key, upload_id)
        remember(left, job.part_size if left else None)
        raise MultipartFailed(exc, left) from exc


def abort_strays(route: CopyRoute, dest_key: str) -> None:
    """Abort unfinished uploads to exactly ``dest_key`` that no row remembers.

    Two ways leave such an upload behind: a crash after S3 created an upload but before its id
    was stored, and a CreateMultipartUpload that botocore retried after S3 had acted on the
    first try. Both are invisible to the rows, so they are found by listing: before a new upload
    starts and after one completes. This key is about to be (or was just) overwritten by us, so
    an upload to it is ours to abort. A failure to list or abort is logged, never fatal.
    """
    owner = settings_for("ListMultipartUploads", route.dest_args)
    try:
        answer = call(
            "ListMultipartUploads",
            route.dest_bucket,
            dest_key,
            lambda: route.dest_client.list_multipart_uploads(
                Bucket=route.dest_bucket, Prefix=dest_key, **owner
            ),
        )
    except AwsCopyPtError as exc:
        log.warning("could not list unfinished uploads of %s: %s", dest_key, exc)
        return
    for upload in answer.get("Uploads", []):
        if upload.get("Key") == dest_key:
            log.info("aborting a stray unfinished upload of %s", dest_key)
            abort(route, dest_key, str(upload["UploadId"]))


def abort(route: CopyRoute, dest_key: str, upload_id: str) -> str | None:
    """Abort an upload; returns its id when that failed (it still costs money)."""
    owner = settings_for("AbortMultipartUpload", route.dest_args)
    try:
        call(
            "AbortMultipartUpload",
            route.dest_bucket,
            dest_key,
            lambda: route.dest_client.abort_multipart_upload(
                Bucket=route.dest_bucket, Key=dest_key, UploadId=upload_id, **owner
            ),
        )
    except AwsCopyPtError as exc:
        if cause_code(exc) == "NoSuchUpload":
            return None
        log.warning("could not abort upload %s of %s: %s", upload_id, dest_key, exc)
        return upload_id
    return None


def _create(route: CopyRoute, job: MultipartJob) -> str:
    args: dict[str, Any] = {
        "Bucket": route.dest_bucket,
        "Key": job.dest_key,
        **settings_for("CreateMultipartUpload", route.dest_args),
        **job.source.content,
        "Metadata": carried_metadata(route, job.source, job.annotation),
        "ChecksumAlgorithm": job.algorithm,
        "ChecksumType": "FULL_OBJECT",
    }
    tags = _source_tags(route, job)
    if tags:
        args["Tagging"] = tags
    answer = call(
        "CreateMultipartUpload",
        route.dest_bucket,
        job.dest_key,
        lambda: route.dest_client.create_multipart_upload(**args),
    )
    return answer["UploadId"]


def _source_tags(route: CopyRoute, job: MultipartJob) -> str | None:
    """The source's tags as a Tagging header value (CopyObject copies them; multipart not)."""
    if route.tagging_directive != "COPY" or job.source.tag_count == 0:
        return None
    answer = call(
        "GetObjectTagging",
        route.source_bucket,
        job.source_key,
        lambda: route.source_client.get_object_tagging(
            Bucket=route.source_bucket,
            Key=job.source_key,
            **settings_for("GetObjectTagging", route.source_args),
        ),
    )
    tags = [(tag["Key"], tag["Value"]) for tag in answer.get("TagSet", [])]
    return urlencode(tags) if tags else None


def _resume(route: CopyRoute, job: MultipartJob) -> dict[int, dict[str, Any]] | None:
    """Parts already copied into the stored upload; None when S3 no longer has it."""
    assert job.upload_id is not None
    upload_id = job.upload_id
    done: dict[int, dict[str, Any]] = {}
    expected = {part.number: part.size for part in _parts(job)}
    paginator = route.dest_client.get_paginator("list_parts")
    pages = paginator.paginate(
        Bucket=route.dest_bucket,
        Key=job.dest_key,
        UploadId=upload_id,
        **settings_for("ListParts", route.dest_args),
    )
    try:
        for page in call("ListParts", route.dest_bucket, job.dest_key, lambda: list(pages)):
            for item in page.get("Parts", []):
                if expected.get(item["PartNumber"]) == item["Size"]:
                    done[item["PartNumber"]] = _completed_part(item, job.algorithm)
    except AwsCopyPtError as exc:
        if cause_code(exc) == "NoSuchUpload":
            log.info("upload %s of %s is gone; starting afresh", upload_id, job.dest_key)
            return None
        raise
    log.info("resuming upload %s of %s: %d part(s) done", upload_id, job.dest_key, len(done))
    return done


def _copy_parts(
    route: CopyRoute,
    job: MultipartJob,
    upload_id: str,
    done: dict[int, dict[str, Any]],
    *,
    pool: Executor,
    stop: StopFlag,
) -> dict[int, dict[str, Any]] | None:
    """Copy the missing parts, a bounded number at a time; None when stopped."""
    todo = [part for part in _parts(job) if part.number not in done]
    in_flight: set[Future[dict[str, Any] | None]] = set()
    failure: AwsCopyPtError | None = None
    while todo or in_flight:
        while todo and len(in_flight) < PARTS_IN_FLIGHT and failure is None and not stop.is_set():
            part = todo.pop(0)
            in_flight.add(pool.submit(_copy_part, route, job, upload_id, part, stop))
        if not in_flight:
            break
        finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in finished:
            try:
                item = future.result()
            except AwsCopyPtError as exc:
                failure = failure or exc
                continue
            if item is not None:
                done[item["PartNumber"]] = item
    if failure is not None:
        raise failure
    return done if len(done) == len(_parts(job)) else None


def _copy_part(
    route: CopyRoute, job: MultipartJob, upload_id: str, part: Part, stop: StopFlag
) -> dict[str, Any] | None:
    """Copy one part; None when a stop came before it started."""
    if stop.is_set():
        return None
    answer = call(
        "UploadPartCopy",
        route.dest_bucket,
        job.dest_key,
        lambda: route.dest_client.upload_part_copy(
            Bucket=route.dest_bucket,
            Key=job.dest_key,
            UploadId=upload_id,
            PartNumber=part.number,
            CopySourceRange=part.byte_range,
            **route.source_pin("UploadPartCopy", job.source_key, job.source.facts.etag),
            **settings_for("UploadPartCopy", route.dest_args),
        ),
    )
    result = answer.get("CopyPartResult", {})
    if "ETag" not in result:
        raise RemoteError(f"UploadPartCopy of part {part.number} of {job.dest_key} gave no ETag")
    return _completed_part({"PartNumber": part.number, **result}, job.algorithm)


def _completed_part(item: Mapping[str, Any], algorithm: str) -> dict[str, Any]:
    """A part as CompleteMultipartUpload wants it (with its checksum when S3 gave one)."""
    part: dict[str, Any] = {"PartNumber": item["PartNumber"], "ETag": item["ETag"]}
    checksum = item.get(f"Checksum{algorithm}")
    if checksum:
        part[f"Checksum{algorithm}"] = checksum
    return part


def _complete(
    route: CopyRoute, job: MultipartJob, upload_id: str, done: dict[int, dict[str, Any]]
) -> CopyAnswer:
    args: dict[str, Any] = {
        "Bucket": route.dest_bucket,
        "Key": job.dest_key,
        "UploadId": upload_id,
        "MultipartUpload": {"Parts": [done[number] for number in sorted(done)]},
        **settings_for("CompleteMultipartUpload", route.dest_args),
    }
    answer: Mapping[str, Any] = call(
        "CompleteMultipartUpload",
        route.dest_bucket,
        job.dest_key,
        lambda: route.dest_client.complete_multipart_upload(**args),
    )
    found: Checksum | None = checksum_in(answer, job.algorithm)
    checksums = {found.algorithm: found.value} if found else {}
    return CopyAnswer(
        normalize_etag(answer.get("ETag")), checksums, answer.get("ServerSideEncryption")
    )


def _parts(job: MultipartJob) -> list[Part]:
    assert job.source.facts.size is not None
    return list(parts(job.source.facts.size, job.part_size))
