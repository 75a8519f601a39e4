"""Plain copies in flight without a thread each (``services.copy.flight``), on the moto server.

A :class:`Flight` is driven here as the engine drives it: tagged tasks in, one tagged outcome
per task out of the worker pool's queue. The fault proxy in front of moto sees every request:
when it arrived and when its answer left, so how many copies were in flight at once is read
from the server's side of the wire.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from aws_copy_pt.core.copy_plan import (
    DEFAULT_MULTIPART_THRESHOLD,
    ConflictPolicy,
    ObjectFacts,
    normalize_etag,
)
from aws_copy_pt.core.states import ObjectState
from aws_copy_pt.db.models import Bucket
from aws_copy_pt.services.copy.flight import OPENING, Flight, plain_copy
from aws_copy_pt.services.copy.pool import EitherEvent, WorkerPool
from aws_copy_pt.services.copy.route import build_route
from aws_copy_pt.services.copy.worker import Breaker, CopySpec, ObjectResult, ObjectTask
from aws_copy_pt.services.transfers import cancel_transfer
from tests.functional.copy_world import CopyWorld, HookedRequest, s3_error
from tests.functional.copy_world import copy_world as copy_world
from tests.support.faultproxy import Answer, ProxyRecord, matching


@dataclass
class Scene:
    world: CopyWorld
    spec: CopySpec
    pool: WorkerPool
    stop: threading.Event


@contextmanager
def flight_scene(world: CopyWorld, **changes: Any) -> Iterator[Scene]:
    with world.db.session() as session:
        source, dest = (
            session.scalars(select(Bucket).where(Bucket.name == name)).one()
            for name in (world.staging, world.dest)
        )
        route = build_route(world.factory, source, dest)
    stop, halt = threading.Event(), threading.Event()
    with WorkerPool(2, "test-copy") as pool, ThreadPoolExecutor(2) as parts:
        spec = CopySpec(
            route=route,
            conflict=ConflictPolicy.OVERWRITE,
            threshold=DEFAULT_MULTIPART_THRESHOLD,
            part_size=None,
            annotate=False,
            globus_task_id=None,
            part_pool=parts,
            stop=EitherEvent(stop, halt),
            breaker=Breaker(halt, 8),
            remember=lambda *_: None,
        )
        yield Scene(world, replace(spec, **changes), pool, stop)


def staged_tasks(world: CopyWorld, count: int) -> list[tuple[str, ObjectTask]]:
    tasks = []
    for number in range(count):
        key = f"f/{number:03d}"
        head = world.put(key, f"body {number}".encode())
        facts = ObjectFacts(size=head["ContentLength"], etag=normalize_etag(head["ETag"]))
        tasks.append((key, ObjectTask(number, key, key, facts, None, dest_known=True)))
    return tasks


def outcomes(pool: WorkerPool, count: int) -> list[tuple[str, ObjectResult]]:
    """``count`` outcomes from the pool's queue (an error in one is raised)."""
    found: list[tuple[str, ObjectResult]] = []
    deadline = time.monotonic() + 120  # a bound for a hung test, not a measurement
    while len(found) < count and time.monotonic() < deadline:
        outcome = pool.next_outcome(timeout=0.5)
        if outcome is not None:
            tag, result, error = outcome
            if error is not None:
                raise error
            found.append((tag, result))
    return found


def most_at_once(records: list[ProxyRecord]) -> int:
    """The most requests the server side had taken and not yet begun to answer, at once."""
    moments = sorted(
        [(r.started, 1) for r in records] + [(r.answered or r.finished or 0, -1) for r in records]
    )
    peak = current = 0
    for _, change in moments:
        current += change
        peak = max(peak, current)
    return peak


def copies(world: CopyWorld) -> list[ProxyRecord]:
    return [r for r in world.proxy.records if r.operation == "CopyObject"]


