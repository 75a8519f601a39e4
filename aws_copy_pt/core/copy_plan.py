"""Pure copy planning: how each object is copied, whether it must be, and how it is verified.

No I/O here: the executor (``s3/copier.py``, ``s3/multipart.py``) and the use case
(``services/copy/``) gather facts from S3 and the database, ask these functions what to do, and
act. Everything S3 imposes lives here once: CopyObject stops at 5 GiB, parts are 5 MiB-5 GiB and
at most 10,000, objects at most 50 TB (10,000 parts of 5 GiB hold 53.7 TB).

Verification, in order of strength (the first that applies decides):

1. *checksum*: the source's full-object checksum is known and S3 computed the same algorithm
   during the copy; the values must be equal.
2. *etag*: both ETags are plain MD5s of the content (single-part, not SSE-KMS / SSE-C); they
   must be equal. This is what stores without flexible checksums offer, and what a listing
   gives for free.
3. *size*: nothing comparable exists (a multipart or KMS source without a checksum): sizes must
   be equal, and the copy was pinned to the source's ETag.

Such a copy cannot be proven identical to its source later from what S3 shows of both, so it
carries a record of what it was copied from in its user metadata (:class:`Provenance`: source
ETag, size, checksum if any). A destination object whose record names the source as it is now
is identical to it: the copy was pinned to that ETag. Where neither the content nor a record
proves it, a destination object is "not proven identical", never "different".
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from aws_copy_pt.core.provenance import Provenance
from aws_copy_pt.core.states import TransferState

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
TiB = 1024 * GiB
TB = 10**12  # S3 states its object-size limit in decimal terabytes

MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 50 * TB  # botocore's S3 model: "individual objects of up to 50 TB"
MAX_SINGLE_COPY_SIZE = 5 * GiB
# Above this, parallel UploadPartCopy beats one long CopyObject.
DEFAULT_MULTIPART_THRESHOLD = 256 * MiB
# Server-side parts cost a request each but move no data through us: few large parts, in
# parallel, are fastest (measured on moto: 1 GiB in 4-8 parts is 1.5x faster than in 32).
PREFERRED_MIN_PART_SIZE = 128 * MiB
TARGET_PARTS = 16

DEFAULT_CHECKSUM_ALGORITHM = "CRC64NVME"
# Algorithms S3 can compute over a whole multipart object (ChecksumType=FULL_OBJECT).
FULL_OBJECT_ALGORITHMS = frozenset({"CRC64NVME", "CRC32", "CRC32C"})
CHECKSUM_ALGORITHMS = ("CRC64NVME", "CRC32C", "CRC32", "SHA256", "SHA1")

_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")


class CopyMethod(StrEnum):
    SINGLE = "single"  # one CopyObject
    MULTIPART = "multipart"  # CreateMultipartUpload + UploadPartCopy + Complete


class ConflictPolicy(StrEnum):
    OVERWRITE = "overwrite"
    FAIL = "fail"


class Destination(StrEnum):
    """What is at the destination key before copying."""

    ABSENT = "absent"
    IDENTICAL = "identical"
    DIFFERENT = "different"
    UNSURE = "unsure"  # same size, but nothing comparable in what we know yet


class Action(StrEnum):
    COPY = "copy"
    SKIP = "skip"
    FAIL = "fail"
    INSPECT = "inspect"  # fetch checksums of both sides, then decide again


class Match(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    SUSPECT = "suspect"  # ETags differ, but one may be a KMS ETag (no MD5): inspect to know
    UNKNOWN = "unknown"  # nothing comparable: sizes decide


class VerifyMethod(StrEnum):
    CHECKSUM = "checksum"
    ETAG = "etag"
    SIZE = "size"


@dataclass(frozen=True)
class Checksum:
    algorithm: str  # CRC64NVME, CRC32, CRC32C, SHA256, SHA1...
    value: str  # base64, as S3 reports it; composite values end in "-<parts>"

    @property
    def is_composite(self) -> bool:
        """A checksum of part checksums: it depends on the part layout, not just the content."""
        return "-" in self.value

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


@dataclass(frozen=True)
class ObjectFacts:
    """What S3 said about one object: from a listing, a HEAD, or a copy's answer."""

    size: int | None = None
    etag: str | None = None  # normalized: no quotes
    checksum: Checksum | None = None
    algorithms: tuple[str, ...] = ()  # checksum algorithms a listing says it has
    # Encrypted so that the ETag is no MD5 of the content (SSE-KMS, SSE-C); None: not known
    # (listings do not say).
    kms_or_sse_c: bool | None = None
    copied_from: Provenance | None = None  # a copy's record of its source (HEAD only)

    @property
    def etag_looks_like_md5(self) -> bool:
        """Single-part shaped ETag: the content's MD5 unless the object is SSE-KMS / SSE-C."""
        return self.etag is not None and bool(_MD5_ETAG.match(self.etag))

    @property
    def etag_is_md5(self) -> bool:
        """The ETag is known to be the MD5 of the content."""
        return self.etag_looks_like_md5 and self.kms_or_sse_c is False


