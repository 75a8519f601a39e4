"""S3's wire vocabulary as the fault proxy needs it: operation names, error and fake answers."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from urllib.parse import unquote

_TOP_LEVEL_ERROR = re.compile(rb"^\s*(?:<\?xml[^>]*\?>)?\s*<Error>.*?<Code>(.*?)</Code>", re.S)
_DELETED_KEY = re.compile(r"<Deleted>\s*<Key>(.*?)</Key>", re.S)
_REQUESTED_KEY = re.compile(r"<Object>\s*<Key>(.*?)</Key>", re.S)
_REQUESTED_OBJECT = re.compile(r"<Object>(.*?)</Object>", re.S)
_ELEMENT = re.compile(r"<(Key|ETag|VersionId)>(.*?)</\1>", re.S)
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
# A plausible ETag that matches nothing: what a lying store answers.
FAKE_ETAG = hashlib.md5(b"aws-copy-pt fault proxy: nothing was copied").hexdigest()

_BUCKET_OPERATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    # method -> (query parameter that selects it, operation); "" is the fallback
    "HEAD": (("", "HeadBucket"),),
    "GET": (
        ("list-type", "ListObjectsV2"),
        ("uploads", "ListMultipartUploads"),
        ("location", "GetBucketLocation"),
        ("versioning", "GetBucketVersioning"),
        ("versions", "ListObjectVersions"),
        ("policy", "GetBucketPolicy"),
        ("", "ListObjects"),
    ),
    "PUT": (("policy", "PutBucketPolicy"), ("", "CreateBucket")),
    "POST": (("delete", "DeleteObjects"),),
    "DELETE": (("policy", "DeleteBucketPolicy"), ("", "DeleteBucket")),
}
_OBJECT_OPERATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "HEAD": (("", "HeadObject"),),
    "GET": (
        ("uploadId", "ListParts"),
        ("tagging", "GetObjectTagging"),
        ("attributes", "GetObjectAttributes"),
        ("", "GetObject"),
    ),
    "POST": (("uploads", "CreateMultipartUpload"), ("uploadId", "CompleteMultipartUpload")),
    "DELETE": (
        ("uploadId", "AbortMultipartUpload"),
        ("tagging", "DeleteObjectTagging"),
        ("", "DeleteObject"),
    ),
}


def operation_of(
    method: str, has_key: bool, query: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    """The S3 operation of a path-style request (``Unknown`` when it is none we know)."""
    if has_key and method == "PUT":
        return _object_put(query, headers)
    table = _OBJECT_OPERATIONS if has_key else _BUCKET_OPERATIONS
    for parameter, operation in table.get(method, ()):
        if not parameter or parameter in query:
            return operation
    return "Unknown"


_SIGNING_HEADERS = frozenset({"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"})
# Standard headers that also say what a request does: its conditions, range and content digest.
_DESCRIBING = frozenset({"if-match", "if-none-match", "range", "content-md5"})


def described_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The x-amz-* headers that say what a request does (lower-case names), not how it is
    signed, plus its conditions (``if-match``...), ``range`` and ``content-md5``; the copy source
    is URL-decoded (``bucket/key``)."""
    found = {
        name: value
        for name, value in headers.items()
        if (name.startswith("x-amz-") and name not in _SIGNING_HEADERS) or name in _DESCRIBING
    }
    if "x-amz-copy-source" in found:
        source = unquote(found["x-amz-copy-source"]).lstrip("/")
        found["x-amz-copy-source"] = source.split("?versionId=", 1)[0]
    return found


def _object_put(query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    copy = "x-amz-copy-source" in headers
    if "partNumber" in query:
        return "UploadPartCopy" if copy else "UploadPart"
    if copy:
        return "CopyObject"
    return "PutObjectTagging" if "tagging" in query else "PutObject"


def error_body(code: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{code} (injected by the aws-copy-pt fault proxy)"
        "</Message><RequestId>FAULTPROXY</RequestId><HostId>faultproxy</HostId></Error>"
    ).encode()


def error_code_in(body: bytes) -> str | None:
    """The code of an ``<Error>`` document (even in a 200 answer), else None."""
    found = _TOP_LEVEL_ERROR.match(body)
    return None if found is None else found.group(1).decode(errors="replace")


def deleted_keys(body: bytes) -> tuple[str, ...]:
    """The keys a DeleteObjects answer reports deleted."""
    text = body.decode(errors="replace")
    return tuple(html.unescape(key) for key in _DELETED_KEY.findall(text))


def fake_success_body(operation: str) -> bytes:
    """A success answer for ``operation`` that a store sends without having done anything."""
    etag = f"&quot;{FAKE_ETAG}&quot;"
    stamp = "<LastModified>2024-01-01T00:00:00.000Z</LastModified>"
    if operation == "CopyObject":
        return f"<CopyObjectResult>{stamp}<ETag>{etag}</ETag></CopyObjectResult>".encode()
    if operation == "UploadPartCopy":
        return f"<CopyPartResult>{stamp}<ETag>{etag}</ETag></CopyPartResult>".encode()
    if operation == "CompleteMultipartUpload":
        return (
            f"<CompleteMultipartUploadResult><ETag>&quot;{FAKE_ETAG}-1&quot;</ETag>"
            "</CompleteMultipartUploadResult>"
        ).encode()
    return b""


def requested_keys(body: bytes) -> tuple[str, ...]:
    """The keys a DeleteObjects request asks to delete (nothing for other bodies)."""
    if b"<Delete" not in body[:200]:
        return ()
    text = body.decode(errors="replace")
    return tuple(html.unescape(key) for key in _REQUESTED_KEY.findall(text))


def requested_bounds(body: bytes) -> dict[str, str | None]:
    """What each key of a DeleteObjects request is bound to: ``etag:VALUE`` (unquoted),
    ``version:ID``, or None for an unconditional delete."""
    if b"<Delete" not in body[:200]:
        return {}
    bounds: dict[str, str | None] = {}
    for item in _REQUESTED_OBJECT.findall(body.decode(errors="replace")):
        fields = {name: html.unescape(value) for name, value in _ELEMENT.findall(item)}
        if "VersionId" in fields:
            bounds[fields["Key"]] = f"version:{fields['VersionId']}"
        elif "ETag" in fields:
            bounds[fields["Key"]] = f"etag:{fields['ETag'].strip(chr(34))}"
        else:
            bounds[fields["Key"]] = None
    return bounds


def access_key_of(authorization: str) -> str | None:
    """The access key id a SigV4 ``Authorization`` header names."""
    found = _CREDENTIAL.search(authorization)
    return None if found is None else found.group(1)
