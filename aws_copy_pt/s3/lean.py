"""Lean CopyObject and ListObjectsV2: signed by hand, sent over kept-alive connections.

Copying small objects is bound by client CPU: botocore spends ~2 ms per request (serialising,
endpoint rules, events, signing, parsing - and for listings ~0.3 ms per object just to parse
``LastModified`` with dateutil), about as much as the copy costs the server. The two requests
the engine makes per object or per 1,000 objects carry no body, so this module builds their
headers from botocore's own service model, signs them with SigV4 (payload: the empty body's
hash), sends them on one kept-alive connection per thread and reads the answer with the C XML
parser (or, for a copy, two regular expressions): about a tenth of the CPU.

It only ever handles success. Anything else - an error status, the "200 OK with an <Error>
body" S3 can send after a long copy, a broken connection, an unexpected answer - returns None
and the caller repeats the request through the boto3 client, which owns retries (adaptive,
SlowDown), error parsing and redirects. A throttling answer also sends every request through
boto3 for a while, so botocore's rate limiter governs the storm; a store that keeps refusing
the lean requests (say, a signature quirk) gets boto3 for good.

Hooks registered on the client's ``before-send.s3.<Operation>`` events (tests use them to inject
faults) see and may answer the lean requests exactly as they would botocore's.

The boto3 client itself is built only when it is needed (see ``s3.clients.LazyS3``): for a
custom endpoint the request URL follows from the endpoint alone (``s3.lean_endpoints``), and the
header names come from a table checked against botocore's model by the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import re
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, unquote_plus
from xml.etree import ElementTree

from aws_copy_pt import __version__
from aws_copy_pt.core.copy_plan import normalize_etag
from aws_copy_pt.s3.lean_endpoints import Endpoint, Endpoints
from aws_copy_pt.s3.lean_http import Answer, Connection

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from aws_copy_pt.s3.clients import LazyS3, SigningKeys

log = logging.getLogger(__name__)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
USER_AGENT = f"aws-copy-pt/{__version__} lean"
COOL_DOWN_SECONDS = 10.0
GIVE_UP_AFTER = 20  # lean requests refused in a row, with no success ever: use boto3 only
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_ETAG = re.compile(rb"<ETag>(.*?)</ETag>", re.S)
_CHECKSUM = re.compile(rb"<Checksum([A-Z0-9]+)>(.*?)</Checksum\1>", re.S)
_OWNER_HEADERS = {
    "ExpectedBucketOwner": "x-amz-expected-bucket-owner",
    "RequestPayer": "x-amz-request-payer",
}
# CopyObject parameters the engine may send, and their headers in botocore's S3 model (a unit
# test holds the two together). Any other parameter sends the copy through boto3.
COPY_HEADERS = {
    "ACL": "x-amz-acl",
    "CacheControl": "Cache-Control",
    "ChecksumAlgorithm": "x-amz-checksum-algorithm",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "ContentType": "Content-Type",
    "CopySourceIfMatch": "x-amz-copy-source-if-match",
    "Expires": "Expires",
    "MetadataDirective": "x-amz-metadata-directive",
    "TaggingDirective": "x-amz-tagging-directive",
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "StorageClass": "x-amz-storage-class",
    "WebsiteRedirectLocation": "x-amz-website-redirect-location",
    **_OWNER_HEADERS,
    "ExpectedSourceBucketOwner": "x-amz-source-expected-bucket-owner",
}


@dataclass(frozen=True)
class CopyAnswer:
    """What a successful CopyObject (lean or boto3) said about the new object."""

    etag: str | None
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm -> base64 value
    sse: str | None = None  # the destination's x-amz-server-side-encryption
    source_version: str | None = None  # x-amz-copy-source-version-id: the version copied


@dataclass(frozen=True)
class ListPage:
    """One ListObjectsV2 page, items shaped like boto3's ``Contents``."""

    contents: list[dict[str, Any]]
    next_token: str | None  # None: the last page


