"""The S3 side of a batch copy job: versioning and version ids of staged objects, the manifest
upload, and reading the completion report back. Every failure leaves as a typed error from
``s3.errors.translate`` (through ``copier.call``).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from aws_copy_pt.core.copy_plan import normalize_etag
from aws_copy_pt.s3.copier import call

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

VERSION_PAGE = 1000


def bucket_versioned(client: S3Client, bucket: str, owner: Mapping[str, Any]) -> bool:
    """Is versioning enabled (``Suspended`` writes ``null`` versions: treated as unversioned)?"""
    args = {k: v for k, v in owner.items() if k == "ExpectedBucketOwner"}
    answer = call(
        "GetBucketVersioning",
        bucket,
        None,
        lambda: client.get_bucket_versioning(Bucket=bucket, **args),
    )
    return answer.get("Status") == "Enabled"


def latest_versions(
    client: S3Client, bucket: str, keys: list[str], owner: Mapping[str, Any], *, prefix: str
) -> dict[str, str]:
    """The current version id of each of ``keys`` (sorted, all starting with ``prefix``), from
    ListObjectVersions over their range; a key with no current version is left out."""
    found = _versions_in_range(client, bucket, keys, owner, prefix)
    if keys and keys[0] not in found:
        # moto (5.2) skips the first key after a KeyMarker that names no key; AWS does not.
        # The first key is asked for on its own, which costs one request only where needed.
        found.update(_versions_in_range(client, bucket, keys[:1], owner, keys[0], marker=False))
    return found


def _versions_in_range(
    client: S3Client,
    bucket: str,
    keys: list[str],
    owner: Mapping[str, Any],
    prefix: str,
    *,
    marker: bool = True,
) -> dict[str, str]:
    wanted = set(keys)
    found: dict[str, str] = {}
    args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": VERSION_PAGE, **owner}
    start = _just_before(keys[0]) if keys and marker else ""
    if start > prefix:
        args["KeyMarker"] = start
    while True:
        page = call("ListObjectVersions", bucket, None, lambda: client.list_object_versions(**args))
        for version in page.get("Versions", []):
            if version.get("IsLatest") and version["Key"] in wanted:
                found[version["Key"]] = str(version["VersionId"])
        last = page.get("NextKeyMarker")
        if not page.get("IsTruncated") or (last is not None and last > keys[-1]):
            return found
        args["KeyMarker"] = last
        args["VersionIdMarker"] = page.get("NextVersionIdMarker")


def _just_before(key: str) -> str:
    """An exclusive KeyMarker that still lists ``key``: its last character one lower."""
    last = ord(key[-1])
    if last == 0 or 0xDC00 < last <= 0xE000:
        return key[:-1]
    return key[:-1] + chr(last - 1)


@dataclass(frozen=True)
class Uploaded:
    etag: str
    version_id: str | None


def upload_manifest(
    client: S3Client, bucket: str, key: str, body: IO[bytes], owner: Mapping[str, Any]
) -> Uploaded:
    """PUT the manifest (one request, SSE-S3); its ETag goes into CreateJob."""
    args = {k: v for k, v in owner.items() if k == "ExpectedBucketOwner"}
    answer = call(
        "PutObject",
        bucket,
        key,
        lambda: client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ServerSideEncryption="AES256",
            ContentType="text/csv",
            **args,
        ),
    )
    etag = normalize_etag(answer.get("ETag"))
    assert etag is not None, "S3 answered a PutObject without an ETag"
    return Uploaded(etag, answer.get("VersionId"))


def list_keys(client: S3Client, bucket: str, prefix: str, owner: Mapping[str, Any]) -> list[str]:
    """Every key under ``prefix`` (a report: an index and a few CSVs)."""
    args = {k: v for k, v in owner.items() if k == "ExpectedBucketOwner"}
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, **args}
    keys: list[str] = []
    while True:
        page = call("ListObjectsV2", bucket, None, lambda: client.list_objects_v2(**request))
        keys.extend(item["Key"] for item in page.get("Contents", []))
        token = page.get("NextContinuationToken")
        if not token:
            return keys
        request["ContinuationToken"] = token


def read_text(client: S3Client, bucket: str, key: str, owner: Mapping[str, Any]) -> str:
    """A small text object (a report index)."""
    body = _get(client, bucket, key, owner)
    try:
        return bytes(body.read()).decode("utf-8")
    finally:
        body.close()


def read_lines(client: S3Client, bucket: str, key: str, owner: Mapping[str, Any]) -> Iterator[str]:
    """The lines of a (report) object as text with their line ends, streamed: a report of a
    million tasks is never held in memory. Only ``\\n`` ends a line (what ``csv`` expects)."""
    body = _get(client, bucket, key, owner)
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    try:
        for chunk in body.iter_chunks(chunk_size=1024 * 1024):
            *lines, pending = (pending + decoder.decode(chunk)).split("\n")
            yield from (line + "\n" for line in lines)
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending
    finally:
        body.close()


def _get(client: S3Client, bucket: str, key: str, owner: Mapping[str, Any]) -> Any:
    args = {k: v for k, v in owner.items() if k == "ExpectedBucketOwner"}
    return call(
        "GetObject", bucket, key, lambda: client.get_object(Bucket=bucket, Key=key, **args)
    )["Body"]
