"""Streaming one object from one store into another (the ``stream`` route), checked end to end.

Runs on the copy engine's worker threads in place of ``worker``'s server-side copy. The source is
read with its own bucket's credential, the copy written with the destination's:

1. HEAD the source: size, ETag, content headers, user metadata and every hash it offers
   (``core.checksums.source_check``: its flexible checksum, GCS's ``x-goog-hash``, a
   single-part ETag's MD5; and an MD5 the uploader declared in metadata).
2. Decide against the destination as a server-side copy does (``services.copy.conflict``).
3. Up to one part size: one GET (pinned to the ETag), the hashes computed, then one PutObject
   carrying Content-MD5 (and, on AWS, the CRC). Larger: ``stream_parts``' multipart upload.
4. The hashes of the streamed bytes must equal what the source said, and the store's answer
   what was sent (its ETag is the MD5 or the MD5 of part MD5s; on AWS its CRC). Bytes that
   disagree are never completed nor recorded verified. The row records what proved it.

The copy carries the source's content headers, user metadata and tags, plus a record of where it
came from (``core.provenance``: source URL, ETag, size, checksum).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import quote

from aws_copy_pt.core.checksums import (
    Origin,
    SourceHashes,
    crc_to_b64,
    declared_md5,
    source_check,
)
from aws_copy_pt.core.copy_plan import (
    Action,
    Checksum,
    CopyMethod,
    ObjectFacts,
    annotation,
    judge_destination,
    size_problem,
)
from aws_copy_pt.core.provenance import provenance_metadata
from aws_copy_pt.core.route import STREAM_PART_SIZE
from aws_copy_pt.core.states import ObjectState
from aws_copy_pt.errors import AwsCopyPtError, ConflictRefused, RemoteError
from aws_copy_pt.s3.copier import head
from aws_copy_pt.s3.digests import crc_of, digest_of
from aws_copy_pt.s3.streaming import (
    SourceObject,
    StreamEnd,
    abort_upload,
    head_source,
    put_whole,
    read_into,
    source_tags,
)
from aws_copy_pt.services.copy.conflict import conflict_message, decide
from aws_copy_pt.services.copy.parts import ByteBudget, PartBook
from aws_copy_pt.services.copy.stream_checks import Hashing, Streamed, check_streamed, check_written
from aws_copy_pt.services.copy.stream_parts import stream_multipart
from aws_copy_pt.services.copy.worker import CopySpec, ObjectResult, ObjectTask

DEFAULT_DEST_ALGORITHM = "CRC64NVME"


@dataclass(frozen=True)
class StreamSpec:
    """What every streamed object of a transfer shares."""

    source: StreamEnd
    dest: StreamEnd
    budget: ByteBudget
    book: PartBook
    part_size: int = STREAM_PART_SIZE


def stream_object(spec: CopySpec, task: ObjectTask) -> ObjectResult:
    """Stream one object, or say why not; never raises for S3 failures."""
    stream = spec.stream
    assert stream is not None
    try:
        return _stream(spec, stream, task)
    except AwsCopyPtError as exc:
        left = abort_upload(stream.dest, task.dest_key, task.upload_id) if task.upload_id else None
        return ObjectResult(task.row_id, ObjectState.FAILED, error=exc, upload_id=left)


def _stream(spec: CopySpec, stream: StreamSpec, task: ObjectTask) -> ObjectResult:
    listed = task.source
    if listed is None or listed.size is None or not listed.etag or listed.size > stream.part_size:
        return _copy(spec, stream, task, head_source(stream.source, task.source_key), None)
    # Listed, and no larger than a part: one GET gives its bytes and all a HEAD would.
    with _held(stream, listed.size) as body:
        found = read_into(
            stream.source, task.source_key, listed.etag, memoryview(body), 0, ranged=False
        )
        return _copy(spec, stream, task, found, body)


@contextmanager
def _held(stream: StreamSpec, size: int) -> Iterator[bytearray]:
    """A buffer for an object read whole, its bytes counted against the byte budget."""
    stream.budget.take(size)
    buffer = stream.budget.lend(size)
    try:
        yield buffer
    finally:
        stream.budget.recycle(buffer)
        stream.budget.give(size)


def _copy(
    spec: CopySpec,
    stream: StreamSpec,
    task: ObjectTask,
    found: SourceObject | None,
    body: bytearray | None,
) -> ObjectResult:
    """The rest of one object's copy, once the source is known (and, small, read: ``body``)."""
    where = f"s3://{stream.source.bucket}/{task.source_key}"
    if found is None:
        raise RemoteError(
            f"{where} is gone from the source (deleted since it was listed)",
            hint="put it back, then `aws-copy-pt transfers retry ID`",
        )
    source = found.head.facts
    if task.source and task.source.etag and source.etag != task.source.etag:
        raise RemoteError(
            f"{where} changed since it was listed (ETag {task.source.etag} -> {source.etag})",
            hint="make sure nothing rewrites source objects during a copy, then retry it",
        )
    problem = size_problem(source.size) or (None if source.etag else "the store gave no ETag")
    if problem:
        raise RemoteError(f"{where} cannot be copied: {problem}")
    hashing = plan_hashing(found, stream.dest)
    if hashing.source_check is not None and hashing.source_check.origin is Origin.GOOG:
        source = replace(source, checksum=Checksum("CRC32C", hashing.source_check.value))
    action, dest = _decide(spec, stream, task, source)
    if action is Action.SKIP:
        if task.upload_id:
            abort_upload(stream.dest, task.dest_key, task.upload_id)
        return ObjectResult(task.row_id, ObjectState.SKIPPED, source=source)
    if action is Action.FAIL:
        refused = ConflictRefused(
            conflict_message(spec.route, task.dest_key, judge_destination(source, dest))
        )
        return ObjectResult(task.row_id, ObjectState.FAILED, source=source, error=refused)
    headers = _headers(spec, stream, task, found, source)
    assert source.size is not None and source.etag is not None
    if body is not None:
        streamed = _small(stream, task, body, hashing, headers)
        method = CopyMethod.SINGLE
    elif source.size <= stream.part_size:  # not listed: HEADed first, now read
        with _held(stream, source.size) as read:
            view = memoryview(read)
            read_into(stream.source, task.source_key, source.etag, view, 0, ranged=False)
            streamed = _small(stream, task, read, hashing, headers)
        method = CopyMethod.SINGLE
    else:
        got = stream_multipart(spec, stream, task, source.size, source.etag, hashing, headers)
        if got is None:  # stopped: the upload is left to resume
            return ObjectResult(task.row_id, ObjectState.COPYING, source=source)
        streamed, method = got, CopyMethod.MULTIPART
    return ObjectResult(
        task.row_id,
        ObjectState.COPIED,
        source=source,
        algorithm=hashing.dest_algorithm
        or (source.checksum.algorithm if source.checksum else None),
        dest_etag=streamed.written.etag,
        dest_checksum=streamed.written.checksums.get(hashing.dest_algorithm or ""),
        method=method,
        overwrote=dest is not None,
        proof=streamed.proof,
        streamed=True,
    )


