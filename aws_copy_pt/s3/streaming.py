"""The requests of a streamed copy: ranged GETs from one store, uploads into another.

Each side is a :class:`StreamEnd`: its own client (credential, endpoint, region and checksum
settings from ``s3.clients``), bucket and request parameters. Reads are pinned to the source's
ETag with ``If-Match`` (a 412 is :class:`SourceChanged`); a store that ignores ``If-Match`` on
GET (``rclone serve s3``) is caught by comparing the ETag of every answer with the pin. A body
cut short (a reset connection) is read again, from the start of its range, a few times.

Uploads carry what proves them on arrival: Content-MD5 everywhere (every S3-compatible store
checks it), and on stores with flexible checksums (AWS) the part's CRC, with the whole object's
CRC at CompleteMultipartUpload (``ChecksumType=FULL_OBJECT``).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from aws_copy_pt.core.checksums import parse_goog_hash
from aws_copy_pt.core.copy_plan import normalize_etag, quoted_etag
from aws_copy_pt.core.route import StoreTraits
from aws_copy_pt.errors import AwsCopyPtError, RemoteError
from aws_copy_pt.s3.copier import ObjectHead, call, checksum_in, head_from_answer
from aws_copy_pt.s3.errors import error_code, translate

if TYPE_CHECKING:
    from aws_copy_pt.s3.clients import LazyS3

log = logging.getLogger(__name__)

READ_ATTEMPTS = 4  # a body cut short is read again this many times in all
# Bytes asked of an answer's body per read. urllib3's ``readinto`` reads into a temporary as
# large as asked (and http.client copies it once more) before it copies into our buffer: asked
# for a whole 16 MiB part, a GET in flight would hold up to 32 MiB outside the byte budget. In
# slices those temporaries stay this small.
READ_SLICE = 256 * 1024
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_CHANGED = {"PreconditionFailed", "412"}
_NO_TAGGING = {"NotImplemented", "501", "MethodNotAllowed", "405", "InvalidRequest"}


@dataclass(frozen=True)
class StreamEnd:
    """One side of a streamed copy."""

    s3: LazyS3
    bucket: str
    args: Mapping[str, Any]  # every request: ExpectedBucketOwner, RequestPayer
    traits: StoreTraits
    write_args: Mapping[str, Any] = field(default_factory=dict)  # ACL, storage class, SSE

    @property
    def client(self) -> Any:
        return self.s3.get()


@dataclass(frozen=True)
class SourceObject:
    """A HEAD of the source, with what only its raw headers say (GCS's ``x-goog-hash``)."""

    head: ObjectHead
    goog: dict[str, str]


class SourceChanged(RemoteError):
    """The source is no longer the version being copied (412, or another ETag answered)."""


@dataclass(frozen=True)
class Written:
    """What a store answered to a PutObject or CompleteMultipartUpload."""

    etag: str | None
    checksums: dict[str, str]
    version_id: str | None = None


def head_source(end: StreamEnd, key: str) -> SourceObject | None:
    """HEAD with checksums; None when the object does not exist."""
    try:
        answer: Mapping[str, Any] = end.client.head_object(
            Bucket=end.bucket, Key=key, ChecksumMode="ENABLED", **end.args
        )
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise translate(exc, operation="HeadObject", bucket=end.bucket, key=key) from exc
    except BotoCoreError as exc:
        raise translate(exc, operation="HeadObject", bucket=end.bucket, key=key) from exc
    return _source_object(answer)


def _source_object(answer: Mapping[str, Any]) -> SourceObject:
    """What a HEAD (or a whole GET) answer says about the object."""
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return SourceObject(head_from_answer(answer), parse_goog_hash(headers.get("x-goog-hash")))


def read_into(
    end: StreamEnd, key: str, etag: str, into: memoryview, first: int, *, ranged: bool
) -> SourceObject:
    """Fill ``into`` with the source's bytes from ``first`` on, pinned to ``etag``; what the
    answer says about the object (a whole GET, ``ranged=False``, says what a HEAD would)."""
    last = first + len(into) - 1
    problem: Exception | None = None
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            return _read_once(end, key, etag, into, first, last, ranged=ranged)
        except (BotoCoreError, OSError, ValueError) as exc:  # cut short: read it again
            problem = exc
            log.info("reading %s bytes %d-%d: %s (attempt %d)", key, first, last, exc, attempt)
    assert problem is not None
    if isinstance(problem, FlexibleChecksumError):  # the client checked the source's checksum
        raise RemoteError(
            f"verification failed: the bytes read from s3://{end.bucket}/{key} do not match its "
            f"checksum, {READ_ATTEMPTS} times ({problem}); nothing was written",
            hint="if it fails again, the stored object disagrees with its own checksum",
        ) from problem
    raise RemoteError(
        f"s3://{end.bucket}/{key}: bytes {first}-{last} could not be read after "
        f"{READ_ATTEMPTS} attempts ({problem})"
    ) from problem


def _read_once(
    end: StreamEnd, key: str, etag: str, into: memoryview, first: int, last: int, *, ranged: bool
) -> SourceObject:
    args: dict[str, Any] = {"Bucket": end.bucket, "Key": key, "IfMatch": quoted_etag(etag)}
    if ranged:
        args["Range"] = f"bytes={first}-{last}"
    else:
        args["ChecksumMode"] = "ENABLED"  # the answer stands in for a HEAD
    try:
        answer = end.client.get_object(**args, **end.args)
    except ClientError as exc:
        code = error_code(exc)
        if code in _CHANGED:
            raise _changed(end, key, etag, None) from exc
        raise translate(exc, operation="GetObject", bucket=end.bucket, key=key) from exc
    seen = normalize_etag(answer.get("ETag"))
    if seen is not None and seen != etag:  # a store that ignored If-Match
        answer["Body"].close()
        raise _changed(end, key, etag, seen)
    body = answer["Body"]
    try:
        filled = 0
        while filled < len(into):
            count = body.readinto(into[filled : filled + READ_SLICE])
            if not count:
                raise ValueError(f"the answer ended after {filled} of {len(into)} bytes")
            filled += count
        if body.read(1):  # a store that ignored Range: more than was asked for
            raise RemoteError(
                f"s3://{end.bucket}/{key}: GET answered more than bytes {first}-{last}"
            )
    finally:
        body.close()
    return _source_object(answer)


def _changed(end: StreamEnd, key: str, etag: str, seen: str | None) -> SourceChanged:
    now = f" (ETag {etag} -> {seen})" if seen else ""
    return SourceChanged(
        f"s3://{end.bucket}/{key} changed during the copy{now}: the ranged read pinned to "
        "its ETag was refused; nothing of it was kept",
        hint="make sure nothing rewrites source objects during a copy, then retry it",
    )


def source_tags(end: StreamEnd, key: str) -> str | None:
    """The source's tags as a Tagging header value; None when it has none, or the store keeps
    none (GCS's XML API has no tagging)."""
    try:
        answer = end.client.get_object_tagging(Bucket=end.bucket, Key=key, **end.args)
    except ClientError as exc:
        if error_code(exc) in _NO_TAGGING:
            return None
        raise translate(exc, operation="GetObjectTagging", bucket=end.bucket, key=key) from exc
    except BotoCoreError as exc:
        raise translate(exc, operation="GetObjectTagging", bucket=end.bucket, key=key) from exc
    tags = [(tag["Key"], tag["Value"]) for tag in answer.get("TagSet", [])]
    return urlencode(tags) if tags else None


def _proofs(md5_hex: str | None, checksum: tuple[str, str] | None) -> dict[str, Any]:
    proofs: dict[str, Any] = {}
    if md5_hex is not None:
        proofs["ContentMD5"] = base64.b64encode(bytes.fromhex(md5_hex)).decode()
    if checksum is not None:
        proofs[f"Checksum{checksum[0]}"] = checksum[1]
    return proofs


def put_whole(
    end: StreamEnd,
    key: str,
    body: Any,
    *,
    headers: Mapping[str, Any],
    md5_hex: str | None,
    checksum: tuple[str, str] | None,
) -> Written:
    """One PutObject (``headers``: content headers, Metadata, Tagging)."""
    args = {
        "Bucket": end.bucket,
        "Key": key,
        "Body": body,
        **end.args,
        **end.write_args,
        **headers,
        **_proofs(md5_hex, checksum),
    }
    answer = call("PutObject", end.bucket, key, lambda: end.client.put_object(**args))
    return _written(answer, checksum[0] if checksum else None)


def _written(answer: Mapping[str, Any], algorithm: str | None) -> Written:
    found = checksum_in(answer, algorithm) if algorithm else None
    return Written(
        normalize_etag(answer.get("ETag")),
        {found.algorithm: found.value} if found else {},
        answer.get("VersionId"),
    )


def create_upload(
    end: StreamEnd, key: str, *, headers: Mapping[str, Any], algorithm: str | None
) -> str:
    args: dict[str, Any] = {
        "Bucket": end.bucket,
        "Key": key,
        **end.args,
        **end.write_args,
        **headers,
    }
    if algorithm is not None:
        args["ChecksumAlgorithm"] = algorithm
        args["ChecksumType"] = "FULL_OBJECT"
    answer = call(
        "CreateMultipartUpload", end.bucket, key, lambda: end.client.create_multipart_upload(**args)
    )
    return str(answer["UploadId"])


def upload_part(
    end: StreamEnd,
    key: str,
    upload_id: str,
    number: int,
    body: Any,
    *,
    md5_hex: str | None,
    checksum: tuple[str, str] | None,
) -> str:
    """Upload one part; its ETag."""
    args = {
        "Bucket": end.bucket,
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": number,
        "Body": body,
        **end.args,
        **_proofs(md5_hex, checksum),
    }
    answer = call("UploadPart", end.bucket, key, lambda: end.client.upload_part(**args))
    etag = normalize_etag(answer.get("ETag"))
    if etag is None:
        raise RemoteError(f"UploadPart of part {number} of {key} gave no ETag")
    return etag


def listed_parts(end: StreamEnd, key: str, upload_id: str) -> dict[int, tuple[str, int]] | None:
    """The parts a store holds for an upload: number -> (ETag, size); None: no such upload."""
    found: dict[int, tuple[str, int]] = {}
    marker = 0
    while True:
        try:
            answer = end.client.list_parts(
                Bucket=end.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumberMarker=marker,
                **end.args,
            )
        except ClientError as exc:
            if error_code(exc) in ("NoSuchUpload", "404"):
                return None
            raise translate(exc, operation="ListParts", bucket=end.bucket, key=key) from exc
        except BotoCoreError as exc:
            raise translate(exc, operation="ListParts", bucket=end.bucket, key=key) from exc
        for part in answer.get("Parts", []):
            etag = normalize_etag(part.get("ETag")) or ""
            found[int(part["PartNumber"])] = (etag, int(part["Size"]))
        if not answer.get("IsTruncated"):
            return found
        marker = int(answer.get("NextPartNumberMarker") or 0)


def complete_upload(
    end: StreamEnd,
    key: str,
    upload_id: str,
    parts: list[dict[str, Any]],
    *,
    whole: tuple[str, str] | None,
    size: int,
) -> Written:
    """Complete with ``parts`` (PartNumber, ETag[, Checksum*]); ``whole``: the full-object CRC
    for a store with flexible checksums."""
    args: dict[str, Any] = {
        "Bucket": end.bucket,
        "Key": key,
        "UploadId": upload_id,
        "MultipartUpload": {"Parts": parts},
        **end.args,
    }
    if whole is not None:
        args[f"Checksum{whole[0]}"] = whole[1]
        args["ChecksumType"] = "FULL_OBJECT"
        args["MpuObjectSize"] = size
    answer = call(
        "CompleteMultipartUpload",
        end.bucket,
        key,
        lambda: end.client.complete_multipart_upload(**args),
    )
    return _written(answer, whole[0] if whole else None)


def abort_upload(end: StreamEnd, key: str, upload_id: str) -> str | None:
    """Abort an upload; its id when that failed (it is still billed)."""
    try:
        call(
            "AbortMultipartUpload",
            end.bucket,
            key,
            lambda: end.client.abort_multipart_upload(
                Bucket=end.bucket, Key=key, UploadId=upload_id, **end.args
            ),
        )
    except AwsCopyPtError as exc:
        cause = exc.__cause__
        if cause is not None and error_code(cause) in ("NoSuchUpload", "404"):
            return None
        log.warning("could not abort upload %s of %s: %s", upload_id, key, exc)
        return upload_id
    return None
