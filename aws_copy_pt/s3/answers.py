"""S3's answers to the fast path's requests, read into what boto3 would have returned.

Successes become the shapes the copier already knows (:class:`CopyAnswer`, a ListObjectsV2 page
with boto3's ``Contents`` items, a HeadObject dict with boto3's keys). An error answer becomes a
botocore ``ClientError`` built exactly as botocore builds it (code and message from the XML body;
for a body-less answer the status as the code, as botocore does for HEAD), with the status and
headers in ``ResponseMetadata``, so ``s3.errors.translate`` gives the same hints (rejected keys,
access denied naming the permission, wrong region, skewed clock) whichever path sent the request.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote_plus
from xml.etree import ElementTree

from botocore.exceptions import ClientError

from aws_copy_pt.core.copy_plan import CHECKSUM_ALGORITHMS, normalize_etag

_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_ETAG = re.compile(rb"<ETag>(.*?)</ETag>", re.S)
_CHECKSUM = re.compile(rb"<Checksum([A-Z0-9]+)>(.*?)</Checksum\1>", re.S)
_CONTENT_HEADERS = {
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage",
    "content-type": "ContentType",
    "x-amz-website-redirect-location": "WebsiteRedirectLocation",
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
    "x-amz-server-side-encryption-customer-algorithm": "SSECustomerAlgorithm",
    "x-amz-checksum-type": "ChecksumType",
    "x-amz-version-id": "VersionId",
}
# What the CRT reports, once its own retries are spent, for answers it keeps to itself.
_CRT_ERRORS = {
    "AWS_ERROR_S3_INTERNAL_ERROR": (500, "InternalError", "We encountered an internal error"),
    "AWS_ERROR_S3_SLOW_DOWN": (503, "SlowDown", "Please reduce your request rate."),
    "AWS_ERROR_S3_REQUEST_TIME_TOO_SKEWED": (
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    ),
    "AWS_ERROR_S3_REQUEST_TIMEOUT": (400, "RequestTimeout", "Your socket connection timed out."),
}


@dataclass(frozen=True)
class CopyAnswer:
    """What a successful CopyObject (or multipart copy) said about the new object."""

    etag: str | None
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm -> base64 value
    sse: str | None = None  # the destination's x-amz-server-side-encryption
    source_version: str | None = None  # x-amz-copy-source-version-id: the version copied


@dataclass(frozen=True)
class ListPage:
    """One ListObjectsV2 page, items shaped like boto3's ``Contents``."""

    contents: list[dict[str, Any]]
    next_token: str | None  # None: the last page


def parse_copy_result(body: bytes) -> CopyAnswer | None:
    """The ETag and checksums of a CopyObject success; None when the body is no
    ``CopyObjectResult`` (S3 can answer 200 and put an ``<Error>`` in the body)."""
    if b"<Error>" in body or b"CopyObjectResult" not in body:
        return None
    etag = _ETAG.search(body)
    checksums = {m.group(1).decode(): m.group(2).decode().strip() for m in _CHECKSUM.finditer(body)}
    return CopyAnswer(normalize_etag(etag.group(1).decode()) if etag else None, checksums)


def parse_list_page(body: bytes) -> ListPage | None:
    """A ListObjectsV2 answer (``encoding-type=url``); None when it is not one."""
    try:
        # The parser botocore itself uses for S3's answers (expat guards against entity bombs).
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        return None
    if root.tag != f"{_S3_NS}ListBucketResult":
        return None
    contents = [_listed(item) for item in root.iter(f"{_S3_NS}Contents")]
    truncated = root.findtext(f"{_S3_NS}IsTruncated") == "true"
    token = root.findtext(f"{_S3_NS}NextContinuationToken") if truncated else None
    if truncated and not token:
        return None
    return ListPage(contents, token)


def _listed(item: ElementTree.Element) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Key": unquote_plus(item.findtext(f"{_S3_NS}Key") or ""),
        "Size": int(item.findtext(f"{_S3_NS}Size") or 0),
        "ETag": item.findtext(f"{_S3_NS}ETag"),
    }
    algorithms = [a.text for a in item.iter(f"{_S3_NS}ChecksumAlgorithm") if a.text]
    if algorithms:
        entry["ChecksumAlgorithm"] = algorithms
    return entry


def head_answer(headers: Mapping[str, str]) -> dict[str, Any]:
    """A HeadObject answer's headers as boto3's ``head_object`` returns them.

    ``headers`` keep the server's spelling: user metadata names come back as sent.
    """
    answer: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-meta-"):
            metadata[name[len("x-amz-meta-") :]] = value
        elif lower == "content-length":
            answer["ContentLength"] = int(value)
        elif lower == "etag":
            answer["ETag"] = value
        elif lower == "x-amz-tagging-count":
            answer["TagCount"] = int(value)
        elif lower == "expires":
            _expires(answer, value)
        elif lower.startswith("x-amz-checksum-") and lower[15:].upper() in CHECKSUM_ALGORITHMS:
            answer[f"Checksum{lower[15:].upper()}"] = value
        elif lower in _CONTENT_HEADERS:
            answer[_CONTENT_HEADERS[lower]] = value
    answer["Metadata"] = metadata
    return answer


def _expires(answer: dict[str, Any], value: str) -> None:
    """botocore reads ``Expires`` as a date, keeping the raw text when it is none."""
    answer["ExpiresString"] = value
    try:
        answer["Expires"] = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return


def error_from_answer(
    operation: str, status: int, headers: Mapping[str, str], body: bytes | None
) -> ClientError:
    """The ``ClientError`` botocore raises for this error answer."""
    error: dict[str, str] = {}
    if body and body.strip():
        try:
            root = ElementTree.fromstring(body)  # noqa: S314 (see parse_list_page)
        except ElementTree.ParseError:
            root = None
        if root is not None and root.tag.rpartition("}")[2] == "Error":
            error = {child.tag.rpartition("}")[2]: child.text or "" for child in root}
    bodiless = not error.get("Code")
    if bodiless:
        # botocore's answer for an error without a body (a HEAD): the status is the code.
        error = {"Code": str(status), "Message": http.client.responses.get(status, "")}
    error.setdefault("Message", "")
    lowered = {name.lower(): value for name, value in headers.items()}
    error.pop("RequestId", None)  # botocore takes these from the headers alone
    error.pop("HostId", None)
    metadata: dict[str, Any] = {"HTTPStatusCode": status, "HTTPHeaders": lowered}
    for name, header in (("RequestId", "x-amz-request-id"), ("HostId", "x-amz-id-2")):
        if header in lowered or bodiless:
            metadata[name] = lowered.get(header, "")
    metadata["RetryAttempts"] = 0
    response: Any = {"Error": error, "ResponseMetadata": metadata}
    return ClientError(response, operation)


def error_from_crt(operation: str, crt_error: str) -> ClientError | None:
    """The ``ClientError`` for a CRT failure that stands for an S3 answer the CRT retried and
    keeps to itself (a 500, SlowDown, a "200 OK" with an ``<Error>`` body, a skewed clock): its
    code and status, with S3's usual message; None for a transport failure."""
    known = _CRT_ERRORS.get(crt_error)
    if known is None:
        return None
    status, code, message = known
    return error_from_answer(operation, status, {}, _error_body(code, message))


def _error_body(code: str, message: str) -> bytes:
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