@dataclass(frozen=True)
class CopyPlan:
    method: CopyMethod
    checksum_algorithm: str  # what S3 is asked to compute during the copy
    part_size: int | None = None  # multipart only


@dataclass(frozen=True)
class Part:
    number: int  # 1-based
    first: int  # first byte, inclusive
    last: int  # last byte, inclusive

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def byte_range(self) -> str:
        return f"bytes={self.first}-{self.last}"


# --- keys ----------------------------------------------------------------------------------


def normalize_etag(etag: str | None) -> str | None:
    """``"abc"`` / ``&quot;abc&quot;`` (as some stores send it) -> ``abc``."""
    if etag is None:
        return None
    return html.unescape(etag).strip().strip('"') or None


def quoted_etag(etag: str) -> str:
    """The ETag as S3 expects it in ``If-Match`` style headers."""
    return f'"{etag}"'


def normalize_prefix(prefix: str) -> str:
    """A prefix is a folder: ``a/b`` and ``/a/b/`` both mean ``a/b/``; empty means everything."""
    cleaned = prefix.strip("/")
    return f"{cleaned}/" if cleaned else ""


def relative_key(source_prefix: str, source_key: str) -> str:
    """The key below the (folder) source prefix; the whole key when it is not below it."""
    prefix = normalize_prefix(source_prefix)
    return source_key[len(prefix) :] if prefix and source_key.startswith(prefix) else source_key


def destination_key(dest_prefix: str, relative: str) -> str:
    """Where ``relative`` lands below the (folder) destination prefix."""
    return normalize_prefix(dest_prefix) + relative


def common_prefix(keys: list[str]) -> str:
    """The longest prefix shared by all ``keys`` (narrows a listing to a batch)."""
    if not keys:
        return ""
    low, high = min(keys), max(keys)
    length = 0
    for a, b in zip(low, high, strict=False):
        if a != b:
            break
        length += 1
    return low[:length]


def list_start_after(first_key: str) -> str:
    """A ListObjectsV2 ``StartAfter`` that still includes ``first_key`` (it is exclusive)."""
    return first_key[:-1]


# --- sizes and parts -----------------------------------------------------------------------


def size_problem(size: int | None) -> str | None:
    """Why an object of ``size`` bytes cannot be copied, or None when it can."""
    if size is None:
        return "its size is unknown"
    if size < 0:
        return f"S3 reported an impossible size ({size})"
    if size > MAX_OBJECT_SIZE:
        return f"it is {size / TB:.1f} TB and S3 objects cannot exceed {MAX_OBJECT_SIZE // TB} TB"
    return None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:I?B)?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": TiB}


