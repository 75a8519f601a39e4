"""What the fault proxy knows about requests, and how it decides what each one gets.

A :class:`FaultBook` holds the gates, fault rules, chaos and rewrites a test asked for, and
answers, for each request, "hold it?", "fault it?" and "change the answer?". It is not
thread-safe by itself: the proxy calls it under its lock.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tests.support.faultproxy.s3wire import operation_of


class FaultKind(StrEnum):
    SLOW_DOWN = "503 SlowDown"
    INTERNAL_ERROR = "500 InternalError"
    RESET = "connection reset"
    RESET_AFTER = "connection reset after the server acted"
    TIMEOUT = "timeout"
    TIMEOUT_AFTER = "timeout after the server acted"
    ERROR_IN_200 = "200 OK with an error body"
    FALSE_SUCCESS = "200 OK but nothing done"
    NOT_IMPLEMENTED = "501 NotImplemented"  # a store without the operation (GCS: UploadPartCopy)
    RESET_MID_BODY = "connection reset halfway through the answer's body"


# Faults after which the server has acted although the client never heard of it.
ACTED = frozenset({FaultKind.RESET_AFTER, FaultKind.TIMEOUT_AFTER})


@dataclass(frozen=True)
class ProxyRequest:
    method: str
    path: str  # decoded
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    raw_target: str  # path and query as received

    @property
    def bucket(self) -> str | None:
        return self.path.lstrip("/").partition("/")[0] or None

    @property
    def key(self) -> str | None:
        return self.path.lstrip("/").partition("/")[2] or None

    @property
    def operation(self) -> str:
        return operation_of(self.method, self.key is not None, self.query, self.headers)

    @property
    def identity(self) -> str:
        """The same request sent again (a retry) has the same identity."""
        return f"{self.method} {self.raw_target}"


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class ProxyRecord:
    """One request as the proxy saw it; ``started``/``finished`` are ticks of one clock."""

    seq: int
    operation: str
    method: str
    bucket: str | None
    key: str | None
    query: Mapping[str, str]
    fast: bool  # sent by the product's fast path (the CRT) rather than boto3
    access_key: str | None  # the access key id that signed it
    started: int
    started_at: float  # time.monotonic()
    finished: int | None = None  # the handler was done (may be after the client moved on)
    acted: int | None = None  # the server's answer reached the proxy
    answered: int | None = None  # the proxy began sending an answer: the client has none before
    server_status: int | None = None  # what the server answered, whatever the client was told
    status: int | None = None  # None: no answer (reset, timeout, dropped)
    error_code: str | None = None
    fault: FaultKind | None = None
    reached_server: bool = False
    requested_keys: tuple[str, ...] = ()  # DeleteObjects: the keys asked for
    # The request's x-amz-* headers that say what it does (copy source, ACL, directives),
    # without signing material.
    amz_headers: Mapping[str, str] = field(default_factory=dict)
    requested_bounds: Mapping[str, str | None] = field(default_factory=dict)  # key -> bound
    deleted_keys: tuple[str, ...] = ()  # DeleteObjects: the keys the server reports deleted

    @property
    def succeeded(self) -> bool:
        """The client was told it worked, and it did (no fault, 2xx, no error body)."""
        ok = self.status is not None and 200 <= self.status < 300
        return ok and self.fault is None and self.error_code is None

    @property
    def server_succeeded(self) -> bool:
        """The server did what was asked (2xx, no error body), whatever the client was told."""
        status = self.server_status
        ok = status is not None and 200 <= status < 300
        return ok and self.error_code is None  # set from the server's body when it was reached


Predicate = Callable[[ProxyRequest], bool]
Rewrite = Callable[[ProxyRequest, Answer], Answer]
Responder = Callable[[ProxyRequest], "Answer | None"]  # may change the request's headers
Pace = Callable[[ProxyRequest, Answer], float]  # seconds to hold an answer


def matching(
    operation: str | Iterable[str] | None = None, *, bucket: str | None = None
) -> Predicate:
    """A predicate for requests of ``operation`` (one name or several) on ``bucket``."""
    names = {operation} if isinstance(operation, str) else set(operation or ())

    def match(request: ProxyRequest) -> bool:
        op_ok = not names or request.operation in names
        return op_ok and (bucket is None or request.bucket == bucket)

    return match


@dataclass(frozen=True)
class Chaos:
    """Fault each request of ``kinds``' operations with probability ``rate`` (seeded).

    No request identity gets more than ``per_request`` faults, so retries get through.
    """

    kinds: Mapping[str, Sequence[FaultKind]]  # operation -> faults it may get
    rate: float
    seed: int = 0
    per_request: int = 2
    bucket: str | None = None


class Gate:
    """Holds the ``nth`` request matching a predicate until released."""

    def __init__(self, match: Predicate, nth: int) -> None:
        self.match = match
        self.countdown = nth
        self.reached = threading.Event()
        self.request: ProxyRequest | None = None
        self._released = threading.Event()
        self._forward = True

    def wait(self, timeout: float) -> bool:
        """True once the held request arrived."""
        return self.reached.wait(timeout)

    def release(self, *, forward: bool = True) -> None:
        """Let the held request go on to the server, or drop its connection unanswered."""
        self._forward = forward
        self._released.set()

    def hold(self, stopping: threading.Event) -> bool:
        """Block the request's thread until released; True: forward it."""
        self.reached.set()
        while not self._released.wait(0.1):
            if stopping.is_set():
                return False
        return self._forward


