"""A streamed multipart copy: ranged GETs pinned to the source's ETag feed UploadParts.

Memory: each part's bytes are reserved in the run's :class:`ByteBudget` before its GET, in part
order (so the earliest part of an object always holds its bytes: no part waits on one that
cannot start), and given back once the part is uploaded and, where a digest is computed over
the whole object (MD5 of a single-part ETag or a declared MD5), hashed in order.

Integrity: every part is uploaded with its Content-MD5 (and, on AWS, its CRC); each part's CRCs
are combined into the whole object's (``core.checksums.crc_combine``), which must equal the
source's before the upload is completed; on AWS the upload is completed with that CRC as its
full-object checksum (``ChecksumType=FULL_OBJECT``). Elsewhere the store's ETag must be the
MD5 of the part MD5s. Anything else aborts the upload: nothing unverified is completed.

Resume: the UploadId is stored before the first part, each finished part (ETag, size, CRCs) as
it lands (``PartBook``). A later run asks ListParts and keeps the parts the store and the book
agree on; an upload the store no longer knows starts afresh. A whole-object digest needs the
kept parts' bytes again: they are read (not uploaded) again. ``stop`` lets parts in flight
finish and leaves the upload to resume; a failure aborts it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aws_copy_pt.core.checksums import crc_from_b64, crc_to_b64
from aws_copy_pt.core.copy_plan import Part, part_size_for, parts
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.copier import head
from aws_copy_pt.s3.digests import InOrder, WholeCrc, crc_of
from aws_copy_pt.s3.streaming import (
    Written,
    abort_upload,
    complete_upload,
    create_upload,
    listed_parts,
    read_into,
    upload_part,
)
from aws_copy_pt.services.copy.parts import StoredPart
from aws_copy_pt.services.copy.stream_checks import Hashing, Streamed, check_streamed, check_written

if TYPE_CHECKING:
    from aws_copy_pt.services.copy.stream import StreamSpec
    from aws_copy_pt.services.copy.worker import CopySpec, ObjectTask

log = logging.getLogger(__name__)


@dataclass
class _Upload:
    """One object's multipart upload while it runs."""

    spec: CopySpec
    stream: StreamSpec
    task: ObjectTask
    etag: str
    hashing: Hashing
    upload_id: str
    part_md5: bool  # Content-MD5 per part (and the ETag check): stores without flexible checksums
    ordered: InOrder
    wholes: dict[str, WholeCrc]
    done: dict[int, StoredPart]
    lock: threading.Lock


def stream_multipart(
    spec: CopySpec,
    stream: StreamSpec,
    task: ObjectTask,
    size: int,
    etag: str,
    hashing: Hashing,
    headers: dict[str, object],
) -> Streamed | None:
    """Copy the object in parts; None when ``stop`` interrupted it (the upload stays)."""
    part_size = part_size_for(size, task.part_size or stream.part_size)
    layout = list(parts(size, part_size))
    upload_id, done = _resume(stream, task, part_size, layout)
    needed = hashing.crcs | ({"MD5"} if not stream.dest.traits.flexible_checksums else set())
    done = {number: part for number, part in done.items() if needed <= part.checksums.keys()}
    if upload_id is None:
        stream.book.forget(task.row_id)
        upload_id = create_upload(
            stream.dest, task.dest_key, headers=headers, algorithm=hashing.dest_algorithm
        )
        spec.remember(task.row_id, upload_id, part_size)
    job = _Upload(
        spec,
        stream,
        task,
        etag,
        hashing,
        upload_id,
        part_md5=not stream.dest.traits.flexible_checksums,
        ordered=InOrder(hashing.sequential),
        wholes={name: WholeCrc(name) for name in hashing.crcs},
        done=done,
        lock=threading.Lock(),
    )
    for part in done.values():
        _add_crcs(job, part)
    try:
        if not _run_parts(job, layout):
            return None
        return _complete(job, layout, size)
    except AwsCopyPtError:
        job.ordered.abandon()
        left = abort_upload(stream.dest, task.dest_key, upload_id)
        spec.remember(task.row_id, left, part_size if left else None)
        if left is None:
            stream.book.forget(task.row_id)
        raise


def _resume(
    stream: StreamSpec, task: ObjectTask, part_size: int, layout: list[Part]
) -> tuple[str | None, dict[int, StoredPart]]:
    """The stored upload and the parts both the store and the book hold; (None, {}) to start
    afresh (none stored, another part size, or the store no longer knows it)."""
    if not task.upload_id:
        return None, {}
    if task.part_size != part_size:
        abort_upload(stream.dest, task.dest_key, task.upload_id)
        return None, {}
    listed = listed_parts(stream.dest, task.dest_key, task.upload_id)
    if listed is None:
        log.info("upload %s of %s is gone; starting afresh", task.upload_id, task.dest_key)
        return None, {}
    sizes = {part.number: part.size for part in layout}
    stored = stream.book.load(task.row_id, task.upload_id)
    kept = {
        number: part
        for number, part in stored.items()
        if listed.get(number) == (part.etag, part.size) and sizes.get(number) == part.size
    }
    log.info("resuming upload %s of %s: %d part(s) kept", task.upload_id, task.dest_key, len(kept))
    return task.upload_id, kept