class LeanS3:
    """Sends CopyObject and ListObjectsV2 itself for one boto3 client's principal and region.

    ``endpoint_url`` and ``region`` must be the client's; with a custom endpoint they say where
    requests go without building the client.
    """

    def __init__(
        self,
        client: LazyS3,
        credentials: SigningKeys,
        *,
        timeout: float,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self._client = client
        self._credentials = credentials
        self._timeout = timeout
        self._endpoints = Endpoints(client, endpoint_url, region)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._signing_key: tuple[tuple[str, str, str], bytes] | None = None
        self._cool_until = 0.0
        self._refused = 0
        self._succeeded = False
        self._ssl: ssl.SSLContext | None = None

    # --- the two operations ------------------------------------------------------------------

    def copy(self, params: Mapping[str, Any]) -> CopyAnswer | None:
        """CopyObject with boto3-style ``params``; None means "ask boto3 instead"."""
        headers = self._copy_request_headers(params)
        if headers is None:
            return None
        answer = self._request("CopyObject", "PUT", params["Bucket"], params["Key"], {}, headers)
        parsed = None if answer is None else parse_copy_result(answer.status, answer.body)
        if answer is None or parsed is None:
            self._refused += 1
            return None
        self._succeeded = True
        sse = answer.headers.get("x-amz-server-side-encryption")
        version = answer.headers.get("x-amz-copy-source-version-id")
        return CopyAnswer(parsed.etag, parsed.checksums, sse, version)

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        start_after: str | None = None,
        token: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> ListPage | None:
        """One ListObjectsV2 page; None means "ask boto3 instead"."""
        query = {"list-type": "2", "prefix": prefix, "encoding-type": "url"}
        if start_after:
            query["start-after"] = start_after
        if token:
            query["continuation-token"] = token
        headers = {
            _OWNER_HEADERS[k]: str(v) for k, v in (extra or {}).items() if k in _OWNER_HEADERS
        }
        answer = self._request("ListObjectsV2", "GET", bucket, None, query, headers)
        page = None if answer is None or answer.status != 200 else parse_list_page(answer.body)
        if page is None:
            self._refused += 1
            return None
        self._succeeded = True
        return page

    def head(
        self, bucket: str, key: str, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """HeadObject with checksums, shaped like boto3's answer; None means "ask boto3
        instead" (a missing object too: boto3 raises its 404)."""
        headers = {
            _OWNER_HEADERS[k]: str(v) for k, v in (extra or {}).items() if k in _OWNER_HEADERS
        }
        headers["x-amz-checksum-mode"] = "ENABLED"
        answer = self._request("HeadObject", "HEAD", bucket, key, {}, headers)
        if answer is None or answer.status != 200:
            return None
        self._succeeded = True
        return head_answer(answer.headers)

    @property
    def _given_up(self) -> bool:
        return self._refused >= GIVE_UP_AFTER and not self._succeeded

    # --- requests ------------------------------------------------------------------------------

    def _request(
        self,
        operation: str,
        method: str,
        bucket: str,
        key: str | None,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> Answer | None:
        if time.monotonic() < self._cool_until or (
            self._refused >= GIVE_UP_AFTER and not self._succeeded
        ):
            return None
        endpoint = self._endpoints.get(bucket)
        if endpoint is None:
            return None
        if key is None:
            path = endpoint.path_prefix.rstrip("/") or "/"
        else:
            path = endpoint.path_prefix + quote(key, safe="/~")
        canonical_query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
        )
        signed = self._sign(method, endpoint, path, canonical_query, dict(headers))
        signed["user-agent"] = USER_AGENT  # not signed, as botocore does
        target = f"{path}?{canonical_query}" if canonical_query else path
        url = f"{endpoint.scheme}://{endpoint.host}{target}"
        answer = _hooked(self._client.built(), operation, method, url, signed)
        if answer is None:
            try:
                answer = self._send(endpoint, method, target, signed)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                log.debug("lean %s failed (%s); boto3 retries it", operation, exc)
                self._drop_connection(endpoint)
                return None
        if answer.status == 503 or b"<Code>SlowDown</Code>" in answer.body:
            self._cool_until = time.monotonic() + COOL_DOWN_SECONDS
            return None
        return answer

    def _copy_request_headers(self, params: Mapping[str, Any]) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        for name, value in params.items():
            if name in ("Bucket", "Key"):
                continue
            if name == "CopySource":
                headers["x-amz-copy-source"] = _copy_source(value)
            elif name == "Metadata":
                headers.update({f"x-amz-meta-{k}": v for k, v in value.items()})
            else:
                header, rendered = COPY_HEADERS.get(name), _render(value)
                if header is None or rendered is None:
                    return None  # something this path does not know: boto3 does it
                headers[header] = rendered
        return headers

    def _sign(
        self, method: str, endpoint: Endpoint, path: str, query: str, headers: dict[str, str]
    ) -> dict[str, str]:
        frozen = self._credentials.get_frozen_credentials()
        stamp = timestamp()
        day = stamp[:8]
        headers = {k.lower(): v for k, v in headers.items()}
        headers["host"] = endpoint.host
        headers["x-amz-date"] = stamp
        headers["x-amz-content-sha256"] = EMPTY_SHA256
        if frozen.token:
            headers["x-amz-security-token"] = frozen.token
        names = sorted(headers)
        canonical_headers = "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names)
        signed_names = ";".join(names)
        canonical = (
            f"{method}\n{path}\n{query}\n{canonical_headers}\n{signed_names}\n{EMPTY_SHA256}"
        )
        scope = f"{day}/{endpoint.region}/s3/aws4_request"
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
        key = self._key(frozen.secret_key or "", day, endpoint.region)
        signature = hmac.digest(key, to_sign.encode(), "sha256").hex()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, "
            f"SignedHeaders={signed_names}, Signature={signature}"
        )
        return headers

    def _key(self, secret: str, day: str, region: str) -> bytes:
        cached = self._signing_key
        if cached is not None and cached[0] == (secret, day, region):
            return cached[1]
        key = signing_key(secret, day, region)
        self._signing_key = ((secret, day, region), key)
        return key

    # --- connections ---------------------------------------------------------------------------

    def _send(
        self, endpoint: Endpoint, method: str, target: str, headers: Mapping[str, str]
    ) -> Answer:
        connection = self._connection(endpoint)
        answer, keep = connection.exchange(method, target, headers)
        if not keep:
            self._drop_connection(endpoint)
        return answer

    def _connection(self, endpoint: Endpoint) -> Connection:
        pool: dict[str, Connection] = self._local.__dict__.setdefault("pool", {})
        key = f"{endpoint.scheme}://{endpoint.host}"
        connection = pool.get(key)
        if connection is None:
            tls = self._tls() if endpoint.scheme == "https" else None
            connection = pool[key] = Connection(endpoint.address, tls, self._timeout)
        return connection

    def _tls(self) -> ssl.SSLContext:
        from botocore.httpsession import get_cert_path

        with self._lock:
            if self._ssl is None:
                self._ssl = ssl.create_default_context(cafile=get_cert_path(True) or None)
            return self._ssl

    def _drop_connection(self, endpoint: Endpoint) -> None:
        pool: dict[str, Connection] = self._local.__dict__.get("pool", {})
        connection = pool.pop(f"{endpoint.scheme}://{endpoint.host}", None)
        if connection is not None:
            connection.close()


# --- answers -----------------------------------------------------------------------------------


# HeadObject answer headers and the names boto3 gives them.
_HEAD_FIELDS = {
    "content-type": "ContentType",
    "content-encoding": "ContentEncoding",
    "content-disposition": "ContentDisposition",
    "content-language": "ContentLanguage",
    "cache-control": "CacheControl",
    "etag": "ETag",
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-customer-algorithm": "SSECustomerAlgorithm",
}


def head_answer(headers: Mapping[str, str]) -> dict[str, Any]:
    """A HeadObject answer's (lower-case) headers as boto3's ``head_object`` returns them."""
    answer: dict[str, Any] = {"Metadata": {}}
    for name, value in headers.items():
        if name.startswith("x-amz-meta-"):
            answer["Metadata"][name[len("x-amz-meta-") :]] = value
        elif name.startswith("x-amz-checksum-") and name != "x-amz-checksum-type":
            answer[f"Checksum{name[len('x-amz-checksum-') :].upper()}"] = value
        elif name in ("content-length", "x-amz-tagging-count") and value.isdigit():
            answer["ContentLength" if name == "content-length" else "TagCount"] = int(value)
        elif name in _HEAD_FIELDS:
            answer[_HEAD_FIELDS[name]] = value
    return answer


def parse_copy_result(status: int, body: bytes) -> CopyAnswer | None:
    """The ETag and checksums of a CopyObject success; None for anything else.

    S3 may answer 200 and then, after a long copy, put an ``<Error>`` in the body: that is a
    failure, as is any body that is not a ``CopyObjectResult``.
    """
    if status != 200 or b"<Error>" in body or b"CopyObjectResult" not in body:
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


def timestamp() -> str:
    """Now, as SigV4 writes it (``x-amz-date``)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def signing_key(secret: str, day: str, region: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _copy_source(value: Any) -> str:
    if not isinstance(value, dict) or "VersionId" in value:
        raise TypeError("the lean path takes CopySource={'Bucket': ..., 'Key': ...} only")
    return quote(f"{value['Bucket']}/{value['Key']}", safe="/~")


def _render(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):  # naive: UTC, as botocore takes it
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return format_datetime(utc, usegmt=True)
    return None


def _hooked(
    client: S3Client | None, operation: str, method: str, url: str, headers: dict[str, str]
) -> Answer | None:
    """What a ``before-send`` hook on the client answered instead of the server, if any.

    A client not built yet has no hooks. A hook may change the headers (tests corrupt requests
    this way): they are sent as left.
    """
    if client is None:
        return None
    from botocore.awsrequest import AWSPreparedRequest

    request = AWSPreparedRequest(method, url, cast(Any, headers), b"", False)
    hooked = client.meta.events.emit_until_response(  # type: ignore[attr-defined]
        f"before-send.s3.{operation}", request=request
    )[1]
    if hooked is None:
        return None
    return Answer(hooked.status_code, hooked.headers, hooked.content)
