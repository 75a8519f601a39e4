"""Copying one object: decide against the destination, copy, check the content.

Runs on the copy engine's worker threads. It never touches the database (except through the
``remember`` callback that stores a multipart UploadId before the first part): it returns an
:class:`ObjectResult` that the engine writes in bulk. The sizes seen by a destination listing
afterwards complete the verification (``services.copy.verify``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aws_copy_pt.core.checksums import (
    SIZE_ONLY,
    DeclaredCheck,
    check_declared_against_etag,
    declared_md5,
    proof,
)
from aws_copy_pt.core.copy_plan import (
    Action,
    ConflictPolicy,
    CopyMethod,
    Match,
    ObjectFacts,
    VerifyMethod,
    annotation,
    compare_content,
    judge_destination,
    plan_copy,
    size_problem,
)
from aws_copy_pt.core.provenance import needs_provenance, provenance_metadata
from aws_copy_pt.core.states import ObjectState
from aws_copy_pt.errors import AwsCopyPtError, ConflictRefused, RemoteError
from aws_copy_pt.s3.answers import CopyAnswer
from aws_copy_pt.s3.copier import (
    CopyRoute,
    ObjectHead,
    cause_code,
    copy_single,
    facts_from_copy,
)
from aws_copy_pt.s3.errors import S3NotFound, error_code, is_systemic
from aws_copy_pt.s3.multipart import (
    MultipartFailed,
    MultipartJob,
    StopFlag,
    abort,
    copy_multipart,
)
from aws_copy_pt.services.copy.conflict import conflict_message, decide, encrypts_copies

if TYPE_CHECKING:
    from aws_copy_pt.services.copy.stream import StreamSpec

# What a store answers to UploadPartCopy when it has none (GCS's XML API): that object is
# streamed instead.
NO_PART_COPY = frozenset({"NotImplemented", "501"})


class Breaker:
    """Ends a run whose first objects all fail the same systemic way, before it tries the rest.

    Workers report every outcome here themselves (the main thread may lag behind fast
    failures), and stop taking objects once ``halt`` is set.
    """

    def __init__(self, halt: threading.Event, threshold: int) -> None:
        self.halt = halt
        self.threshold = threshold
        self.tripped_by: AwsCopyPtError | None = None
        self._successes = 0
        self._systemic = 0
        self._lock = threading.Lock()

    def record(self, result: ObjectResult) -> None:
        with self._lock:
            if result.state in (ObjectState.COPIED, ObjectState.SKIPPED):
                self._successes += 1
            elif result.error is not None and is_systemic(result.error) and not self._successes:
                self._systemic += 1
                if self._systemic >= self.threshold and self.tripped_by is None:
                    self.tripped_by = result.error
                    self.halt.set()


@dataclass(frozen=True)
class CopySpec:
    """What applies to every object of one transfer."""

    route: CopyRoute
    conflict: ConflictPolicy
    threshold: int
    part_size: int | None  # None: adaptive
    annotate: bool
    globus_task_id: str | None
    part_pool: Executor
    stop: StopFlag  # set: take no new object (a stop request, or the breaker)
    breaker: Breaker
    remember: Callable[[int, str | None, int | None], None]  # row id, UploadId, part size
    stream: StreamSpec | None = None  # the two ends of a streamed copy (``services.copy.stream``)
    streams: bool = False  # the transfer's route is ``stream``: every object is streamed


@dataclass(frozen=True)
class ObjectTask:
    row_id: int
    source_key: str
    dest_key: str
    source: ObjectFacts | None  # None: HEAD the source first
    dest: ObjectFacts | None  # what is at the destination (None: nothing)
    dest_known: bool  # False: the listing did not reach this key; HEAD it
    upload_id: str | None = None  # a multipart upload to resume
    part_size: int | None = None
    ours: str | None = None  # the ETag of this row's own earlier copy (a retried row)


@dataclass(frozen=True)
class ObjectResult:
    row_id: int
    state: ObjectState  # COPIED, SKIPPED, FAILED; PENDING / COPYING when interrupted
    source: ObjectFacts | None = None
    algorithm: str | None = None
    dest_etag: str | None = None
    dest_checksum: str | None = None
    upload_id: str | None = None  # FAILED: an upload that could not be aborted
    method: CopyMethod | None = None
    verified_by: VerifyMethod | None = None
    error: AwsCopyPtError | None = None
    overwrote: bool = False
    source_version: str | None = None  # the staging version copied (versioned buckets)
    proof: str | None = None  # what proved it (core.checksums.proof): "crc32c from source"...
    streamed: bool = False  # its bytes went through this machine


def copy_object(spec: CopySpec, task: ObjectTask) -> ObjectResult:
    """Copy one object, or say why not; never raises for S3 failures."""
    if spec.stop.is_set():
        state = ObjectState.COPYING if task.upload_id else ObjectState.PENDING
        return ObjectResult(task.row_id, state)
    if spec.streams:
        from aws_copy_pt.services.copy.stream import stream_object

        result = stream_object(spec, task)
    else:
        result = _attempt(spec, task)
    spec.breaker.record(result)
    return result


def _attempt(spec: CopySpec, task: ObjectTask) -> ObjectResult:
    try:
        return _copy(spec, task)
    except MultipartFailed as exc:
        if spec.stream is not None and _no_part_copy(exc) and not exc.upload_left:
            from aws_copy_pt.services.copy.stream import stream_object

            return stream_object(spec, replace(task, upload_id=None))
        return ObjectResult(task.row_id, ObjectState.FAILED, error=exc, upload_id=exc.upload_left)
    except AwsCopyPtError as exc:
        # A resumed upload that cannot go on (its source changed or vanished) must not linger.
        left = abort(spec.route, task.dest_key, task.upload_id) if task.upload_id else None
        return ObjectResult(
            task.row_id, ObjectState.FAILED, error=_explain(exc, spec, task), upload_id=left
        )


def _copy(spec: CopySpec, task: ObjectTask) -> ObjectResult:
    route = spec.route
    if task.upload_id and task.source is None:
        # Started for source facts no longer known (a retry plans the source afresh): its parts
        # may hold another version, so it cannot be resumed.
        abort(route, task.dest_key, task.upload_id)
        task = replace(task, upload_id=None)
    source_head: ObjectHead | None = None
    source = task.source
    if source is None:
        source_head = _head_source(spec, task)
        source = source_head.facts
    problem = size_problem(source.size)
    if problem:
        return _failed(
            task,
            source,
            f"s3://{route.source_bucket}/{task.source_key} cannot be copied: {problem}",
        )
    dest = task.dest if task.dest_known else _head_dest(spec, task)
    judged = judge_destination(source, dest)
    action = decide(task.ours, judged, dest, spec.conflict)
    if action is Action.INSPECT:
        source_head = source_head or _head_source(spec, task)
        source = _merge(source, source_head.facts)
        dest = _head_dest(spec, task)
        judged = judge_destination(source, dest)
        action = decide(task.ours, judged, dest, spec.conflict, inspected=True)
    if action is Action.SKIP:
        if task.upload_id:  # an interrupted run finished it; its stale upload goes
            abort(route, task.dest_key, task.upload_id)
        return ObjectResult(task.row_id, ObjectState.SKIPPED, source=source)
    if action is Action.FAIL:
        refused = ConflictRefused(conflict_message(route, task.dest_key, judged))
        return ObjectResult(task.row_id, ObjectState.FAILED, source=source, error=refused)
    # An MD5 the uploader declared is honoured on this route too: it needs the metadata.
    source_head = source_head or _head_source(spec, task)
    _check_unchanged(route, task, source, source_head.facts)
    source = _merge(source, source_head.facts)
    declared = _declared(route, task, source, source_head)
    if isinstance(declared, ObjectResult):
        return declared
    plan = plan_copy(source, threshold=spec.threshold, part_size=task.part_size or spec.part_size)
    record = needs_provenance(source, dest_encrypted=encrypts_copies(route))
    # These set the copy's metadata explicitly (from the HEAD's headers).
    rewrite = spec.annotate or route.metadata_directive == "REPLACE" or record
    notes = annotation(source, spec.globus_task_id) if spec.annotate else {}
    notes.update(provenance_metadata(source))  # carried only where metadata is set explicitly
    if plan.method is CopyMethod.SINGLE:
        answer = copy_single(
            route,
            task.source_key,
            task.dest_key,
            etag=source.etag,
            algorithm=plan.checksum_algorithm,
            replacement=source_head if rewrite else None,
            annotation=notes,
        )
    else:
        assert plan.part_size is not None
        job = MultipartJob(
            task.source_key,
            task.dest_key,
            replace(source_head, facts=source),
            plan.checksum_algorithm,
            plan.part_size,
            task.upload_id,
            notes,
        )
        remembered = lambda upload, size: spec.remember(task.row_id, upload, size)  # noqa: E731
        multipart = copy_multipart(
            route, job, pool=spec.part_pool, stop=spec.stop, remember=remembered
        )
        if multipart is None:
            return ObjectResult(task.row_id, ObjectState.COPYING, source=source)
        answer = multipart
    return _check_copy(
        spec, task, source, plan.checksum_algorithm, plan.method, answer, dest is not None, declared
    )


def _check_copy(
    spec: CopySpec,
    task: ObjectTask,
    source: ObjectFacts,
    algorithm: str,
    method: CopyMethod,
    answer: CopyAnswer,
    overwrote: bool,
    declared: DeclaredCheck | None = None,
) -> ObjectResult:
    """Compare what the copy reports (or, when that is not conclusive, a HEAD of the copy)."""
    copied = facts_from_copy(answer, algorithm)
    match, verified_by = compare_content(source, copied)
    if method is CopyMethod.MULTIPART or match in (Match.MISMATCH, Match.SUSPECT):
        match, verified_by, source, copied = _inspect(spec, task, source, copied)
    if match in (Match.MISMATCH, Match.SUSPECT):
        return _failed(task, source, _mismatch_message(spec.route, task, source, copied))
    checksum = copied.checksum
    return ObjectResult(
        task.row_id,
        ObjectState.COPIED,
        source=source,
        algorithm=checksum.algorithm if checksum else algorithm,
        dest_etag=answer.etag or copied.etag,
        dest_checksum=checksum.value if checksum else None,
        method=method,
        verified_by=verified_by,
        overwrote=overwrote,
        source_version=None if answer.source_version == "null" else answer.source_version,
        proof=proof(
            _proved_by(verified_by, checksum.algorithm if checksum else algorithm), declared
        ),
    )


def _proved_by(method: VerifyMethod, algorithm: str) -> str:
    """A server-side copy's check, in the words of streamed ones."""
    if method is VerifyMethod.CHECKSUM:
        return f"{algorithm.lower()} from source"
    return "md5 from ETag" if method is VerifyMethod.ETAG else SIZE_ONLY


