"""When to poll a Globus task next: soon at first, backing off, aiming near the expected end.

Pure arithmetic so the schedule is testable without a clock. A fresh task is polled every
``minimum`` seconds; each unchanged poll doubles the delay up to ``maximum``; when the task
reports bytes done, bytes expected and a rate, the next poll aims just after the estimated end
(but never later than ``maximum``), so a 10-minute task is not polled 60 times nor noticed late.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_DELAY = 10.0
MAX_DELAY = 300.0


@dataclass(frozen=True)
class TaskProgress:
    previous_delay: float | None  # None: first poll of this task
    changed: bool  # did status or bytes move since the previous poll?
    bytes_done: int = 0
    bytes_expected: int | None = None
    rate: float | None = None  # bytes per second as reported by Globus


def next_poll_delay(
    progress: TaskProgress, *, minimum: float = MIN_DELAY, maximum: float = MAX_DELAY
) -> float:
    """Seconds to wait before polling this task again."""
    if progress.previous_delay is None:
        base = minimum
    elif progress.changed:
        base = max(minimum, progress.previous_delay)
    else:
        base = min(maximum, progress.previous_delay * 2)
    eta = _seconds_to_end(progress)
    if eta is not None:
        # Aim a little after the estimated end; a task about to finish is checked promptly.
        base = min(base, max(minimum, eta * 1.05 + 1))
    return max(minimum, min(maximum, base))


def _seconds_to_end(progress: TaskProgress) -> float | None:
    if not progress.bytes_expected or not progress.rate or progress.rate <= 0:
        return None
    remaining = max(0, progress.bytes_expected - progress.bytes_done)
    return remaining / progress.rate
