"""Thread plumbing of the copy engine: a lean worker pool, a combined stop flag, prefetching.

A fixed set of worker threads with one queue in and one queue out; an urgent call (a batch's
verification, which the batch's result waits for) goes ahead of the calls already queued.
Work done without a worker (``services.copy.flight``) hands its outcomes to the same queue.

``concurrent.futures`` allocates a Future (a Condition and two locks) per call and wakes its
waiters one by one; at thousands of small copies a second that bookkeeping costs the copy
engine's single coordinating thread more than the copies cost the workers. Here a call is a
tuple on a queue and its outcome a tuple on another, tagged with whatever the caller gave.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar, cast

Outcome = tuple[Any, Any, BaseException | None]  # (tag, result, error)
Call = tuple[Any, Callable[..., Any], tuple[Any, ...]]
T = TypeVar("T")
_URGENT = object()  # queued with an urgent call so that an idle worker wakes up for it


class WorkerPool:
    """``submit(tag, fn, *args)``; collect ``(tag, result, error)`` with ``next_outcome``."""

    def __init__(self, workers: int, name: str, *, window: int | None = None) -> None:
        # How many copies may be in flight at once: worker threads, plus requests that answer
        # without a thread each (``services.copy.flight``).
        self.window = max(workers, window or workers)
        self._calls: queue.SimpleQueue[Call | object | None] = queue.SimpleQueue()
        self._urgent: deque[Call] = deque()
        self._outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, tag: Any, fn: Callable[..., Any], *args: Any, urgent: bool = False) -> None:
        """Queue ``fn(*args)``; an ``urgent`` call is the next one a worker takes."""
        if urgent:
            self._urgent.append((tag, fn, args))
            self._calls.put(_URGENT)
        else:
            self._calls.put((tag, fn, args))

    def deliver(self, tag: Any, result: Any, error: BaseException | None) -> None:
        """Hand in the outcome of work done elsewhere, as if a worker had done it."""
        self._outcomes.put((tag, result, error))

    def next_outcome(self, timeout: float) -> Outcome | None:
        """The next finished call, or None if none finished within ``timeout`` seconds."""
        try:
            return self._outcomes.get(timeout=timeout)
        except queue.Empty:
            return None

    def _work(self) -> None:
        while (call := self._next_call()) is not None:
            tag, fn, args = call
            try:
                self._outcomes.put((tag, fn(*args), None))
            except BaseException as error:  # handed to the caller, who re-raises it
                self._outcomes.put((tag, None, error))

    def _next_call(self) -> Call | None:
        while True:
            try:
                return self._urgent.popleft()
            except IndexError:
                pass
            call = self._calls.get()
            if call is None:
                return None
            if call is not _URGENT:
                return cast(Call, call)
            # an urgent call's wake-up: the call itself may already be taken; look again

    def close(self) -> None:
        """Let queued calls finish, then stop the threads."""
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class EitherEvent:
    """Set when any of its events is (a stop request, or the engine's own halt)."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced ``depth`` ahead by a helper thread: the next page of a listing is
    fetched while this one is written. An error in the producer is raised here."""
    buffer: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    done = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not done.is_set():
                    try:
                        buffer.put((True, item), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if done.is_set():
                    return
            buffer.put((False, None))
        except BaseException as error:  # re-raised in the consumer
            buffer.put((False, error))

    thread = threading.Thread(target=produce, name="acp-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            more, value = buffer.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        done.set()
