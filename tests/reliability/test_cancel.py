"""A cancel stops the pass that is copying; `daemon stop` stops only a daemon (issue 13, class 4).

The scenario that went wrong: `transfers cancel` during a running `run --once` said CANCELLED,
then the pass copied every remaining object, deleted their staging copies and died with
``IllegalTransitionError CANCELLED -> DONE`` (exit 1). Here a real `run --once` subprocess is
held at the proxy in the middle of its copies (or of its verification), the transfer is
cancelled from this process, and the pass must notice: no copy and no delete is sent after the
cancel, the pass exits 0 with a line saying where it stopped, and the transfer stays CANCELLED.
"""

from __future__ import annotations

import json

from tests.reliability.audit import check_database, check_no_open_uploads
from tests.reliability.world import SMALL_PARTS, STAGING_FOLDER, MiB, World
from tests.support.faultproxy import matching

FILES = {f"c{i:02d}.dat": 150 + 23 * i for i in range(30)}
COPIES = frozenset({"CopyObject", "CreateMultipartUpload", "UploadPartCopy"})
DELETES = frozenset({"DeleteObjects", "DeleteObject"})


def _cancel_seen(world: World, transfer_id: int) -> bool:
    found = world.query(
        "SELECT 1 FROM events WHERE transfer_id = ? AND message LIKE 'cancel seen%'", transfer_id
    )
    return bool(found)


def _sent_after(world: World, tick: int, operations: frozenset[str]) -> list[str]:
    return [
        f"{r.operation} {r.key}"
        for r in world.proxy.records
        if r.started > tick and r.operation in operations
    ]


def _cancel_while_held(world: World, transfer_id: int, phase: str, nth: int) -> int:
    """Hold the ``nth`` request of ``phase``, cancel, wait until the pass saw it, release;
    returns the proxy tick of the cancel."""
    bucket = world.staging_bucket if phase in DELETES else world.dest_bucket
    gate = world.proxy.hold(matching(phase, bucket=bucket), nth=nth)
    process = world.run_once(concurrency=1)
    world.until(
        lambda: gate.reached.is_set() or process.popen.poll() is not None,
        what=f"{phase} #{nth}",
    )
    assert gate.reached.is_set(), process.output()
    tick = world.proxy.tick()
    world.cli("transfers", "cancel", str(transfer_id)).ok()
    world.until(lambda: _cancel_seen(world, transfer_id), timeout=30, what="the pass to see it")
    gate.release(forward=True)
    assert world.wait(process) == 0, process.output()
    output = process.output()
    assert output.count(f"Transfer {transfer_id} was cancelled; stopped after") == 1, output
    assert "-> CANCELLED" not in output and "cancel seen" not in output, output  # told once
    assert "nothing more copied or deleted" in output
    assert "IllegalTransitionError" not in output and "Traceback" not in output, output
    assert world.state(transfer_id) == "CANCELLED"
    return tick


def test_cancel_during_a_run_once_stops_its_copies_and_deletes_and_it_exits_0(
    world: World,
) -> None:
    transfer_id = world.watch(world.add_task(FILES), "archive", "--delete-staging")
    tick = _cancel_while_held(world, transfer_id, "CopyObject", nth=8)

    assert _sent_after(world, tick, COPIES) == []
    assert _sent_after(world, tick, DELETES) == []
    assert world.staging_keys() == {f"{STAGING_FOLDER}/{name}" for name in FILES}
    assert len(world.dest_objects("archive")) <= 8
    check_database(world)
    world.figures.cancels_honoured += 1


def test_cancel_while_a_batch_is_verified_deletes_nothing_of_it(world: World) -> None:
    transfer_id = world.watch(world.add_task(FILES), "archive", "--delete-staging")
    # The first destination listing finds the prefix empty; the second verifies the batch.
    tick = _cancel_while_held(world, transfer_id, "ListObjectsV2", nth=2)

    assert _sent_after(world, tick, DELETES) == []
    assert world.staging_keys() == {f"{STAGING_FOLDER}/{name}" for name in FILES}
    shown = json.loads(world.cli("--json", "transfers", "show", str(transfer_id)).ok().stdout)
    assert shown["staging_left_total"] == len(FILES)
    assert {left["why"] for left in shown["staging_left"]} == {
        "not deleted: the transfer was cancelled first"
    }
    check_database(world)
    world.figures.cancels_honoured += 1


def test_cancel_during_a_multipart_copy_leaves_no_upload_open(world: World) -> None:
    files = {"big.bin": 16 * MiB, **{f"s{i}.dat": 100 for i in range(3)}}
    transfer_id = world.watch(world.add_task(files), "archive", parts=SMALL_PARTS)
    tick = _cancel_while_held(world, transfer_id, "UploadPartCopy", nth=1)

    assert _sent_after(world, tick, COPIES) == []
    check_no_open_uploads(world)
    check_database(world)
    world.figures.cancels_honoured += 1


def test_daemon_stop_leaves_a_run_once_alone_and_names_what_holds_the_home(
    world: World,
) -> None:
    transfer_id = world.watch(world.add_task(FILES), "archive")
    gate = world.proxy.hold(matching("CopyObject", bucket=world.dest_bucket), nth=3)
    process = world.run_once(concurrency=1)
    world.until(gate.reached.is_set, what="the 3rd copy")

    stopped = world.cli("daemon", "stop").ok()
    assert "nothing was stopped" in stopped.stdout, stopped.explain()
    assert f"`run --once` (pid {process.pid})" in stopped.stdout, stopped.explain()
    assert "Daemon (pid" not in stopped.stdout
    status = world.cli("daemon", "status")
    assert "`run --once`" in status.stdout, status.explain()
    gate.release(forward=True)
    assert world.wait(process) == 0, process.output()
    assert world.state(transfer_id) == "DONE"