def parse_size(text: str) -> int:
    """Bytes from ``256MiB``, ``256M``, ``1.5GiB`` or ``5242880`` (units are binary, as in
    the aws CLI: 1 MB = 1 MiB); ValueError when it is none of those."""
    found = _SIZE.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a size (e.g. 256MiB, 1GiB or a number of bytes)")
    number, unit = found.groups()
    return int(float(number) * _UNITS[(unit or "").upper()])


def multipart_threshold_problem(threshold: int) -> str | None:
    """Why ``threshold`` cannot be a multipart threshold (5 MiB to 5 GiB), or None."""
    if MIN_PART_SIZE <= threshold <= MAX_SINGLE_COPY_SIZE:
        return None
    return "it must be from 5 MiB (S3's smallest part) to 5 GiB (the largest single CopyObject)"


def choose_method(size: int, threshold: int = DEFAULT_MULTIPART_THRESHOLD) -> CopyMethod:
    """Single CopyObject up to the threshold (never above 5 GiB, where it fails)."""
    limit = min(threshold, MAX_SINGLE_COPY_SIZE)
    return CopyMethod.SINGLE if size <= limit else CopyMethod.MULTIPART


def part_size_for(size: int, preferred: int | None = None) -> int:
    """A part size within S3's limits that needs at most 10,000 parts.

    Without a preference: about :data:`TARGET_PARTS` parts, none under
    :data:`PREFERRED_MIN_PART_SIZE`. Sizes are whole MiB.
    """
    smallest_allowed = max(MIN_PART_SIZE, _ceil_div(size, MAX_PARTS))
    wanted = (
        preferred
        if preferred is not None
        else max(PREFERRED_MIN_PART_SIZE, _ceil_div(size, TARGET_PARTS))
    )
    chosen = _round_up(max(wanted, smallest_allowed), MiB)
    return min(chosen, MAX_PART_SIZE)


def parts(size: int, part_size: int) -> Iterator[Part]:
    """The byte ranges of a multipart copy, in order."""
    if part_size <= 0:
        raise ValueError("part size must be positive")
    count = max(1, _ceil_div(size, part_size))
    if count > MAX_PARTS:
        raise ValueError(f"{count} parts exceed S3's limit of {MAX_PARTS}")
    for index in range(count):
        first = index * part_size
        yield Part(index + 1, first, min(size, first + part_size) - 1)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _round_up(value: int, unit: int) -> int:
    return _ceil_div(value, unit) * unit


# --- checksums -----------------------------------------------------------------------------


def plan_copy(
    source: ObjectFacts,
    *,
    threshold: int = DEFAULT_MULTIPART_THRESHOLD,
    part_size: int | None = None,
) -> CopyPlan:
    """Method, part size and the checksum S3 computes. Call :func:`size_problem` first."""
    assert source.size is not None
    method = choose_method(source.size, threshold)
    algorithm = copy_checksum_algorithm(source, method)
    if method is CopyMethod.SINGLE:
        return CopyPlan(method, algorithm)
    return CopyPlan(method, algorithm, part_size_for(source.size, part_size))


def copy_checksum_algorithm(source: ObjectFacts, method: CopyMethod) -> str:
    """Ask S3 for the source's own algorithm when its value can be compared afterwards."""
    known = source.checksum
    comparable = known is not None and not known.is_composite
    if (
        known is not None
        and comparable
        and (method is CopyMethod.SINGLE or known.algorithm in FULL_OBJECT_ALGORITHMS)
    ):
        return known.algorithm
    if method is CopyMethod.SINGLE and source.algorithms:
        return source.algorithms[0]
    return DEFAULT_CHECKSUM_ALGORITHM


