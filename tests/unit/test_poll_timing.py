"""Adaptive polling: prompt at first, backing off for long tasks, aiming at the expected end."""

from __future__ import annotations

from aws_copy_pt.core.poll_timing import MAX_DELAY, MIN_DELAY, TaskProgress, next_poll_delay


def test_a_new_task_is_polled_soon() -> None:
    assert next_poll_delay(TaskProgress(previous_delay=None, changed=True)) == MIN_DELAY


def test_an_unchanged_task_backs_off_by_doubling_up_to_the_cap() -> None:
    delay = MIN_DELAY
    seen = []
    for _ in range(8):
        delay = next_poll_delay(TaskProgress(previous_delay=delay, changed=False))
        seen.append(delay)
    assert seen[:3] == [20.0, 40.0, 80.0]
    assert seen[-1] == MAX_DELAY


def test_the_next_poll_aims_just_after_the_estimated_end() -> None:
    progress = TaskProgress(
        previous_delay=MAX_DELAY,
        changed=False,
        bytes_done=900_000_000,
        bytes_expected=1_000_000_000,
        rate=2_000_000.0,  # 100 MB left at 2 MB/s: about 50 s
    )
    assert 50 < next_poll_delay(progress) < 60


def test_an_estimate_far_in_the_future_is_capped() -> None:
    progress = TaskProgress(
        previous_delay=MAX_DELAY, changed=False, bytes_expected=10**15, rate=1.0
    )
    assert next_poll_delay(progress) == MAX_DELAY


def test_a_task_that_keeps_moving_keeps_its_delay() -> None:
    assert next_poll_delay(TaskProgress(previous_delay=40.0, changed=True)) == 40.0