def plan_hashing(found: SourceObject, dest: StreamEnd) -> Hashing:
    """What to compute over the bytes: the source's own check, a declared MD5, and the CRC a
    store with flexible checksums is given (the source's algorithm when it is a CRC, so both
    sides show the same value)."""
    facts = found.head.facts
    flexible = None
    if facts.checksum is not None and not facts.checksum.is_composite:
        flexible = (facts.checksum.algorithm, facts.checksum.value)
    etag_md5 = facts.etag if facts.etag_looks_like_md5 and not facts.kms_or_sse_c else None
    hashes = SourceHashes(flexible, etag_md5, found.goog, declared_md5(found.head.metadata))
    check = source_check(hashes)
    dest_algorithm = None
    if dest.traits.flexible_checksums:
        same = check is not None and check.algorithm in ("CRC32C", "CRC32", "CRC64NVME")
        dest_algorithm = check.algorithm if same and check is not None else DEFAULT_DEST_ALGORITHM
    return Hashing(check, hashes.declared_md5, dest_algorithm)


def _decide(
    spec: CopySpec, stream: StreamSpec, task: ObjectTask, source: ObjectFacts
) -> tuple[Action, ObjectFacts | None]:
    dest = task.dest if task.dest_known else _head_dest(stream, task.dest_key)
    action = decide(task.ours, judge_destination(source, dest), dest, spec.conflict)
    if action is Action.INSPECT:
        dest = _head_dest(stream, task.dest_key)
        judged = judge_destination(source, dest)
        action = decide(task.ours, judged, dest, spec.conflict, inspected=True)
    return action, dest


def _head_dest(stream: StreamSpec, key: str) -> ObjectFacts | None:
    found = head(stream.dest.s3, stream.dest.bucket, key, stream.dest.args)
    return None if found is None else found.facts


def _headers(
    spec: CopySpec, stream: StreamSpec, task: ObjectTask, found: SourceObject, source: ObjectFacts
) -> dict[str, object]:
    """Content headers, user metadata (plus annotation and provenance) and tags to carry."""
    kept = {} if spec.route.metadata_directive == "REPLACE" else found.head.metadata
    metadata = {name.lower(): value for name, value in kept.items()}
    if spec.annotate:
        metadata.update(annotation(source, spec.globus_task_id))
    url = f"s3://{stream.source.bucket}/{quote(task.source_key, safe='/')}"
    metadata.update(provenance_metadata(source, url=url))
    headers: dict[str, object] = {**found.head.content, "Metadata": metadata}
    if spec.route.tagging_directive == "COPY" and found.head.tag_count:
        tags = source_tags(stream.source, task.source_key)
        if tags:
            headers["Tagging"] = tags
    return headers


def _small(
    stream: StreamSpec,
    task: ObjectTask,
    body: bytearray,
    hashing: Hashing,
    headers: dict[str, object],
) -> Streamed:
    """The hashes of an object read whole (its bytes held in the budget), one PutObject."""
    computed = {name: digest_of(name, body) for name in hashing.sequential}
    for name in hashing.crcs:
        computed[name] = crc_to_b64(name, crc_of(name, body))
    check_streamed(stream, task, hashing, computed)
    md5 = computed.get("MD5") or hashlib.md5(body, usedforsecurity=False).hexdigest()
    dest_checksum = None
    if hashing.dest_algorithm is not None:
        dest_checksum = (hashing.dest_algorithm, computed[hashing.dest_algorithm])
    written = put_whole(
        stream.dest, task.dest_key, body, headers=headers, md5_hex=md5, checksum=dest_checksum
    )
    check_written(stream, task, written.etag, md5, written.checksums, dest_checksum)
    return Streamed(written, hashing.proof())