def compare_content(expected: ObjectFacts, actual: ObjectFacts) -> tuple[Match, VerifyMethod]:
    """Do two objects hold the same bytes, as far as their checksums and ETags can tell?"""
    if expected.size is not None and actual.size is not None and expected.size != actual.size:
        return Match.MISMATCH, VerifyMethod.SIZE
    a, b = expected.checksum, actual.checksum
    if a and b and a.algorithm == b.algorithm and not a.is_composite and not b.is_composite:
        return (Match.MATCH if a.value == b.value else Match.MISMATCH), VerifyMethod.CHECKSUM
    if expected.etag_looks_like_md5 and actual.etag_looks_like_md5:
        if expected.etag == actual.etag:
            return Match.MATCH, VerifyMethod.ETAG
        certain = expected.etag_is_md5 and actual.etag_is_md5
        return (Match.MISMATCH if certain else Match.SUSPECT), VerifyMethod.ETAG
    return Match.UNKNOWN, VerifyMethod.SIZE


# --- the destination before copying ----------------------------------------------------------


def judge_destination(source: ObjectFacts, dest: ObjectFacts | None) -> Destination:
    """Is the object already at the destination, something else, or can't we tell yet?"""
    if dest is None:
        return Destination.ABSENT
    match, _ = compare_content(source, dest)
    if match is Match.MATCH:
        return Destination.IDENTICAL
    if match is Match.MISMATCH:
        return Destination.DIFFERENT
    if dest.copied_from is not None and dest.copied_from.names(source):
        return Destination.IDENTICAL  # our copy of this very source: pinned to its ETag
    if match is Match.UNKNOWN and source.etag is not None and source.etag == dest.etag:
        return Destination.IDENTICAL  # the same multipart layout of the same parts
    return Destination.UNSURE


def conflict_action(
    found: Destination, policy: ConflictPolicy, *, inspected: bool = False
) -> Action:
    """What to do given the destination. After inspection, "unsure" counts as different."""
    if found is Destination.ABSENT:
        return Action.COPY
    if found is Destination.IDENTICAL:
        return Action.SKIP
    if found is Destination.UNSURE and not inspected:
        return Action.INSPECT
    return Action.COPY if policy is ConflictPolicy.OVERWRITE else Action.FAIL


# --- the transfer after a run ----------------------------------------------------------------


def outcome_state(
    *,
    verified: int,
    skipped: int,
    failed: int,
    remaining: int,
    ended_early: bool,
    owed: int = 0,
    left_out: int = 0,
) -> TransferState | None:
    """Where a copy run leaves its transfer; None: it stays COPYING (stopped on request).

    All objects verified or skipped: DONE. None of them: FAILED. Otherwise PARTIAL. A run that
    ended early on a systemic failure counts its untried objects as not done. Two things keep
    a transfer whose objects are all done from DONE (PARTIAL instead): staging objects still
    ``owed`` a delete (it failed; a retry sends it), and files Globus left out of the task
    (``left_out``, skip_source_errors; only Globus can send them again).
    """
    if remaining and not ended_early:
        return None
    if failed + remaining == 0:
        return TransferState.PARTIAL if owed or left_out else TransferState.DONE
    if verified + skipped == 0:
        return TransferState.FAILED
    return TransferState.PARTIAL


# --- annotation ----------------------------------------------------------------------------

ANNOTATION_CHECKSUM_KEY = "source-checksum"
ANNOTATION_ETAG_KEY = "source-etag"
ANNOTATION_TASK_KEY = "globus-task-id"


def annotation(source: ObjectFacts, globus_task_id: str | None) -> dict[str, str]:
    """User metadata recording where the copy came from, as archive users expect."""
    notes: dict[str, str] = {}
    if source.checksum is not None:
        notes[ANNOTATION_CHECKSUM_KEY] = (
            f"{source.checksum.algorithm.lower()}:{source.checksum.value}"
        )
    elif source.etag is not None:
        notes[ANNOTATION_ETAG_KEY] = source.etag
    if globus_task_id:
        notes[ANNOTATION_TASK_KEY] = globus_task_id
    return notes