def test_a_flight_keeps_at_most_its_window_in_flight_and_answers_every_task_once(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    tasks = staged_tasks(world, 30)
    world.proxy.delay(matching("CopyObject"), lambda request, answer: 0.02)
    with flight_scene(world) as scene:
        flight = Flight(scene.pool, scene.spec, window=4)
        flight.send(tasks)
        found = outcomes(scene.pool, len(tasks))

    assert sorted(tag for tag, _ in found) == sorted(key for key, _ in tasks)
    assert {result.state for _, result in found} == {ObjectState.COPIED}
    sent = copies(world)
    assert Counter(r.key for r in sent) == Counter(key for key, _ in tasks)  # one copy each
    assert all(r.fast for r in sent)  # started by the flight, through the CRT
    assert flight.sent == len(tasks)
    assert flight.heads == len(tasks)  # each source's metadata read first: a declared MD5
    assert 1 <= flight.peak <= 4
    assert most_at_once(sent) <= 4
    assert sorted(world.dest_keys()) == sorted(key for key, _ in tasks)


def test_an_error_answer_fails_its_own_object_and_no_other(copy_world: CopyWorld) -> None:
    world = copy_world
    tasks = staged_tasks(world, 12)
    world.hook(world.dest, "CopyObject", _refuse("f/005"))
    with flight_scene(world) as scene:
        Flight(scene.pool, scene.spec, window=4).send(tasks)
        found = dict(outcomes(scene.pool, len(tasks)))

    assert len(found) == len(tasks)
    failed = {key for key, result in found.items() if result.state is ObjectState.FAILED}
    assert failed == {"f/005"}
    assert "AccessDenied" in str(found["f/005"].error) or "denied" in str(found["f/005"].error)
    assert all(found[k].state is ObjectState.COPIED for k in found if k != "f/005")
    assert Counter(r.key for r in copies(world)) == Counter(key for key, _ in tasks)


def _refuse(key: str) -> Callable[..., Answer | None]:
    def answer(request: HookedRequest) -> Answer | None:
        if request.url.split("?")[0].endswith(key):
            return s3_error(403, "AccessDenied", "Access Denied")
        return None

    return answer


def test_a_stop_sends_no_further_copy_and_returns_the_unsent_objects_pending(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    tasks = staged_tasks(world, 20)
    with flight_scene(world) as scene:
        # The third copy stops the pass while the server holds it; the window is 1, so the
        # sender is waiting for that answer and must look at the stop before sending again.
        gate = world.proxy.hold(matching("CopyObject"), nth=3)
        flight = Flight(scene.pool, scene.spec, window=1)
        flight.send(tasks)
        assert gate.wait(timeout=60)
        scene.stop.set()
        tick = world.proxy.tick()
        gate.release(forward=True)
        found = dict(outcomes(scene.pool, len(tasks)))

    assert len(found) == len(tasks)
    states = Counter(result.state for result in found.values())
    assert states == {ObjectState.COPIED: 3, ObjectState.PENDING: 17}
    assert [r.key for r in copies(world) if r.started > tick] == []
    assert len(world.dest_keys()) == 3


def test_a_wide_window_opens_only_after_a_copy_succeeded(copy_world: CopyWorld) -> None:
    """A failure every object hits (here: every copy refused) sends about as many doomed
    requests as the breaker needs, not a window's worth."""
    world = copy_world
    tasks = staged_tasks(world, 60)
    world.hook(world.dest, "CopyObject", lambda **_: s3_error(403, "AccessDenied", "Denied"))
    with flight_scene(world) as scene:
        Flight(scene.pool, scene.spec, window=256).send(tasks)
        found = dict(outcomes(scene.pool, len(tasks)))

    assert len(found) == len(tasks)
    assert scene.spec.breaker.tripped_by is not None
    sent = len(copies(world))
    assert OPENING <= sent < 2 * OPENING  # at most OPENING in flight when the 8th failure landed
    states = Counter(result.state for result in found.values())
    assert states == {ObjectState.FAILED: sent, ObjectState.PENDING: len(tasks) - sent}


def test_objects_that_need_a_look_first_stay_with_the_workers(copy_world: CopyWorld) -> None:
    world = copy_world
    (_, plain), (_, present) = staged_tasks(world, 2)
    unknown = ObjectTask(7, "f/000", "f/000", None, None, dest_known=True)
    unsure = ObjectTask(8, "f/001", "f/001", plain.source, ObjectFacts(size=99), dest_known=True)
    with flight_scene(world) as scene:
        assert plain_copy(scene.spec, plain) is not None
        assert plain_copy(scene.spec, unknown) is None  # its source needs a HEAD
        assert plain_copy(scene.spec, unsure) is not None  # different size: overwritten
        unlisted = ObjectTask(9, "f/001", "f/001", present.source, None, dest_known=False)
        assert plain_copy(scene.spec, unlisted) is None  # the destination needs a HEAD
    with flight_scene(world, annotate=True) as scene:
        assert plain_copy(scene.spec, plain) is None  # metadata set explicitly: a HEAD first
    with flight_scene(world, conflict=ConflictPolicy.FAIL) as scene:
        assert plain_copy(scene.spec, unsure) is None  # a refusal is the worker's to write


def test_a_cancel_seen_by_the_engine_stops_a_direct_copy_in_flight(copy_world: CopyWorld) -> None:
    world = copy_world
    keys = [f"c/{i:02d}" for i in range(30)]
    for key in keys:
        world.put(key, b"y")
    transfer = world.transfer(keys)
    gate = world.proxy.hold(matching("CopyObject", bucket=world.dest), nth=5)
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(world.copy(transfer, concurrency=1)))
    thread.start()
    assert gate.wait(timeout=60)
    tick = world.proxy.tick()
    with world.db.session() as session:
        cancel_transfer(session, transfer)
    _until(lambda: any("cancel seen" in e for e in world.events(transfer)))
    gate.release(forward=True)
    thread.join(timeout=120)

    assert result and world.state(transfer) == "CANCELLED"
    assert [r.key for r in copies(world) if r.started > tick] == []
    assert len(world.dest_keys()) == 5


def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