def _declared(
    route: CopyRoute, task: ObjectTask, source: ObjectFacts, source_head: ObjectHead
) -> DeclaredCheck | ObjectResult | None:
    """An MD5 the uploader declared, compared with the source's ETag where that is an MD5 (the
    bytes never pass through us); a disagreement fails the object before anything is copied."""
    declared = declared_md5(source_head.metadata)
    if declared is None:
        return None
    check = check_declared_against_etag(declared, source.etag if source.etag_is_md5 else None)
    if check.matched is False:
        return _failed(
            task,
            source,
            f"s3://{route.source_bucket}/{task.source_key} disagrees with the MD5 its uploader "
            f"declared in its metadata ({declared}; its content's MD5, the ETag, is "
            f"{source.etag}); not copied",
        )
    return check


def _no_part_copy(error: MultipartFailed) -> bool:
    """Whether the store refused UploadPartCopy as an operation it does not have."""
    cause: BaseException | None = error
    while cause is not None:
        if error_code(cause) in NO_PART_COPY:
            return True
        cause = cause.__cause__
    return False


def _inspect(
    spec: CopySpec, task: ObjectTask, source: ObjectFacts, copied: ObjectFacts
) -> tuple[Match, VerifyMethod, ObjectFacts, ObjectFacts]:
    """HEAD both sides (checksums, encryption) and compare again."""
    now = _head_source(spec, task).facts
    _check_unchanged(spec.route, task, source, now)
    source = _merge(source, now)
    dest = _head_dest(spec, task)
    if dest is None:
        raise RemoteError(
            f"s3://{spec.route.dest_bucket}/{task.dest_key} is missing right after its copy"
        )
    dest = replace(dest, etag=dest.etag or copied.etag)
    match, verified_by = compare_content(source, dest)
    return match, verified_by, source, dest


