"""The daemon's poll schedule stays within --min-poll and --max-poll, whatever happened.

The loop runs in this process against the real database and the Globus stand-in, and stops at
its first scheduling decision, which is what these tests read (no clock is waited on).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aws_copy_pt.daemon.scheduler import DaemonLoop, Schedule
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from aws_copy_pt.services.cycle import Workers
from tests.fixtures.globus_world import GlobusWorld, build_world, files


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, app_home, monkeypatch)
    world.register_staging()
    yield world
    world.db.close()


def _first_schedule(
    world: GlobusWorld,
    *,
    min_poll: float,
    max_poll: float,
    during_poll: Callable[[DaemonLoop], None] | None = None,
) -> Schedule:
    """The loop's first decision; ``during_poll`` runs while that first poll asks Globus."""
    schedules: list[Schedule] = []
    stop = threading.Event()

    def record(schedule: Schedule) -> None:
        schedules.append(schedule)
        stop.set()

    def transfer_client() -> Any:
        if during_poll is not None:
            during_poll(loop)
        return world.client()

    workers = Workers(
        transfer_client=transfer_client,
        s3=ClientFactory(),
        min_poll_seconds=min_poll,
        max_poll_seconds=max_poll,
    )
    loop = DaemonLoop(world.db, workers, stop=stop, on_schedule=record)
    loop.run()
    return schedules[0]


def test_with_nothing_to_watch_the_daemon_looks_again_after_min_poll(world: GlobusWorld) -> None:
    schedule = _first_schedule(world, min_poll=1, max_poll=3600)

    assert schedule.delay_seconds == 1  # not the fixed minute it once waited


def test_a_failed_login_is_tried_again_after_max_poll_even_when_it_is_short(
    world: GlobusWorld,
) -> None:
    world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))  # and nobody logged in

    schedule = _first_schedule(world, min_poll=1, max_poll=2)

    assert world.transfer(1).state == "NEEDS_LOGIN"
    assert schedule.delay_seconds == 2


def test_a_running_task_is_polled_again_after_min_poll_first(world: GlobusWorld) -> None:
    world.login()
    world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))

    schedule = _first_schedule(world, min_poll=5, max_poll=3600)

    transfer = world.transfer(1)
    assert transfer.globus_status == "ACTIVE"
    assert transfer.next_poll_at is not None and transfer.last_polled_at is not None
    assert (transfer.next_poll_at - transfer.last_polled_at).total_seconds() == 5
    assert 0 < schedule.delay_seconds <= 5  # what is left of those 5 s after the poll


def test_a_wake_up_during_a_poll_makes_the_daemon_poll_again_at_once(world: GlobusWorld) -> None:
    world.login()
    world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))

    schedule = _first_schedule(
        world, min_poll=600, max_poll=3600, during_poll=lambda loop: loop.wake_up()
    )

    # The poll under way may have missed what the command changed: it is not left for 600 s.
    assert schedule.delay_seconds == 0
    assert schedule.woken_at is not None