@dataclass
class _Rule:
    kind: FaultKind
    match: Predicate
    remaining: int
    skip: int


@dataclass
class FaultBook:
    gates: list[Gate] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
    rewrites: list[tuple[Predicate, Rewrite]] = field(default_factory=list)
    responders: list[tuple[Predicate, Responder]] = field(default_factory=list)
    paces: list[tuple[Predicate, Pace, bool]] = field(default_factory=list)
    chaos: Chaos | None = None
    faulted: Counter[str] = field(default_factory=Counter)  # faults per request identity
    rng: random.Random = field(default_factory=random.Random)

    def add_rule(self, match: Predicate, kind: FaultKind, times: int, skip: int) -> None:
        self.rules.append(_Rule(kind, match, times, skip))

    def set_chaos(self, chaos: Chaos | None) -> None:
        self.chaos = chaos
        self.rng = random.Random(chaos.seed if chaos else 0)

    def gate_for(self, request: ProxyRequest) -> Gate | None:
        for gate in self.gates:
            if gate.match(request):
                gate.countdown -= 1
                if gate.countdown == 0:
                    self.gates.remove(gate)
                    gate.request = request
                    return gate
        return None

    def fault_for(self, request: ProxyRequest) -> FaultKind | None:
        kind = self._ruled(request) or self._chaotic(request)
        if kind is not None:
            self.faulted[request.identity] += 1
        return kind

    def rewrite(self, request: ProxyRequest, answer: Answer) -> Answer:
        for match, change in self.rewrites:
            if match(request):
                answer = change(request, answer)
        return answer

    def _ruled(self, request: ProxyRequest) -> FaultKind | None:
        for rule in self.rules:
            if rule.remaining > 0 and rule.match(request):
                if rule.skip > 0:
                    rule.skip -= 1
                    return None
                rule.remaining -= 1
                return rule.kind
        return None

    def _chaotic(self, request: ProxyRequest) -> FaultKind | None:
        chaos = self.chaos
        if chaos is None or request.operation not in chaos.kinds:
            return None
        if chaos.bucket is not None and request.bucket != chaos.bucket:
            return None
        if self.faulted[request.identity] >= chaos.per_request:
            return None
        if self.rng.random() >= chaos.rate:
            return None
        return self.rng.choice(list(chaos.kinds[request.operation]))