def _check_unchanged(
    route: CopyRoute, task: ObjectTask, planned: ObjectFacts, now: ObjectFacts
) -> None:
    if planned.etag is not None and now.etag != planned.etag:
        raise RemoteError(
            f"s3://{route.source_bucket}/{task.source_key} changed since it was listed "
            f"(ETag {planned.etag} -> {now.etag})",
            hint="make sure nothing rewrites staging objects during a copy, then retry it",
        )


def _merge(known: ObjectFacts, seen: ObjectFacts) -> ObjectFacts:
    """A HEAD's facts, keeping what was known but the HEAD does not say."""
    return ObjectFacts(
        size=seen.size if seen.size is not None else known.size,
        etag=seen.etag or known.etag,
        checksum=seen.checksum or known.checksum,
        algorithms=known.algorithms,
        kms_or_sse_c=seen.kms_or_sse_c,
    )


def _head_source(spec: CopySpec, task: ObjectTask) -> ObjectHead:
    found = spec.route.head_source(task.source_key)
    if found is None:
        raise _gone(spec, task)
    return found


def _gone(spec: CopySpec, task: ObjectTask) -> S3NotFound:
    return S3NotFound(
        f"s3://{spec.route.source_bucket}/{task.source_key} is gone from staging "
        "(deleted since it was listed)",
        hint="re-run the Globus transfer for that file, then `aws-copy-pt transfers retry ID`",
    )


