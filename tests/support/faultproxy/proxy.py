"""A fault-injecting HTTP proxy in front of a local S3 server, for reliability tests and benchmarks.

Register buckets with the proxy's ``endpoint_url`` instead of the server's and every request the
product sends - from this process or from a daemon subprocess, through boto3 or the CRT -
passes through it. (It forwards any HTTP: in front of the Globus stand-in, its gates, resets and
timeouts work as well; its error answers are S3's.) The proxy

* keeps a log of every request: its S3 operation, bucket, key, status and the fault it got, with
  a global order of starts and ends (tests audit it: was a verified object copied again? was a
  staging object deleted before its copy was checked?);
* injects faults into chosen operations: 503 SlowDown, 500 InternalError, a connection reset
  before or after the server acted, a timeout (the request is held unanswered until the client
  gives up) before or after the server acted, a "200 OK" whose body is an ``<Error>`` (S3 does
  this when a long copy fails after the headers went out), and a "200 OK" success that did
  nothing (a lying store);
* holds a chosen request at a :class:`Gate` until the test releases it, so a process can be
  killed at an exact point (while its 7th CopyObject is in flight) instead of after a sleep;
* rewrites chosen answers (:meth:`FaultProxy.rewrite`), to play what a local server cannot
  (an object of 60 TB, AWS's 403 to a HeadBucket; a GCS answer, a flipped byte: ``.rewrites``);
* plays a store without an operation (501 NotImplemented, as GCS answers UploadPartCopy) and a
  connection cut halfway through an answer's body;
* lets a test see, change or answer chosen requests itself (:meth:`FaultProxy.intercept`), as a
  botocore ``before-send`` hook would, whichever HTTP client sent them;
* delays chosen answers (:meth:`FaultProxy.delay`): a fixed latency, or time that grows with
  the bytes a server-side copy moves (the benchmarks model S3's copy rate this way).

Faults come from rules (:meth:`FaultProxy.fail`: the next N matching requests) or from chaos
(:meth:`FaultProxy.chaos`: each matching request with a seeded probability). Chaos never faults
one request (same method, path and query) more than ``per_request`` times, so a client that
retries always gets through in the end: the test then checks it did, and that nothing lied.

Only path-style requests are understood (what the product sends to non-AWS endpoints). The proxy
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from tests.support.faultproxy.handler import HOP_BY_HOP, ProxyServer, handler_for
from tests.support.faultproxy.rules import (
    Answer,
    Chaos,
    FaultBook,
    FaultKind,
    Gate,
    Pace,
    Predicate,
    ProxyRecord,
    ProxyRequest,
    Responder,
    Rewrite,
)
from tests.support.faultproxy.s3wire import (
    access_key_of,
    described_headers,
    requested_bounds,
    requested_keys,
)

LOOPBACK = "127.0.0.1"


class FaultProxy:
    """See the module docstring. ``upstream`` is the real server's endpoint URL."""

    def __init__(self, upstream: str, *, upstream_timeout: float = 300.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the proxy forwards plain http only, not {upstream!r}")
        self.upstream = (parts.hostname, parts.port or 80)
        self.upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._ticks = itertools.count(1)
        self._records: list[ProxyRecord] = []
        self._book = FaultBook()
        self.faults: Counter[FaultKind] = Counter()
        self.stopping = threading.Event()
        self._server = ProxyServer((LOOPBACK, 0), handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fault-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; held requests are dropped."""
        self.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests ask for --------------------------------------------------------------------

    def fail(self, match: Predicate, kind: FaultKind, *, times: int = 1, skip: int = 0) -> None:
        """Give ``kind`` to the next ``times`` matching requests, after letting ``skip`` pass."""
        with self._lock:
            self._book.add_rule(match, kind, times, skip)

    def chaos(self, chaos: Chaos | None) -> None:
        """Start (or, with None, stop) random faults."""
        with self._lock:
            self._book.set_chaos(chaos)

    def rewrite(self, match: Predicate, change: Rewrite) -> None:
        """Pass the server's answers to matching requests through ``change``."""
        with self._lock:
            self._book.rewrites.append((match, change))

    def intercept(self, match: Predicate, responder: Responder) -> None:
        """Call ``responder(request)`` for each matching request before it is forwarded: it
        may change the request's headers, or return an :class:`Answer` sent instead."""
        with self._lock:
            self._book.responders.append((match, responder))

    def delay(self, match: Predicate, pace: Pace, *, at_least: bool = False) -> None:
        """Hold each matching request's answer ``pace(request, answer)`` seconds longer (with
        ``at_least``: until that long after the request arrived)."""
        with self._lock:
            self._book.paces.append((match, pace, at_least))

    def clear_faults(self) -> None:
        """The faults clear: no rule, chaos, rewrite, responder or delay applies any more."""
        with self._lock:
            self._book.rules.clear()
            self._book.rewrites.clear()
            self._book.responders.clear()
            self._book.paces.clear()
            self._book.set_chaos(None)

    def hold(self, match: Predicate, *, nth: int = 1) -> Gate:
        """Hold the ``nth`` request matching from now on; see :class:`Gate`."""
        gate = Gate(match, nth)
        with self._lock:
            self._book.gates.append(gate)
        return gate

    @property
    def records(self) -> list[ProxyRecord]:
        """Every request so far, in the order they started (a copy)."""
        with self._lock:
            return list(self._records)

    def tick(self) -> int:
        """A point on the log's clock: requests started after it have a larger ``started``."""
        with self._lock:
            return next(self._ticks)

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    # --- what the handler asks -----------------------------------------------------------------

    def begin(self, request: ProxyRequest) -> tuple[ProxyRecord, Gate | None, FaultKind | None]:
        with self._lock:
            record = ProxyRecord(
                seq=len(self._records) + 1,
                operation=request.operation,
                method=request.method,
                bucket=request.bucket,
                key=request.key,
                query=dict(request.query),
                fast=" fast" in request.headers.get("user-agent", ""),
                access_key=access_key_of(request.headers.get("authorization", "")),
                started=next(self._ticks),
                started_at=time.monotonic(),
                requested_keys=requested_keys(request.body),
                amz_headers=described_headers(request.headers),
                requested_bounds=requested_bounds(request.body),
            )
            self._records.append(record)
            gate = self._book.gate_for(request)
            fault = None if gate else self._book.fault_for(request)
            if fault is not None:
                record.fault = fault
                self.faults[fault] += 1
        return record, gate, fault

    def own_answer(self, request: ProxyRequest) -> Answer | None:
        """What a responder answers instead of the server (None: forward the request)."""
        with self._lock:
            responders = [r for match, r in self._book.responders if match(request)]
        for responder in responders:  # outside the lock: a responder may look at the proxy
            answer = responder(request)
            if answer is not None:
                return answer
        return None

    def pace(self, request: ProxyRequest, record: ProxyRecord, answer: Answer) -> None:
        """Wait as the matching delays say before the answer goes out."""
        with self._lock:
            paces = [(p, at_least) for match, p, at_least in self._book.paces if match(request)]
        for pace, at_least in paces:
            seconds = pace(request, answer)
            if at_least:
                seconds -= time.monotonic() - record.started_at
            if seconds > 0:
                self.stopping.wait(seconds)

    def end(self, record: ProxyRecord) -> None:
        with self._lock:
            record.finished = next(self._ticks)

    def forward(self, request: ProxyRequest) -> Answer:
        """Send ``request`` to the server and return its (possibly rewritten) answer."""
        connection = http.client.HTTPConnection(*self.upstream, timeout=self.upstream_timeout)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
            headers["content-length"] = str(len(request.body))
            connection.request(request.method, request.raw_target, request.body, headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.getheaders(), response.read())
        finally:
            connection.close()
        with self._lock:
            return self._book.rewrite(request, answer)
