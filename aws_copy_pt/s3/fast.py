"""The fast path: CopyObject, ListObjectsV2 and HeadObject for one principal, sent by the CRT.

The copy engine's hot requests carry no body: one CopyObject (or HeadObject) per object and one
ListObjectsV2 per 1,000. :class:`FastS3` writes them from boto3-style parameters (headers from
``s3.arguments``), sends them through ``s3.crt`` and reads the answers into boto3's shapes
(``s3.answers``). Everything else (multipart, deletes, the control plane) stays with boto3.

A method returns None where boto3 should send the request instead: a parameter this path does
not write, a header value with CR/LF or outside ASCII, an endpoint the CRT must not reach
(``s3.endpoints``: ``NO_PROXY`` with a proxy set), or no answer at all (``crt.NoAnswer``:
boto3 then repeats the request under its own timeouts and retries). An error answer raises the
``ClientError`` botocore would have raised. Answers that boto3 handles differently (a redirect
to another region, a signature the store refuses although no request here ever succeeded) turn
this path off for the principal: boto3 follows redirects, and names rejected keys itself.

The boto3 client is built only when something needs it: for a custom endpoint the request URL
follows from the endpoint alone; on AWS one presigned URL per bucket names it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from aws_copy_pt.s3.answers import (
    CopyAnswer,
    ListPage,
    head_answer,
    parse_copy_result,
    parse_list_page,
)
from aws_copy_pt.s3.arguments import HEADERS, METADATA_PREFIX
from aws_copy_pt.s3.crt import CrtSender, NoAnswer, Reply, Started
from aws_copy_pt.s3.endpoints import Endpoints
from aws_copy_pt.s3.errors import error_code, translate

if TYPE_CHECKING:
    from aws_copy_pt.s3.clients import LazyS3, SigningKeys

log = logging.getLogger(__name__)

# Error codes after which boto3 takes over for good (see the module doc).
_REDIRECTS = frozenset(
    {"PermanentRedirect", "TemporaryRedirect", "301", "307", "AuthorizationHeaderMalformed"}
)
_REFUSED_SIGNATURE = frozenset({"SignatureDoesNotMatch"})
# Which parts of an answer are read (headers, body): each is one more call into Python.
_READ = {"ListObjectsV2": (False, True), "HeadObject": (True, False)}


class FastS3:
    """The fast path for one bucket principal (credentials, region, endpoint)."""

    def __init__(
        self,
        client: LazyS3,
        keys: SigningKeys,
        *,
        endpoint_url: str | None,
        region: str | None,
        ca_file: str | None,
    ) -> None:
        self._endpoints = Endpoints(client, endpoint_url, region, ca_file=ca_file)
        self._keys = keys
        self._ca_file = ca_file
        self._senders: dict[str, CrtSender] = {}
        self._lock = threading.Lock()
        self._succeeded = False
        self.off = False  # boto3 sends everything from now on

    # --- the three operations ------------------------------------------------------------------

    def copy(self, params: Mapping[str, Any]) -> CopyAnswer | None:
        """CopyObject with boto3-style ``params``; None means "ask boto3 instead"."""
        request = self._copy_request(params)
        if request is None:
            return None
        reply = self._send(*request)
        return None if reply is None else _copy_answer(reply)

    def start_copy(
        self, params: Mapping[str, Any], done: Callable[[CopyAnswer | Exception | None], None]
    ) -> Started | None:
        """CopyObject without waiting for its answer. None: not sent, ask boto3 instead.
        Otherwise ``done`` is called exactly once, on one of the CRT's threads (it must not wait
        for another answer), with the answer, None ("ask boto3": no answer, or one this path
        does not read) or the typed error (``s3.errors.translate``) of an error answer (any
        other exception is a bug, handed over too). ``cancel()`` on the
        returned request ends it early (``done`` then gets None)."""
        request = self._copy_request(params)
        prepared = None if request is None else self._prepare(*request)
        if prepared is None:
            return None
        sender, arguments = prepared

        def landed(value: Reply | BaseException) -> None:
            try:
                reply = self._settle("CopyObject", value)
                answer = None if reply is None else _copy_answer(reply)
            except ClientError as exc:  # as ``copier.call`` raises it
                error = translate(
                    exc, operation="CopyObject", bucket=params["Bucket"], key=params["Key"]
                )
                error.__cause__ = exc
                done(error)
                return
            except Exception as exc:  # a bug: the caller raises it where it can
                done(exc)
                return
            done(answer)

        return sender.start("CopyObject", "PUT", **arguments, done=landed)

    def _copy_request(
        self, params: Mapping[str, Any]
    ) -> tuple[str, str, str, str, dict[str, str], list[tuple[str, str]]] | None:
        headers = copy_headers(params)
        if headers is None:
            return None
        return "CopyObject", "PUT", params["Bucket"], params["Key"], {}, headers

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
        headers = parameter_headers(extra or {})
        if headers is None:
            return None
        reply = self._send("ListObjectsV2", "GET", bucket, None, query, headers)
        return None if reply is None else parse_list_page(reply.body)

    def head(
        self, bucket: str, key: str, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """HeadObject with checksums, as boto3's ``head_object`` answers; None means "ask
        boto3 instead". A missing object raises botocore's 404 ``ClientError``."""
        headers = parameter_headers({"ChecksumMode": "ENABLED", **(extra or {})})
        if headers is None:
            return None
        reply = self._send("HeadObject", "HEAD", bucket, key, {}, headers)
        return None if reply is None else head_answer(dict(reply.headers))

    def start_head(
        self,
        bucket: str,
        key: str,
        extra: Mapping[str, Any] | None,
        done: Callable[[dict[str, Any] | None], None],
    ) -> Started | None:
        """HeadObject with checksums without waiting for its answer. None: not sent. Otherwise
        ``done`` is called exactly once, on one of the CRT's threads, with the answer as boto3's
        ``head_object`` gives it, or None for anything else (an error answer, a missing object,
        no answer): the caller then HEADs again the ordinary way, which says what went wrong."""
        headers = parameter_headers({"ChecksumMode": "ENABLED", **(extra or {})})
        prepared = (
            None
            if headers is None
            else self._prepare("HeadObject", "HEAD", bucket, key, {}, headers)
        )
        if prepared is None:
            return None
        sender, arguments = prepared

        def landed(value: Reply | BaseException) -> None:
            try:
                reply = self._settle("HeadObject", value)
                answer = None if reply is None else head_answer(dict(reply.headers))
            except Exception:  # an error answer: the ordinary HEAD repeats it and names it
                answer = None
            done(answer)

        return sender.start("HeadObject", "HEAD", **arguments, done=landed)

    # --- sending -------------------------------------------------------------------------------

    def _send(
        self,
        operation: str,
        method: str,
        bucket: str,
        key: str | None,
        query: Mapping[str, str],
        headers: list[tuple[str, str]],
    ) -> Reply | None:
        prepared = self._prepare(operation, method, bucket, key, query, headers)
        if prepared is None:
            return None
        sender, arguments = prepared
        try:
            value: Reply | BaseException = sender.send(operation, method, **arguments)
        except (NoAnswer, ClientError) as exc:
            value = exc
        return self._settle(operation, value)

    def _prepare(
        self,
        operation: str,
        method: str,
        bucket: str,
        key: str | None,
        query: Mapping[str, str],
        headers: list[tuple[str, str]],
    ) -> tuple[CrtSender, dict[str, Any]] | None:
        """The sender and its arguments for one request; None: boto3 sends it."""
        if self.off:
            return None
        endpoint = self._endpoints.get(bucket)
        if endpoint is None:
            return None
        if key is None:
            path = endpoint.path_prefix.rstrip("/") or "/"
        else:
            path = endpoint.path_prefix + quote(key, safe="/~")
        encoded = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
        )
        arguments = {
            "scheme": endpoint.scheme,
            "host": endpoint.host,
            "target": f"{path}?{encoded}" if encoded else path,
            "headers": headers,
            "read": _READ.get(operation, (True, True)),
        }
        return self._sender(endpoint.region), arguments

    def _settle(self, operation: str, value: Reply | BaseException) -> Reply | None:
        """An answer (or its failure) as the caller sees it: the reply, None for "boto3 sends
        it" (no answer; or this path turned off), or the ``ClientError`` raised."""
        if isinstance(value, NoAnswer):
            log.debug("%s got no answer through the CRT (%s); boto3 repeats it", operation, value)
            return None
        if isinstance(value, ClientError):
            if self._hand_over(value):
                log.info("%s: %s; boto3 sends this principal's requests", operation, value)
                return None
            raise value
        if isinstance(value, BaseException):
            raise value
        self._succeeded = True
        return value

    def _hand_over(self, error: ClientError) -> bool:
        code = error_code(error)
        if code in _REDIRECTS or (code in _REFUSED_SIGNATURE and not self._succeeded):
            self.off = True
        return self.off

    def _sender(self, region: str) -> CrtSender:
        sender = self._senders.get(region)
        if sender is None:
            with self._lock:
                sender = self._senders.get(region)
                if sender is None:
                    sender = CrtSender(self._keys, region, ca_file=self._ca_file)
                    self._senders[region] = sender
        return sender


