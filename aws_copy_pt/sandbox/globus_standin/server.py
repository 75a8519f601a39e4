"""The HTTP plumbing: routing, fault injection, delays and the request log."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .models import RequestRecord
from .wire import JSON, ApiError, Request, Response, new_request_id

log = logging.getLogger(__name__)

Handler = Callable[..., Response]
TRANSFER_PREFIX = "/v0.10/"
TIMERS_PREFIXES = ("/jobs", "/v2/timer")


@dataclass(frozen=True)
class Route:
    methods: str  # "GET" or alternatives such as "GET|POST"
    pattern: str  # matched against the whole path; groups become handler arguments
    handler: Handler
    name: str = ""  # the operation, for call counting: "transfer.task_list"

    def match(self, request: Request) -> tuple[str, ...] | None:
        if request.method not in self.methods.split("|"):
            return None
        found = re.fullmatch(self.pattern, request.path)
        return found.groups() if found else None


@dataclass
class _Rule:
    """An injected answer or delay for requests matching ``method`` and ``pattern``."""

    method: str | None
    pattern: re.Pattern[str]
    remaining: int
    status: int = 503
    body: JSON | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def response(self, request: Request) -> Response:
        body = self.body if self.body is not None else default_error_body(self.status, request.path)
        return Response(self.status, body, self.headers)

    def matches(self, request: Request) -> bool:
        method_ok = self.method is None or self.method.upper() == request.method
        return method_ok and self.remaining > 0 and bool(self.pattern.search(request.path))


def default_error_body(status: int, path: str) -> JSON:
    """An error document in the style of the service that owns ``path``."""
    code = HTTPStatus(status).phrase.replace(" ", "")
    message = f"{HTTPStatus(status).phrase} (injected by the Globus stand-in)"
    if path.startswith(TRANSFER_PREFIX):
        return {"code": code, "message": message, "request_id": new_request_id(), "resource": path}
    if path.startswith(TIMERS_PREFIXES):
        return {"error": {"code": code.upper(), "detail": message, "status": status}}
    return {
        "errors": [{"status": str(status), "code": code, "title": message}],
        "error": code.lower(),
    }


@dataclass
class Router:
    routes: list[Route] = field(default_factory=list)
    # Runs before each request is answered (the stand-in releases due timer runs here).
    before_dispatch: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _faults: list[_Rule] = field(default_factory=list)
    _delays: list[_Rule] = field(default_factory=list)
    _log: list[RequestRecord] = field(default_factory=list)

    def inject(
        self,
        method: str | None,
        path_regex: str,
        *,
        status: int,
        body: JSON | None,
        headers: Mapping[str, str],
        times: int,
    ) -> None:
        rule = _Rule(method, re.compile(path_regex), times, status, body, headers)
        with self._lock:
            self._faults.append(rule)

    def delay(self, method: str | None, path_regex: str, seconds: float, times: int) -> None:
        with self._lock:
            self._delays.append(_Rule(method, re.compile(path_regex), times, seconds=seconds))

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def dispatch(self, request: Request) -> Response:
        delay = self._take(self._delays, request)
        if delay is not None:
            time.sleep(delay.seconds)
        if self.before_dispatch is not None:
            self.before_dispatch()
        found = self._match(request)
        fault = self._take(self._faults, request)
        response = fault.response(request) if fault else self._route(request, found)
        name = found[0].name if found else ""
        record = RequestRecord(request.method, request.path, request.query, response.status, name)
        with self._lock:
            self._log.append(record)
        return response

    def _take(self, rules: list[_Rule], request: Request) -> _Rule | None:
        """Consume one use of the first matching rule."""
        with self._lock:
            for rule in rules:
                if rule.matches(request):
                    rule.remaining -= 1
                    return rule
        return None

    def _match(self, request: Request) -> tuple[Route, tuple[str, ...]] | None:
        for route in self.routes:
            groups = route.match(request)
            if groups is not None:
                return route, groups
        return None

    def _route(self, request: Request, found: tuple[Route, tuple[str, ...]] | None) -> Response:
        if found is None:
            return Response(404, default_error_body(404, request.path))
        route, groups = found
        try:
            return route.handler(request, *groups)
        except ApiError as error:
            return error.response
        except Exception as exc:
            # A bug or a failing hook: answer 500 like a real server would.
            log.exception("Globus stand-in failed on %s %s", request.method, request.path)
            body = default_error_body(500, request.path)
            text = f"stand-in error: {exc!r}"
            if isinstance(body.get("error"), dict):
                body["error"]["detail"] = text  # Timers errors carry their text there
            else:
                body["message"] = text
            return Response(500, body)


def _make_handler(router: Router) -> type[BaseHTTPRequestHandler]:
    class StandInHandler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so stopping never waits on idle keep-alives.
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query=query,
                headers={key.lower(): value for key, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            self._send(router.dispatch(request))

        def _send(self, response: Response) -> None:
            payload = response.encoded()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            # The request log replaces stderr access logs (which would clutter test output).
            return

    return StandInHandler


class HTTPService:
    """A loopback ThreadingHTTPServer on a free port, run in a background thread."""

    def __init__(self, router: Router) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(router))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> None:
        # A short poll interval keeps shutdown() fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="globus-standin",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