def _head_dest(spec: CopySpec, task: ObjectTask) -> ObjectFacts | None:
    found = spec.route.head_dest(task.dest_key)
    return None if found is None else found.facts


def _mismatch_message(
    route: CopyRoute, task: ObjectTask, source: ObjectFacts, copied: ObjectFacts
) -> str:
    where = f"s3://{route.dest_bucket}/{task.dest_key}"
    if (
        source.checksum
        and copied.checksum
        and source.checksum.algorithm == copied.checksum.algorithm
    ):
        detail = f"checksum {copied.checksum} but the source has {source.checksum}"
    elif source.size != copied.size and copied.size is not None:
        detail = f"{copied.size} bytes but the source has {source.size}"
    else:
        detail = f"ETag {copied.etag} but the source has {source.etag}"
    return f"verification failed: {where} has {detail}; the staging object is kept"


def _failed(task: ObjectTask, source: ObjectFacts | None, message: str) -> ObjectResult:
    return ObjectResult(task.row_id, ObjectState.FAILED, source=source, error=RemoteError(message))


def _explain(error: AwsCopyPtError, spec: CopySpec, task: ObjectTask) -> AwsCopyPtError:
    """Name the cause S3 only hints at: in a copy, a missing key or a failed pin is the source."""
    code = cause_code(error)
    source = f"s3://{spec.route.source_bucket}/{task.source_key}"
    if code in ("PreconditionFailed", "412"):
        return RemoteError(
            f"{source} changed since it was listed (CopySourceIfMatch failed)",
            hint="make sure nothing rewrites staging objects during a copy, then retry it",
        )
    if code == "NoSuchKey":
        return _gone(spec, task)
    return error
