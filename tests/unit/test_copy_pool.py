"""The copy engine's worker pool: calls in, tagged outcomes out, urgent calls first."""

from __future__ import annotations

import threading

from aws_copy_pt.services.copy.pool import WorkerPool


def outcomes(pool: WorkerPool, count: int) -> list[tuple[object, object, object]]:
    found = []
    for _ in range(count):
        outcome = pool.next_outcome(timeout=5)
        assert outcome is not None, "a call never finished"
        found.append(outcome)
    return found


def test_an_urgent_call_goes_ahead_of_the_calls_already_queued() -> None:
    order: list[str] = []
    release = threading.Event()
    with WorkerPool(1, "test") as pool:
        pool.submit("busy", release.wait, 5)
        for name in ("a", "b", "c"):
            pool.submit(name, order.append, name)
        pool.submit("urgent", order.append, "urgent", urgent=True)
        release.set()
        outcomes(pool, 5)
    assert order == ["urgent", "a", "b", "c"]


def test_an_urgent_call_wakes_an_idle_pool() -> None:
    with WorkerPool(2, "test") as pool:
        pool.submit("tag", sum, (1, 2), urgent=True)
        assert outcomes(pool, 1) == [("tag", 3, None)]


def test_a_failing_call_hands_its_error_to_the_caller() -> None:
    def fail() -> None:
        raise ValueError("boom")

    with WorkerPool(1, "test") as pool:
        pool.submit("x", fail)
        ((tag, result, error),) = outcomes(pool, 1)
    assert (tag, result) == ("x", None)
    assert isinstance(error, ValueError) and str(error) == "boom"


def test_closing_lets_queued_calls_finish() -> None:
    done: list[int] = []
    pool = WorkerPool(2, "test")
    for n in range(50):
        pool.submit(n, done.append, n, urgent=n % 7 == 0)
    pool.close()
    assert sorted(done) == list(range(50))
