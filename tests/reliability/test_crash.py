"""kill -9 at seeded points: nothing lost, corrupted, copied twice, orphaned or deleted early.

Each scenario registers one transfer, then kills the worker (a daemon or a `run --once`, as the
seed says) at a sequence of points - during the Globus listing, single copies, multipart parts
and completions, the verification listing and the staging deletes - and restarts it. A point is
a request the fault proxy holds (the 7th CopyObject, the 2nd listing page...), so the kill lands
exactly there, with the other copies of the moment in flight; the held request then reaches the
server or never does (seeded). After every kill the database must pass its integrity check;
after the last restart the transfer must be DONE with every object intact, no object verified
before a kill may have been copied again, no multipart upload may be left open and no staging
object may have been deleted before its copy was verified.

Multipart scenarios run one object and one part at a time (``--concurrency 1``), so "the 3rd
UploadPartCopy" is the same request in every run; small-object scenarios copy four at a time.
Set ``AWS_COPY_PT_CRASH_SEED`` to explore other points.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest

from tests.reliability.audit import (
    Verified,
    check_database,
    check_deletes_after_verification,
    check_landed,
    check_no_open_uploads,
    check_not_copied_again,
    verified_now,
)
from tests.reliability.world import SMALL_PARTS, MiB, Process, World
from tests.support.faultproxy import FaultProxy, Gate, ProxyRequest, matching

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

SEED = int(os.environ.get("AWS_COPY_PT_CRASH_SEED", "20240611"))
LISTING_PAGE = 25


@dataclass(frozen=True)
class KillPoint:
    """Kill the worker while the ``nth`` request of ``phase`` is in flight."""

    phase: str
    nth: int = 1
    forward: bool = True  # the held request still reaches the server after the kill
    runner: str = "daemon"  # or "run --once"

    def __str__(self) -> str:
        fate = "reaches the server" if self.forward else "is lost"
        return f"{self.runner} killed at {self.phase} #{self.nth} (the request {fate})"


@dataclass(frozen=True)
class Scenario:
    name: str
    files: dict[str, int]
    points: Callable[[random.Random], list[KillPoint]]
    delete_staging: bool = False
    concurrency: int = 4

    @property
    def flags(self) -> tuple[str, ...]:
        return ("--delete-staging",) if self.delete_staging else ()


def _small(count: int, folder: str = "s") -> dict[str, int]:
    return {f"{folder}/{i:03d}.dat": 100 + 37 * i for i in range(count)}


def _big(count: int) -> dict[str, int]:
    return {f"big/{i}.bin": 11 * MiB + 1000 * i for i in range(count)}  # three 5 MiB parts


def kill(rng: random.Random, phase: str, nth: int = 1) -> KillPoint:
    """A kill point whose runner and held request's fate the seed decides."""
    forward = rng.random() < 0.5
    return KillPoint(phase, nth, forward, rng.choice(["daemon", "run --once"]))


SCENARIOS = (
    Scenario(
        "small objects, from the Globus listing to verification",
        _small(90),
        lambda rng: [
            kill(rng, "listing page", 2),
            kill(rng, "CopyObject", rng.randint(3, 20)),
            kill(rng, "CopyObject", rng.randint(3, 20)),
            kill(rng, "verification listing"),
        ],
    ),
    Scenario(
        "multipart objects, parts and completion",
        {**_big(3), **_small(6)},
        lambda rng: [
            kill(rng, "UploadPartCopy", rng.randint(1, 3)),
            kill(rng, "UploadPartCopy", rng.randint(2, 3)),
            kill(rng, "CompleteMultipartUpload", 1),
            kill(rng, "verification listing"),
        ],
        concurrency=1,
    ),
    Scenario(
        "small objects with staging deletes",
        _small(60),
        lambda rng: [
            kill(rng, "CopyObject", rng.randint(5, 25)),
            kill(rng, "verification listing"),
            kill(rng, "DeleteObjects", 1),
        ],
        delete_staging=True,
    ),
    Scenario(
        "multipart objects with staging deletes",
        {**_big(2), **_small(8)},
        lambda rng: [
            kill(rng, "UploadPartCopy", rng.randint(1, 3)),
            kill(rng, "CompleteMultipartUpload", 1),
            kill(rng, "UploadPartCopy", rng.randint(1, 2)),
            kill(rng, "DeleteObjects", 1),
        ],
        delete_staging=True,
        concurrency=1,
    ),
    Scenario(
        "mixed objects, every phase once",
        {**_big(1), **_small(40)},
        lambda rng: [
            kill(rng, "listing page", 2),
            kill(rng, "UploadPartCopy", rng.randint(1, 3)),  # big/ sorts first: copied first
            kill(rng, "HeadObject", rng.randint(3, 8)),
            kill(rng, "CopyObject", rng.randint(2, 10)),
            kill(rng, "verification listing"),
            kill(rng, "DeleteObjects", 1),
        ],
        delete_staging=True,
        concurrency=1,
    ),
)


def _gate(world: World, point: KillPoint, transfer_id: int) -> Gate:
    proxy: FaultProxy = world.proxy
    dest, staging = world.dest_bucket, world.staging_bucket
    if point.phase == "listing page":
        return world.globus_proxy.hold(_listing_page, nth=point.nth)
    if point.phase == "verification listing":
        # The batch's first destination listing plans the copies (when some are left to do),
        # the next one verifies them.
        to_plan = any(r["state"] in ("pending", "copying") for r in world.rows(transfer_id))
        return proxy.hold(matching("ListObjectsV2", bucket=dest), nth=2 if to_plan else 1)
    if point.phase == "HeadObject":
        return proxy.hold(matching("HeadObject", bucket=staging), nth=point.nth)
    bucket = staging if point.phase == "DeleteObjects" else dest
    return proxy.hold(matching(point.phase, bucket=bucket), nth=point.nth)


