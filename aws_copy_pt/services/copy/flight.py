"""Plain copies sent without a thread each: a bounded window of requests in flight.

Most objects of a batch need one CopyObject and nothing else: the listings gave the source's
size and ETag, the destination is known to be absent (or to be overwritten), and the copy's
answer proves its content (the ETag, an MD5, or the checksum S3 computed again). A worker
thread blocked on each such request costs more than the request: every answer calls into
Python from the CRT's thread and then wakes the worker (about four thread hand-overs per
object). Here one sender thread starts those copies (``FastS3.start_copy``) and the answers are
judged on the CRT's thread as they land, each result put straight into the engine's outcome
queue (``WorkerPool.deliver``), tagged as a worker's would be.

Requests per object: a HeadObject of the source, then one CopyObject, both started here
without a thread, plus one ListObjectsV2 per 1,000 objects to plan (a direct copy's own source
listing) and one to verify the batch. The HEAD is there for one reason only: an MD5 the
uploader declared in user metadata (``md5sum``, rclone's ``md5chksum``) must be honoured on
every route (issue #18), and no listing shows metadata. An object whose ETag disagrees with its
declaration fails before anything is copied. The copy itself needs no HEAD, because its answer
proves it for exactly the objects sent here:

* the copy is pinned to the listed source ETag (``CopySourceIfMatch``): a 200 means the source
  copied is the one listed, else S3 answers 412 and the object fails;
* the answer's ETag must equal the source's (``core.copy_plan.compare_content``): for a
  single-part object not encrypted with SSE-KMS or SSE-C, both are the content's MD5; or the
  full-object checksum S3 computed again must equal the source's. Objects whose answer could not
  prove them this way (a multipart ETag and no full-object checksum, SSE-KMS on either side)
  need their provenance record, a metadata rewrite, hence a HEAD: they go to the workers;
* the batch's destination listing then checks each size and ETag before a row is ``verified``
  (``services.copy.verify``), and every staging delete is bound to that verified ETag or version
  (``services.copy.cleanup``). An answer that proves nothing (a mismatch) gets HEADs of both
  sides on a worker, as before.

What stays on the worker threads (``worker.copy_object``): anything that needs a HEAD first or
a decision against an unknown destination, multipart copies, metadata rewrites (``annotate``,
a REPLACE directive, a copy that must carry its provenance), and the rare answer that needs a
closer look (a mismatch: HEADs of both sides) or boto3 (no answer from the CRT).

Bounds and safety:

* At most ``window`` requests in flight (``--concurrency``); until the first copy of the pass
  succeeds, at most :data:`OPENING`: a failure every object would hit (rejected keys, a bucket
  policy) then sends about as many doomed requests as the breaker needs to stop the run.
* A stop (SIGTERM, the breaker, a ``transfers cancel`` seen by the engine) is checked before
  every request: no copy is sent after it is seen; the objects not sent come back PENDING.
* Every task gets exactly one outcome, whichever way it went; an error answer to one copy is
  that object's failure and nothing else's.
* An answer overdue by ``crt.ANSWER_TIMEOUT`` is cancelled and the copy repeated by boto3.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from aws_copy_pt.core.checksums import DeclaredCheck
from aws_copy_pt.core.copy_plan import (
    Action,
    CopyMethod,
    Match,
    ObjectFacts,
    compare_content,
    judge_destination,
    plan_copy,
    size_problem,
)
from aws_copy_pt.core.provenance import needs_provenance
from aws_copy_pt.core.states import ObjectState
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.answers import CopyAnswer
from aws_copy_pt.s3.arguments import settings_for
from aws_copy_pt.s3.copier import ObjectHead, copy_params, facts_from_copy, head_from_answer
from aws_copy_pt.s3.crt import ANSWER_TIMEOUT, Started
from aws_copy_pt.services.copy.conflict import decide, encrypts_copies
from aws_copy_pt.services.copy.pool import Outcome, WorkerPool
from aws_copy_pt.services.copy.worker import (
    CopySpec,
    ObjectResult,
    ObjectTask,
    _check_copy,
    _declared,
    _explain,
    _merge,
    copy_object,
)

log = logging.getLogger(__name__)

# Requests in flight until a copy of the pass succeeds (the breaker stops after 8 failures).
OPENING = 8
WATCH_SECONDS = 1.0  # how often the sender looks for overdue answers and waiting results
BURST = 32  # results handed to the engine at once (fewer wake-ups of its thread)


@dataclass(frozen=True)
class PlainCopy:
    """One object that a single CopyObject copies and its answer verifies."""

    tag: Any
    task: ObjectTask
    source: ObjectFacts
    algorithm: str
    params: dict[str, Any]
    overwrites: bool
    head: ObjectHead | None = None  # the source's HEAD, once it landed: its metadata
    declared: DeclaredCheck | None = None  # an MD5 its uploader declared, checked against it


def plain_copy(spec: CopySpec, task: ObjectTask, tag: Any = None) -> PlainCopy | None:
    """``task`` as a plain copy, or None when a worker must handle it (the same decisions as
    ``worker.copy_object``, taken where they need no request)."""
    route, source, dest = spec.route, task.source, task.dest
    if spec.streams:  # the stream route: the bytes pass through this machine, on a worker
        return None
    fast = route.dest_fast
    if fast is None or fast.off or task.upload_id or source is None or not task.dest_known:
        return None
    if source.size is None or size_problem(source.size):
        return None
    if decide(task.ours, judge_destination(source, dest), dest, spec.conflict) is not Action.COPY:
        return None  # skip, refuse or inspect: the worker says which, with HEADs if needed
    plan = plan_copy(source, threshold=spec.threshold, part_size=spec.part_size)
    if plan.method is not CopyMethod.SINGLE:
        return None
    record = needs_provenance(source, dest_encrypted=encrypts_copies(route))
    if spec.annotate or route.metadata_directive == "REPLACE" or record:
        return None  # the metadata is set explicitly: it needs the source's HEAD
    params = copy_params(
        route, task.source_key, task.dest_key, etag=source.etag, algorithm=plan.checksum_algorithm
    )
    return PlainCopy(tag, task, source, plan.checksum_algorithm, params, dest is not None)


class Flight:
    """Sends the plain copies of a pass through one thread, at most ``window`` in flight."""

    def __init__(
        self, pool: WorkerPool, spec: CopySpec, window: int, opening: int = OPENING
    ) -> None:
        self._pool = pool
        self._spec = spec
        self._boto3 = replace(spec, route=replace(spec.route, dest_fast=None))
        self._window = max(1, window)
        self._opening = max(1, min(opening, self._window))
        self._opened = False  # a copy succeeded: the whole window may be used
        self._lock = threading.Condition()
        self._queue: deque[PlainCopy] = deque()
        self._ready: list[Outcome] = []  # results not yet handed to the engine
        self._out: dict[int, tuple[float, Started | None]] = {}  # ticket -> (deadline, request)
        self._tickets = 0
        self._wake_at = -1  # the sender sleeps until this few are in flight (-1: not asleep)
        self._sending = False
        self.peak = 0  # the most requests in flight at once
        self.sent = 0  # CopyObject requests started
        self.heads = 0  # HeadObject requests started (the source's metadata, before its copy)

    def send(self, tasks: Sequence[tuple[Any, ObjectTask]]) -> None:
        """Copy each task; its outcome is delivered to the pool, tagged, exactly once."""
        plain: list[PlainCopy] = []
        for tag, task in tasks:
            copy = plain_copy(self._spec, task, tag)
            if copy is None:
                self._pool.submit(tag, copy_object, self._spec, task)
            else:
                plain.append(copy)
        if not plain:
            return
        with self._lock:
            self._queue.extend(plain)
            if self._wake_at >= 0:
                self._lock.notify()
            if not self._sending:
                self._sending = True
                threading.Thread(target=self._run, name="acp-flight", daemon=True).start()

    # --- the sender thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while (copy := self._next()) is not None:
            try:
                self._launch(copy)
            except BaseException as error:  # a bug: handed to the engine, which raises it
                self._pool.deliver(copy.tag, None, error)

    def _next(self) -> PlainCopy | None:
        """The next copy once a slot is free; None when nothing is queued or in flight."""
        with self._lock:
            while True:
                limit = self._window if self._opened else self._opening
                if self._queue and (len(self._out) < limit or self._spec.stop.is_set()):
                    return self._queue.popleft()
                if not self._queue and not self._out:
                    self._sending = False
                    return None
                # Sleep until a good part of the window is free (or all answers are in), not
                # one wake-up per answer.
                self._wake_at = limit - max(1, limit // 8) if self._queue else 0
                self._lock.wait(WATCH_SECONDS)
                self._wake_at = -1
                overdue, ready = self._overdue(), self._take_ready()
                if overdue or ready:
                    self._lock.release()
                    try:
                        for each in ready:
                            self._pool.deliver(*each)
                        for request in overdue:
                            request.cancel()  # its answer: None, and boto3 repeats the copy
                    finally:
                        self._lock.acquire()

    def _overdue(self) -> list[Started]:
        now = time.monotonic()
        return [r for deadline, r in self._out.values() if r is not None and deadline < now]

    def _launch(self, copy: PlainCopy) -> None:
        spec = self._spec
        if spec.stop.is_set():  # a stop or a cancel: nothing more is sent
            self._pool.deliver(copy.tag, ObjectResult(copy.task.row_id, ObjectState.PENDING), None)
            return
        fast = spec.route.dest_fast if copy.head is not None else spec.route.source_fast
        with self._lock:
            self._tickets += 1
            ticket = self._tickets
            self._out[ticket] = (time.monotonic() + ANSWER_TIMEOUT, None)
            self.peak = max(self.peak, len(self._out))
        try:
            request: Started | None = None
            if fast is None:
                pass
            elif copy.head is None:  # first the source's HEAD: its metadata may declare an MD5
                request = fast.start_head(
                    spec.route.source_bucket,
                    copy.task.source_key,
                    settings_for("HeadObject", spec.route.source_args),
                    lambda answer: self._headed(copy, ticket, answer),
                )
            else:
                request = fast.start_copy(
                    copy.params, lambda answer: self._landed(copy, ticket, answer)
                )
        except BaseException:
            with self._lock:
                self._out.pop(ticket, None)
            raise
        with self._lock:
            if request is None:  # not sent: a worker copies it (boto3, or the fast path later)
                del self._out[ticket]
            else:
                if copy.head is None:
                    self.heads += 1
                else:
                    self.sent += 1
                if ticket in self._out:
                    self._out[ticket] = (self._out[ticket][0], request)
        if request is None:
            self._pool.submit(copy.tag, copy_object, spec, copy.task)

    # --- the answers (on the CRT's threads) ----------------------------------------------------

    def _headed(self, copy: PlainCopy, ticket: int, answer: dict[str, Any] | None) -> None:
        """The source's HEAD landed: fail an object whose bytes disagree with the MD5 its
        uploader declared (the bytes never pass through here: its ETag is their MD5), else queue
        its copy first in line. A HEAD that did not answer, or an object changed since it was
        listed, or one encrypted so that its ETag is no MD5, goes to a worker, which HEADs again
        and says what happened."""
        spec, task = self._spec, copy.task
        outcome: Outcome | None = None
        again: PlainCopy | None = None
        try:
            head = None if answer is None else head_from_answer(answer)
            if head is None or head.facts.etag != copy.source.etag or head.facts.kms_or_sse_c:
                self._pool.submit(copy.tag, copy_object, self._boto3, task)
            else:
                source = _merge(copy.source, head.facts)  # the HEAD says how it is encrypted
                declared = _declared(spec.route, task, source, head)
                if isinstance(declared, ObjectResult):
                    outcome = (copy.tag, self._record(declared), None)
                else:
                    again = replace(copy, source=source, head=head, declared=declared)
        except BaseException as error:  # a bug: handed to the engine, which raises it
            outcome = (copy.tag, None, error)
        with self._lock:  # one step: the sender never sees this copy neither queued nor out
            del self._out[ticket]
            if again is not None:
                self._queue.appendleft(again)
            self._lock.notify()
        if outcome is not None:
            self._pool.deliver(*outcome)

    def _landed(self, copy: PlainCopy, ticket: int, answer: CopyAnswer | Exception | None) -> None:
        outcome: Outcome | None = None
        try:
            result = self._judge(copy, answer)
            if result is not None:
                outcome = (copy.tag, result, None)
        except BaseException as error:  # a bug: handed to the engine, which raises it
            outcome = (copy.tag, None, error)
        with self._lock:
            del self._out[ticket]
            if outcome is not None:
                self._ready.append(outcome)
            # Results go to the engine in bursts: one wake-up of its thread for many objects.
            # The last answers of a run, or of a lull, go at once; the sender hands over what
            # waits at least every WATCH_SECONDS.
            burst = len(self._ready) >= min(BURST, len(self._out) + 1)
            ready = self._take_ready() if burst else []
            if self._wake_at >= 0 and len(self._out) <= self._wake_at:
                self._lock.notify()
        for each in ready:
            self._pool.deliver(*each)

    def _take_ready(self) -> list[Outcome]:
        ready, self._ready = self._ready, []
        return ready

    def _judge(self, copy: PlainCopy, answer: CopyAnswer | Exception | None) -> ObjectResult | None:
        """The object's result, or None when a worker takes it from here."""
        spec, task = self._spec, copy.task
        if answer is None:  # no answer, or none this path reads: boto3 copies it again
            self._pool.submit(copy.tag, copy_object, self._boto3, task)
            return None
        if isinstance(answer, AwsCopyPtError):  # an error answer: this object's failure
            failed = _explain(answer, spec, task)
            return self._record(ObjectResult(task.row_id, ObjectState.FAILED, error=failed))
        if isinstance(answer, Exception):
            raise answer
        match, _ = compare_content(copy.source, facts_from_copy(answer, copy.algorithm))
        if match in (Match.MISMATCH, Match.SUSPECT):  # HEADs of both sides: on a worker
            self._pool.submit(copy.tag, check_on_worker, spec, copy, answer)
            return None
        return self._record(check_answer(spec, copy, answer))

    def _record(self, result: ObjectResult) -> ObjectResult:
        self._spec.breaker.record(result)
        if result.state is ObjectState.COPIED and not self._opened:
            with self._lock:
                self._opened = True
                self._lock.notify()
        return result


def check_on_worker(spec: CopySpec, copy: PlainCopy, answer: CopyAnswer) -> ObjectResult:
    """A copy whose answer did not prove it: HEAD both sides and compare (a worker's call)."""
    task = copy.task
    try:
        result = check_answer(spec, copy, answer)
    except AwsCopyPtError as exc:
        result = ObjectResult(task.row_id, ObjectState.FAILED, error=_explain(exc, spec, task))
    spec.breaker.record(result)
    return result


def check_answer(spec: CopySpec, copy: PlainCopy, answer: CopyAnswer) -> ObjectResult:
    """What the copy's answer proves about ``copy`` (HEADs of both sides where it proves
    nothing: a worker's call then)."""
    return _check_copy(
        spec,
        copy.task,
        copy.source,
        copy.algorithm,
        CopyMethod.SINGLE,
        answer,
        copy.overwrites,
        copy.declared,
    )
