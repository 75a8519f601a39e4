"""The fast path's transport: body-less S3 requests sent by the AWS Common Runtime (awscrt).

Copying small objects is bound by client CPU: botocore spends ~2 ms per request outside the
network. The CRT signs (SigV4), pools connections, speaks HTTP/1.1 and TLS (s2n), honours
``HTTPS_PROXY``/``HTTP_PROXY``, and retries in C; a request costs this process ~0.2 ms.

One ``awscrt.s3.S3Client`` per endpoint (scheme, host and port) and transport setting (trust
store, the proxy variables, the retry policy) is shared by every bucket and principal of the
process: each request carries its own signing configuration (credentials provider and region).
Per endpoint, because the pinned awscrt (0.38.1) keys its connections by host name alone: a
client that has talked to ``127.0.0.1:9000`` sends a request for ``127.0.0.1:9100`` to port 9000
(``tests/functional/test_fast_path_transport.py`` holds this).

* Trust: the CA bundle boto3 would use (``ClientFactory.ca_bundle``: ``AWS_CA_BUNDLE``, the
  profile's ``ca_bundle``, else botocore's default bundle), never the CRT's own default.
* Retries: the CRT's ``ADAPTIVE`` mode, as botocore's ``adaptive`` (which the boto3 clients
  use): exponential back-off with jitter, a retry token bucket, and client-side rate limiting
  once S3 throttles, with 8 attempts as boto3's. It retries 5xx, ``SlowDown``, a "200 OK" with an
  ``<Error>`` body, a skewed clock and broken connections. Its final error answer is raised, not
  retried again by boto3 (throttling never doubles); only a request with no answer at all is
  handed to boto3.
* In flight: at most :data:`MAX_IN_FLIGHT` requests at once (a window shared by all callers).
  :meth:`CrtSender.send` waits for its answer (a worker thread per request);
  :meth:`CrtSender.start` does not: the answer is handed to a callback on the CRT's thread, so
  one thread can keep hundreds of requests in flight (``services.copy.flight`` bounds them).
* Time: an answer not complete after :data:`ANSWER_TIMEOUT` seconds is cancelled (botocore's
  read timeout is 300 s too: a large CopyObject can take minutes; the caller of
  :meth:`CrtSender.start` watches its own) and reported as a transport failure, which the
  caller hands to boto3.

Errors: an error answer raises the ``ClientError`` botocore would raise (``s3.answers``); no
answer at all (refused, reset after the retries, cancelled) raises :class:`NoAnswer`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from awscrt import auth, io, s3
from awscrt.http import HttpHeaders, HttpRequest

from aws_copy_pt import __version__
from aws_copy_pt.s3.answers import error_from_answer, error_from_crt

log = logging.getLogger(__name__)

USER_AGENT = f"aws-copy-pt/{__version__} fast"
ANSWER_TIMEOUT = 300.0
MAX_IN_FLIGHT = 512
# The CRT opens connections per endpoint from its throughput target: 2.5 per Gbps (10 Gbps, its
# default, gives 25). Body-less requests move no data through this host, so the target is set
# for as many connections as requests may be in flight, not for bandwidth.
CONNECTIONS = 256
_CONNECTIONS_PER_GBPS = 2.5
_MEMORY_LIMIT = 1024**3  # the CRT's floor is 256 MiB; it buffers no object data here
_PROXY_VARIABLES = tuple(
    f"{name}_{suffix}" for name in ("https", "http", "no") for suffix in ("proxy", "PROXY")
)


@dataclass(frozen=True)
class Retries:
    """The CRT's retry policy (botocore ``adaptive`` with 8 attempts, as the boto3 clients)."""

    attempts: int = 8
    backoff_ms: int = 500  # base delay, doubled per attempt, with full jitter
    max_backoff_s: int = 20


RETRIES = Retries()


