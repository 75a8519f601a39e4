"""The smallest HTTP/1.1 client the lean S3 requests need.

``http.client`` parses every answer's headers with the ``email`` package, which costs as much
CPU as the rest of a small request; S3's answers to body-less requests need far less: a status,
a few headers, and a body of known length (or chunked). Anything unusual raises, and the caller
hands the request to boto3.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, lower-cased headers, body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Connection:
    """A kept-alive HTTP/1.1 connection for body-less requests (one thread uses it)."""

    def __init__(
        self, address: tuple[str, int], tls: ssl.SSLContext | None, timeout: float
    ) -> None:
        sock = socket.create_connection(address, timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=address[0])
        self._sock = sock
        self._reader = sock.makefile("rb")

    def exchange(self, method: str, target: str, headers: Mapping[str, str]) -> tuple[Answer, bool]:
        """Send one request; return the answer and whether the connection can be reused."""
        lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
        if method == "PUT":
            lines.append("content-length: 0")
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        while True:
            status, answer_headers = self._head()
            if status >= 200:
                break  # 1xx answers (100 Continue) are followed by the real one
        body = b"" if method == "HEAD" else self._body(answer_headers)
        keep = answer_headers.get("connection", "").lower() != "close"
        return Answer(status, answer_headers, body), keep

    def _head(self) -> tuple[int, dict[str, str]]:
        status_line = self._reader.readline(65537)
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise http.client.BadStatusLine(repr(status_line))
        headers: dict[str, str] = {}
        while True:
            line = self._reader.readline(65537)
            if line in (b"\r\n", b"\n"):
                return int(parts[1]), headers
            if not line:
                raise http.client.IncompleteRead(b"")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()

    def _body(self, headers: Mapping[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self._reader.readline(1024).split(b";")[0], 16):
                chunks.append(self._read(size))
                self._reader.readline(1024)
            while self._reader.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        if "content-length" in headers:
            return self._read(int(headers["content-length"]))
        return self._reader.read()  # no length: the server closes when done

    def _read(self, size: int) -> bytes:
        data = self._reader.read(size)
        if len(data) != size:
            raise http.client.IncompleteRead(data, size - len(data))
        return data

    def close(self) -> None:
        self._reader.close()
        self._sock.close()