def _listing_page(request: ProxyRequest) -> bool:
    return request.path.endswith("/successful_transfers")


def _start(world: World, runner: str, concurrency: int) -> Process:
    if runner == "daemon":
        return world.daemon(concurrency=concurrency)
    return world.run_once(concurrency=concurrency)


def _kill_at(world: World, point: KillPoint, transfer_id: int, concurrency: int) -> Verified:
    gate = _gate(world, point, transfer_id)
    process = _start(world, point.runner, concurrency)
    world.until(
        lambda: gate.reached.is_set() or process.popen.poll() is not None,
        timeout=90,
        what=str(point),
    )
    assert gate.reached.is_set(), f"{point} was never reached:\n{process.output()[-3000:]}"
    os.kill(process.pid, signal.SIGKILL)
    process.popen.wait()
    world.figures.kills += 1
    gate.release(forward=point.forward)
    check_database(world)
    return verified_now(world)


def _scenarios() -> Iterator[tuple[Scenario, list[KillPoint]]]:
    rng = random.Random(SEED)
    for scenario in SCENARIOS:
        yield scenario, scenario.points(rng)


@pytest.mark.parametrize(
    ("scenario", "points"),
    list(_scenarios()),
    ids=[scenario.name for scenario in SCENARIOS],
)
def test_kill_9_at_seeded_points_then_restart_loses_nothing_and_redoes_nothing_verified(
    world: World, scenario: Scenario, points: Sequence[KillPoint]
) -> None:
    world.standin.settings.successful_transfers_page_size = LISTING_PAGE
    task = world.add_task(scenario.files)
    transfer_id = world.watch(task, "archive", *scenario.flags, parts=SMALL_PARTS)
    snapshots = [_kill_at(world, point, transfer_id, scenario.concurrency) for point in points]

    finish = world.daemon(concurrency=scenario.concurrency)
    assert world.wait(finish) == 0, finish.output()[-3000:]

    check_landed(world, transfer_id, world.expected(scenario.files, "archive"))
    for snapshot in snapshots:
        check_not_copied_again(world, snapshot)
    check_no_open_uploads(world)
    check_deletes_after_verification(world, transfer_id)
    check_database(world)
    if scenario.delete_staging:
        deleted = {r["source_key"] for r in world.rows(transfer_id) if r["staging_deleted"]}
        assert deleted.isdisjoint(world.staging_keys())


def test_kill_9_while_a_retry_copies_leaves_the_objects_verified_before_untouched(
    world: World,
) -> None:
    # One batch is verified as a whole, so only a retry has verified objects beside pending
    # ones: 12 staging objects vanish before the first copy (PARTIAL), come back, are retried.
    files = _small(50)
    task = world.add_task(files)
    missing = [f"in/s/{i:03d}.dat" for i in range(20, 32)]
    for key in missing:
        world.staging_s3.delete_object(Bucket=world.staging_bucket, Key=key)
    transfer_id = world.watch(task, "archive")
    assert world.wait(world.daemon()) == 0
    assert world.state(transfer_id) == "PARTIAL"
    world.deliver(world.standin.task(task))  # Globus transferred them again
    world.cli("transfers", "retry", str(transfer_id)).ok()
    rng = random.Random(SEED)
    points = [kill(rng, "CopyObject", rng.randint(2, 6)), kill(rng, "verification listing")]
    snapshots = [_kill_at(world, point, transfer_id, 2) for point in points]
    assert len(snapshots[0].rows) == len(files) - len(missing)

    assert world.wait(world.daemon()) == 0
    check_landed(world, transfer_id, world.expected(files, "archive"))
    for snapshot in snapshots:
        check_not_copied_again(world, snapshot)
    check_no_open_uploads(world)
    check_database(world)


def test_kill_9_while_create_multipart_upload_is_answered_leaves_no_upload_open(
    world: World,
) -> None:
    # S3 creates the upload, but the UploadId dies with the process before it is stored:
    # nothing knows the upload any more, and it stays open after the copy is DONE.
    files = _big(1)
    transfer_id = world.watch(world.add_task(files), "archive", parts=SMALL_PARTS)
    _kill_at(world, KillPoint("CreateMultipartUpload", forward=True), transfer_id, 1)

    assert world.wait(world.daemon()) == 0
    check_landed(world, transfer_id, world.expected(files, "archive"))
    check_no_open_uploads(world)


def test_kill_9_mid_copy_with_delete_staging_still_cleans_every_staging_object(
    world: World,
) -> None:
    # Copies that landed just before the kill are found identical after the restart: they
    # are skipped, not copied again (right), but their staging copies must go all the same.
    files = _small(30)
    transfer_id = world.watch(world.add_task(files), "archive", "--delete-staging")
    _kill_at(world, KillPoint("CopyObject", 10, forward=True), transfer_id, 4)

    assert world.wait(world.daemon()) == 0
    check_landed(world, transfer_id, world.expected(files, "archive"))
    left = world.staging_keys() & {f"in/{name}" for name in files}
    assert left == set(), f"{len(left)} staging object(s) left behind, e.g. {min(left)}"