@dataclass(frozen=True)
class Reply:
    """A successful answer: status, headers as sent, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


class NoAnswer(Exception):
    """S3 gave no answer (connection refused or reset after the retries, cancelled)."""


@dataclass(frozen=True)
class _Setting:
    """What one shared S3Client is built with."""

    tls: bool
    authority: str  # host[:port]
    ca_file: str | None
    proxies: tuple[tuple[str, str], ...]
    retries: Retries


_clients: dict[_Setting, s3.S3Client] = {}
_clients_lock = threading.Lock()
_window = threading.BoundedSemaphore(MAX_IN_FLIGHT)


def _client(setting: _Setting) -> s3.S3Client:
    with _clients_lock:
        client = _clients.get(setting)
        if client is None:
            client = _clients[setting] = _new_client(setting)
        return client


def _new_client(setting: _Setting) -> s3.S3Client:
    tls = None
    if setting.tls:
        options = io.TlsContextOptions()
        if setting.ca_file:
            options.override_default_trust_store_from_path(ca_filepath=setting.ca_file)
        tls = io.ClientTlsContext(options).new_connection_options()
    retries = setting.retries
    return s3.S3Client(
        region="us-east-1",  # each request's signing configuration names its own
        tls_mode=s3.S3RequestTlsMode.ENABLED if setting.tls else s3.S3RequestTlsMode.DISABLED,
        tls_connection_options=tls,
        retry_config=s3.S3RetryConfig(
            retry_mode=s3.S3RetryMode.ADAPTIVE,
            max_retries=max(1, retries.attempts - 1),
            backoff_scale_factor_ms=retries.backoff_ms,
            max_backoff_secs=retries.max_backoff_s,
        ),
        connect_timeout_ms=10_000,  # botocore's connect_timeout
        throughput_target_gbps=CONNECTIONS / _CONNECTIONS_PER_GBPS,
        memory_limit=_MEMORY_LIMIT,
    )


def credentials_provider(keys: Any) -> auth.AwsCredentialsProvider:
    """A CRT provider for ``keys`` (``s3.clients.SigningKeys``): fixed keys as they are, a
    botocore credential (a profile, an assumed role) asked at every signing, so it refreshes
    itself exactly as it does for boto3."""
    from aws_copy_pt.s3.clients import StaticKeys

    if isinstance(keys, StaticKeys):
        fixed = keys.keys
        return auth.AwsCredentialsProvider.new_static(*fixed)
    cache: list[tuple[tuple[str, str, str | None], auth.AwsCredentials]] = []

    def current() -> auth.AwsCredentials:
        frozen = keys.get_frozen_credentials()
        triple = (frozen.access_key, frozen.secret_key, frozen.token)
        if not cache or cache[0][0] != triple:
            cache[:] = [(triple, auth.AwsCredentials(*triple))]
        return cache[0][1]

    return auth.AwsCredentialsProvider.new_delegate(current)


class CrtSender:
    """Sends requests signed as one principal for one region over the shared CRT clients."""

    def __init__(self, keys: Any, region: str, *, ca_file: str | None) -> None:
        self._signing = auth.AwsSigningConfig(
            credentials_provider=credentials_provider(keys),
            region=region,
            service="s3",
            use_double_uri_encode=False,
            should_normalize_uri_path=False,
            signed_body_header_type=auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
        )
        self._ca_file = ca_file

    def send(
        self,
        operation: str,
        method: str,
        *,
        scheme: str,
        host: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        read: tuple[bool, bool] = (True, True),
    ) -> Reply:
        """One request, waited for; raises botocore's ``ClientError`` for an error answer,
        :class:`NoAnswer` for none. ``read``: whether the answer's headers and body are wanted
        (each is one more call into Python from the CRT's threads)."""
        box = _Box()
        started = self.start(
            operation,
            method,
            scheme=scheme,
            host=host,
            target=target,
            headers=headers,
            read=read,
            done=box.put,
        )
        if not box.landed.acquire(timeout=ANSWER_TIMEOUT):
            started.cancel()
            box.landed.acquire()
            raise NoAnswer(f"no answer to {operation} within {ANSWER_TIMEOUT:g} s")
        if isinstance(box.value, BaseException):
            raise box.value
        assert box.value is not None
        return box.value

    def start(
        self,
        operation: str,
        method: str,
        *,
        scheme: str,
        host: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        read: tuple[bool, bool],
        done: Landed,
    ) -> Started:
        """Send one request without waiting: ``done`` is called exactly once, from one of the
        CRT's threads, with the :class:`Reply`, the ``ClientError`` of an error answer or a
        :class:`NoAnswer`. It must not wait for another CRT answer (it runs on the thread that
        would deliver it). Blocks only while :data:`MAX_IN_FLIGHT` requests are out."""
        setting = _Setting(scheme == "https", host, self._ca_file, _proxy_environment(), RETRIES)
        client = _client(setting)
        fields = [("Host", host), ("User-Agent", USER_AGENT), *headers]
        if method in ("PUT", "POST"):
            fields.append(("Content-Length", "0"))
        request = HttpRequest(method, target, HttpHeaders(fields))
        outcome = _Outcome(operation, done)
        _window.acquire()
        try:
            started: Started = client.make_request(
                type=s3.S3RequestType.DEFAULT,
                request=request,
                operation_name=operation,
                signing_config=self._signing,
                on_headers=outcome.on_headers if read[0] else None,
                on_body=outcome.on_body if read[1] else None,
                on_done=outcome.on_done,
            )
        except BaseException:
            _window.release()
            raise
        return started


Landed = Callable[["Reply | BaseException"], None]


class Started(Protocol):
    """A request in flight (``awscrt.s3.S3Request``)."""

    def cancel(self) -> None:
        """End it early: its ``done`` then gets a :class:`NoAnswer`."""


class _Box:
    """One answer handed from the CRT's thread to a waiting one."""

    __slots__ = ("landed", "value")

    def __init__(self) -> None:
        self.landed = threading.Lock()  # held until the answer is in: lighter than an Event
        self.landed.acquire()
        self.value: Reply | BaseException | None = None

    def put(self, value: Reply | BaseException) -> None:
        self.value = value
        self.landed.release()


class _Outcome:
    """Collects one request's answer from the CRT's callbacks (its own threads)."""

    __slots__ = (
        "body",
        "done",
        "error",
        "error_body",
        "error_headers",
        "headers",
        "operation",
        "status",
    )

    def __init__(self, operation: str, done: Landed) -> None:
        self.operation = operation
        self.done = done
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.error: Exception | None = None
        self.error_headers: list[tuple[str, str]] | None = None
        self.error_body: bytes | None = None

    def on_headers(self, status_code: int, headers: list[tuple[str, str]], **_: Any) -> None:
        self.status, self.headers = status_code, headers

    def on_body(self, chunk: Any, offset: int, **_: Any) -> None:
        self.body.append(bytes(chunk))

    def on_done(
        self,
        error: Exception | None,
        error_headers: list[tuple[str, str]] | None,
        error_body: bytes | None,
        status_code: int | None,
        **_: Any,
    ) -> None:
        self.error, self.error_headers, self.error_body = error, error_headers, error_body
        if status_code:
            self.status = status_code
        _window.release()
        value: Reply | BaseException
        try:
            value = self.result()
        except Exception as exc:  # handed over as the answer
            value = exc
        try:
            self.done(value)
        except BaseException:  # never into the CRT's thread: the caller's bug, logged
            log.exception("the handler of a %s answer failed", self.operation)

    def result(self) -> Reply:
        operation = self.operation
        if self.error is None:
            return Reply(self.status, self.headers, b"".join(self.body))
        if self.error_headers is not None and self.status:
            raise error_from_answer(
                operation, self.status, dict(self.error_headers), self.error_body
            )
        name = getattr(self.error, "name", type(self.error).__name__)
        known = error_from_crt(operation, name)
        if known is not None:
            raise known
        raise NoAnswer(f"{operation}: {name}")


def _proxy_environment() -> tuple[tuple[str, str], ...]:
    """The proxy variables now: the CRT reads them when it connects, so a client is kept per
    set of values."""
    environ = os.environ
    return tuple((name, environ[name]) for name in _PROXY_VARIABLES if name in environ)
