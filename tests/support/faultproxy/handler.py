"""The fault proxy's HTTP side: reads each request, asks its :class:`FaultProxy` what to do
(forward, answer itself, hold, fault), and writes the answer or the fault on the wire."""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.support.faultproxy.rules import ACTED, Answer, FaultKind, ProxyRecord, ProxyRequest
from tests.support.faultproxy.s3wire import (
    deleted_keys,
    error_body,
    error_code_in,
    fake_success_body,
)

if TYPE_CHECKING:
    from tests.support.faultproxy.proxy import FaultProxy

HANG_LIMIT_SECONDS = 60.0  # a held request is dropped after this, whatever the client does
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "expect", "te"}
)


class ProxyServer(ThreadingHTTPServer):
    request_queue_size = 1024  # clients that open hundreds of connections at once (s5cmd: 256)


def handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(_ProxyHandler):
        owner = proxy

    return Handler


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as S3 clients expect
    owner: FaultProxy

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        return  # the request log replaces access logs

    def _serve(self) -> None:
        request = self._read_request()
        record, gate, fault = self.owner.begin(request)
        try:
            if gate is not None and not gate.hold(self.owner.stopping):
                self._drop()
            else:
                self._answer(request, record, fault)
        except (OSError, http.client.HTTPException):
            # The client went away (killed, or gave up), or the server did: drop the connection.
            self.close_connection = True
        finally:
            self.owner.end(record)

    def _read_request(self) -> ProxyRequest:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(headers.get("content-length") or 0))
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        return ProxyRequest(self.command, unquote(parts.path), query, headers, body, self.path)

    def _read_chunked(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline(1024).split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def _answer(self, request: ProxyRequest, record: ProxyRecord, fault: FaultKind | None) -> None:
        if fault is None and (own := self.owner.own_answer(request)) is not None:
            record.status = own.status
            record.error_code = error_code_in(own.body)
            self.owner.pace(request, record, own)
            self._send(request, record, own)
            return
        if fault is None or fault in ACTED or fault is FaultKind.RESET_MID_BODY:
            answer = self.owner.forward(request)
            record.acted = self.owner.tick()
            record.reached_server = True
            record.server_status = record.status = answer.status
            record.error_code = error_code_in(answer.body)
            record.deleted_keys = deleted_keys(answer.body)
            if fault is None:
                self.owner.pace(request, record, answer)
                self._send(request, record, answer)
                return
            if fault is FaultKind.RESET_MID_BODY:
                self._send(request, record, answer, cut=True)
                return
        record.status = None
        if fault in (FaultKind.RESET, FaultKind.RESET_AFTER):
            self._reset()
        elif fault in (FaultKind.TIMEOUT, FaultKind.TIMEOUT_AFTER):
            self._hang()
        elif fault is FaultKind.FALSE_SUCCESS:
            record.status = 200
            self._send(request, record, Answer(200, [], fake_success_body(request.operation)))
        else:
            self._send(request, record, _error_answer(request, record, fault))

    def _send(
        self, request: ProxyRequest, record: ProxyRecord, answer: Answer, *, cut: bool = False
    ) -> None:
        """Send ``answer``; ``cut``: only the first half of its body, then a reset."""
        record.answered = self.owner.tick()  # before the first byte: the client has nothing yet
        self.send_response_only(answer.status)
        length = None
        for name, value in answer.headers:
            if name.lower() == "content-length":
                length = value
            elif name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if request.method == "HEAD":
            self.send_header("Content-Length", length or "0")
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if cut:
            self.wfile.write(answer.body[: len(answer.body) // 2])
            self.wfile.flush()
            self._reset()
            return
        self.wfile.write(answer.body)

    def _reset(self) -> None:
        """Close with RST, as a crashed server or a broken middlebox does."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _hang(self) -> None:
        """Answer nothing until the client gives up (closes) or the limit is reached."""
        self.close_connection = True
        deadline = time.monotonic() + HANG_LIMIT_SECONDS
        while time.monotonic() < deadline and not self.owner.stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.1)
            if readable:  # closed by the client (or, unexpectedly, written to): stop holding
                return


def _error_answer(request: ProxyRequest, record: ProxyRecord, fault: FaultKind) -> Answer:
    status, code = _ERRORS[fault]
    if request.method == "HEAD":  # no body: S3 answers a HEAD with its status alone
        status = 500 if status == 200 else status
        record.status = status
        return Answer(status, [], b"")
    record.status, record.error_code = status, code
    return Answer(status, [("Content-Type", "application/xml")], error_body(code))


_ERRORS: dict[FaultKind, tuple[int, str]] = {
    FaultKind.SLOW_DOWN: (503, "SlowDown"),
    FaultKind.INTERNAL_ERROR: (500, "InternalError"),
    FaultKind.ERROR_IN_200: (200, "InternalError"),
    FaultKind.NOT_IMPLEMENTED: (501, "NotImplemented"),
}