def _run_parts(job: _Upload, layout: list[Part]) -> bool:
    """Send every part not done (and read again those a whole-object digest needs); False when
    stopped."""
    pool, budget, stop = job.spec.part_pool, job.stream.budget, job.spec.stop
    todo = [p for p in layout if p.number not in job.done or job.ordered.wanted]
    in_flight: set[Future[None]] = set()
    failure: AwsCopyPtError | None = None
    stopped = False
    for part in todo:
        if failure is not None or stop.is_set() or not budget.take(part.size, stop):
            stopped = failure is None
            break
        in_flight.add(pool.submit(_part, job, part))
        finished, in_flight = wait(in_flight, timeout=0, return_when=FIRST_COMPLETED)
        failure = failure or _first_failure(finished)
    finished, _ = wait(in_flight)
    failure = failure or _first_failure(finished)
    if failure is not None:
        raise failure
    if stopped:
        job.ordered.abandon()  # parts waiting for one never read: their bytes go back
    return not stopped and len(job.done) == len(layout)


def _first_failure(finished: set[Future[None]]) -> AwsCopyPtError | None:
    for future in finished:
        error = future.exception()
        if isinstance(error, AwsCopyPtError):
            return error
        if error is not None:
            raise error
    return None


def _part(job: _Upload, part: Part) -> None:
    """Read one part, hash it, upload it (unless kept from before), record it."""
    budget = job.stream.budget
    pending = [2]  # uploaded + hashed in order: then its bytes go back to the budget
    lock = threading.Lock()
    buffer = budget.lend(part.size)

    def one_done() -> None:
        with lock:
            pending[0] -= 1
            if pending[0] == 0:
                budget.recycle(buffer)
                budget.give(part.size)

    fed = False
    try:
        read_into(
            job.stream.source,
            job.task.source_key,
            job.etag,
            memoryview(buffer),
            part.first,
            ranged=True,
        )
        job.ordered.feed(part.number, buffer, one_done)
        fed = True
        if part.number not in job.done:
            _upload(job, part, buffer)
    finally:
        if not fed:
            one_done()
        one_done()


def _upload(job: _Upload, part: Part, buffer: bytearray) -> None:
    checksums = {name: crc_to_b64(name, crc_of(name, buffer)) for name in job.hashing.crcs}
    md5 = hashlib.md5(buffer, usedforsecurity=False).hexdigest() if job.part_md5 else None
    dest = job.hashing.dest_algorithm
    etag = upload_part(
        job.stream.dest,
        job.task.dest_key,
        job.upload_id,
        part.number,
        buffer,
        md5_hex=md5,
        checksum=(dest, checksums[dest]) if dest else None,
    )
    if md5 is not None:
        checksums["MD5"] = md5
    stored = StoredPart(part.number, part.size, etag, checksums)
    job.stream.book.save(job.task.row_id, job.upload_id, stored)
    with job.lock:
        job.done[part.number] = stored
        _add_crcs(job, stored)


def _add_crcs(job: _Upload, part: StoredPart) -> None:
    for name, whole in job.wholes.items():
        whole.add(part.number, crc_from_b64(part.checksums[name]), part.size)


def _complete(job: _Upload, layout: list[Part], size: int) -> Streamed:
    """Check the whole object's hashes, then complete the upload (with the full-object CRC
    where the store takes one) and check the store's answer."""
    computed = {name: crc_to_b64(name, whole.value()) for name, whole in job.wholes.items()}
    computed.update(job.ordered.values())
    check_streamed(job.stream, job.task, job.hashing, computed)
    dest = job.hashing.dest_algorithm
    entries: list[dict[str, Any]] = []
    for part in layout:
        stored = job.done[part.number]
        entry: dict[str, Any] = {"PartNumber": part.number, "ETag": f'"{stored.etag}"'}
        if dest:
            entry[f"Checksum{dest}"] = stored.checksums[dest]
        entries.append(entry)
    whole = (dest, computed[dest]) if dest else None
    written = complete_upload(
        job.stream.dest, job.task.dest_key, job.upload_id, entries, whole=whole, size=size
    )
    job.stream.book.forget(job.task.row_id)
    check_written(
        job.stream, job.task, written.etag, _multipart_etag(job, layout), written.checksums, whole
    )
    return Streamed(_as_shown(job, written), job.hashing.proof())


def _as_shown(job: _Upload, written: Written) -> Written:
    """The completed object as the store shows it: the verify stage holds its listing to this
    ETag (some stores, ``rclone serve s3``, answer Complete with a multipart ETag and then show
    the object's MD5)."""
    dest = job.stream.dest
    shown = head(dest.s3, dest.bucket, job.task.dest_key, dest.args)
    if shown is None or shown.facts.etag is None:
        return written
    return replace(written, etag=shown.facts.etag)


def _multipart_etag(job: _Upload, layout: list[Part]) -> str | None:
    """What an MD5-ETag store answers for these parts: MD5 of the part MD5s, then ``-N``."""
    if not job.part_md5:
        return None
    digests = b"".join(bytes.fromhex(job.done[p.number].checksums["MD5"]) for p in layout)
    return f"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(layout)}"