def _copy_answer(reply: Reply) -> CopyAnswer | None:
    parsed = parse_copy_result(reply.body)
    if parsed is None:
        log.debug("CopyObject answered 200 without a CopyObjectResult; boto3 repeats it")
        return None
    sse = reply.header("x-amz-server-side-encryption")
    version = reply.header("x-amz-copy-source-version-id")
    return CopyAnswer(parsed.etag, parsed.checksums, sse, version)


# --- headers -----------------------------------------------------------------------------------


def copy_headers(params: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """CopyObject's headers for boto3-style ``params``; None where this path cannot write them."""
    rest: dict[str, Any] = {}
    headers: list[tuple[str, str]] = []
    for name, value in params.items():
        if name in ("Bucket", "Key"):
            continue
        if name == "CopySource":
            if not isinstance(value, dict) or set(value) != {"Bucket", "Key"}:
                return None  # a version id or an ARN: boto3 knows how to write those
            headers.append((HEADERS[name], quote(f"{value['Bucket']}/{value['Key']}", safe="/~")))
        elif name == "Metadata":
            headers += [(METADATA_PREFIX + k, v) for k, v in value.items()]
        else:
            rest[name] = value
    more = parameter_headers(rest)
    if more is None or not _writable(headers):
        return None
    return headers + more


def parameter_headers(params: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """Headers for header-bound ``params``; None if one is unknown or cannot be written."""
    headers: list[tuple[str, str]] = []
    for name, value in params.items():
        header, rendered = HEADERS.get(name), _render(value)
        if header is None or rendered is None:
            return None
        headers.append((header, rendered))
    return headers if _writable(headers) else None


def _writable(headers: list[tuple[str, str]]) -> bool:
    """Printable ASCII only: no CR/LF (header injection) and nothing botocore would encode."""
    return all(
        (name + value).isascii() and "\r" not in value and "\n" not in value and name.isprintable()
        for name, value in headers
    )


def _render(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):  # naive: UTC, as botocore takes it
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return format_datetime(utc, usegmt=True)
    return None
