"""The HTTP plumbing: routing, fault injection, delays and the request log.

The server accepts both request targets: an origin form (``/v20180820/jobs``) and the absolute
form a client sends to an HTTP proxy (``http://222222222222.s3-control.us-east-1.amazonaws.com
/v20180820/jobs``), which is how boto3 reaches it (see the package docstring).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .wire import ApiError, Request, Response, error_response

log = logging.getLogger(__name__)

Handler = Callable[..., Response]
GATE_TIMEOUT = 120.0  # a gate nobody releases lets its answer go after this long


@dataclass(frozen=True)
class RequestRecord:
    """One request the stand-in answered (or dropped: status 0)."""

    operation: str
    method: str
    path: str
    query: dict[str, list[str]]
    account_id: str
    status: int


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    pattern: str  # matched against the whole path; groups become handler arguments
    handler: Handler

    def match(self, request: Request) -> tuple[str, ...] | None:
        if request.method != self.method:
            return None
        found = re.fullmatch(self.pattern, request.path)
        return found.groups() if found else None


class DropConnection(Exception):
    """Close the connection without an answer (a client sees a timeout or a reset)."""


@dataclass
class Rule:
    """An injected answer, delay or dropped connection for matching requests."""

    operation: str | None
    remaining: int
    status: int = 500
    code: str = "InternalError"
    message: str = "We encountered an internal error. Please try again."
    after: bool = False  # run the real handler first (its effects happen), then answer this
    drop: bool = False
    seconds: float = 0.0

    def matches(self, operation: str) -> bool:
        return self.remaining > 0 and self.operation in (None, operation)

    def response(self) -> Response:
        if self.drop:
            raise DropConnection
        return error_response(self.status, self.code, self.message)


class AnswerGate:
    """Holds the answer to the next call of one operation, after it ran, until released: the
    operation's effects exist (a job was created) while the client still waits (and can be
    killed meanwhile)."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.reached = threading.Event()  # the operation ran; its answer is held
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def hold(self, timeout: float) -> None:
        self.reached.set()
        self._released.wait(timeout)


@dataclass
class Router:
    routes: list[Route] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _faults: list[Rule] = field(default_factory=list)
    _delays: list[Rule] = field(default_factory=list)
    _gates: list[AnswerGate] = field(default_factory=list)
    _log: list[RequestRecord] = field(default_factory=list)

    def add_gate(self, gate: AnswerGate) -> None:
        with self._lock:
            self._gates.append(gate)

    def _take_gate(self, operation: str) -> AnswerGate | None:
        with self._lock:
            for gate in self._gates:
                if gate.operation == operation:
                    self._gates.remove(gate)
                    return gate
        return None

    def add_fault(self, rule: Rule) -> None:
        with self._lock:
            self._faults.append(rule)

    def add_delay(self, rule: Rule) -> None:
        with self._lock:
            self._delays.append(rule)

    def clear(self) -> None:
        """Forget every injected fault and delay not used up yet."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            for gate in self._gates:
                gate.release()
            self._gates.clear()

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def dispatch(self, request: Request) -> Response:
        route, groups = self._find(request)
        operation = route.operation if route else "Unknown"
        delay = self._take(self._delays, operation)
        if delay is not None:
            time.sleep(delay.seconds)
        fault = self._take(self._faults, operation)
        status = 0
        try:
            if fault is not None and not fault.after:
                response = fault.response()
            else:
                response = self._call(route, groups, request)
                gate = self._take_gate(operation)
                if gate is not None:
                    gate.hold(GATE_TIMEOUT)
                if fault is not None:
                    response = fault.response()
            status = response.status
            return response
        finally:
            record = RequestRecord(
                operation,
                request.method,
                request.path,
                dict(request.query),
                request.account_id,
                status,
            )
            with self._lock:
                self._log.append(record)

    def _find(self, request: Request) -> tuple[Route | None, tuple[str, ...]]:
        for route in self.routes:
            groups = route.match(request)
            if groups is not None:
                return route, groups
        return None, ()

    def _take(self, rules: list[Rule], operation: str) -> Rule | None:
        """Consume one use of the first matching rule."""
        with self._lock:
            for rule in rules:
                if rule.matches(operation):
                    rule.remaining -= 1
                    return rule
        return None

    @staticmethod
    def _call(route: Route | None, groups: tuple[str, ...], request: Request) -> Response:
        if route is None:
            return error_response(404, "NotFound", f"No such operation: {request.path}")
        try:
            return route.handler(request, *groups)
        except ApiError as error:
            return error.response
        except Exception as exc:
            log.exception("S3 Control stand-in failed on %s %s", request.method, request.path)
            return error_response(500, "InternalError", f"stand-in error: {exc!r}")


def _make_handler(router: Router) -> type[BaseHTTPRequestHandler]:
    class StandInHandler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so stopping never waits on idle keep-alives.
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)  # absolute form when reached as a proxy
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=unquote(parts.path),
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={key.lower(): value for key, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
                host=parts.netloc or self.headers.get("Host", ""),
            )
            try:
                response = router.dispatch(request)
            except DropConnection:
                self.close_connection = True
                return
            self.send_response(response.status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the request log replaces stderr access logs

    return StandInHandler


class HTTPService:
    """A loopback ThreadingHTTPServer on a free port, run in a background thread."""

    def __init__(self, router: Router) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(router))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="s3control-standin",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
