"""Nothing is left behind after kill -9 (issue 13, class 5).

The scenario that left data behind: kill -9 during the staging clean-up of skipped (already
identical) rows; the next pass never deleted those staging objects and `transfers show` did not
say so. Every delete owed is recorded before its request goes out, so the next pass finishes it,
still bound to the verified ETag. Here the worker is killed while its first staging DeleteObjects
is held at the proxy (the request then reaches S3 or is lost), and a daemon finishes the job.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.reliability.audit import check_database, check_deletes_after_verification
from tests.reliability.world import STAGING_FOLDER, World, content
from tests.support.faultproxy import matching
from tests.support.faultproxy.s3wire import requested_keys

FILES = {f"o{i:02d}.dat": 120 + 31 * i for i in range(24)}


def _kill_at_first_delete(world: World, *, forward: bool) -> set[str]:
    """Kill the pass while its first staging delete is held; the keys that delete asked for."""
    gate = world.proxy.hold(matching("DeleteObjects", bucket=world.staging_bucket))
    process = world.run_once()
    world.until(
        lambda: gate.reached.is_set() or process.popen.poll() is not None,
        what="the first staging delete",
    )
    assert gate.reached.is_set(), process.output()
    os.kill(process.pid, signal.SIGKILL)
    process.popen.wait()
    world.figures.kills += 1
    gate.release(forward=forward)
    check_database(world)
    assert gate.request is not None
    return set(requested_keys(gate.request.body))


def _owed(world: World, transfer_id: int) -> set[str]:
    found = world.query(
        "SELECT source_key FROM object_copies WHERE transfer_id = ? AND delete_owed = 1",
        transfer_id,
    )
    return {str(key) for (key,) in found}


def _finish_and_check(world: World, transfer_id: int, owed: set[str]) -> None:
    tick = world.proxy.tick()
    finish = world.daemon()
    assert world.wait(finish) == 0, finish.output()
    assert world.state(transfer_id) == "DONE"
    left = world.staging_keys() & {f"{STAGING_FOLDER}/{name}" for name in FILES}
    assert left == set(), f"{len(left)} staging object(s) left behind, e.g. {min(left)}"
    etags = {
        str(key): str(etag).strip('"')
        for key, etag in world.query(
            "SELECT source_key, source_etag FROM object_copies WHERE transfer_id = ?", transfer_id
        )
    }
    bounds = {
        key: bound
        for record in world.proxy.records
        if record.started > tick and record.operation == "DeleteObjects"
        for key, bound in record.requested_bounds.items()
    }
    assert owed <= set(bounds), f"owed deletes not sent: {sorted(owed - set(bounds))[:3]}"
    unbound = {key for key, bound in bounds.items() if bound != f"etag:{etags[key]}"}
    assert unbound == set(), f"deletes not bound to the verified ETag: {sorted(unbound)[:3]}"
    assert _owed(world, transfer_id) == set()
    world.figures.owed_deletes_finished += len(owed)
    shown = world.cli("transfers", "show", str(transfer_id)).ok()
    assert "not deleted yet" not in shown.stdout


@pytest.mark.heavy
@pytest.mark.parametrize("forward", [False, True], ids=["delete lost", "delete reached S3"])
def test_kill_9_while_identical_objects_are_cleaned_then_the_next_pass_deletes_them(
    world: World, forward: bool
) -> None:
    task = world.add_task(FILES)
    for name, size in FILES.items():  # already copied: every row is skipped as identical
        world.dest_s3.put_object(
            Bucket=world.dest_bucket,
            Key=f"archive/{name}",
            Body=content(f"{STAGING_FOLDER}/{name}", size),
        )
    transfer_id = world.watch(task, "archive", "--delete-staging")
    owed = _kill_at_first_delete(world, forward=forward)

    assert len(owed) == len(FILES)
    _finish_and_check(world, transfer_id, owed)


@pytest.mark.heavy
@pytest.mark.parametrize("forward", [False, True], ids=["delete lost", "delete reached S3"])
def test_kill_9_while_verified_objects_are_cleaned_then_the_next_pass_deletes_them(
    world: World, forward: bool
) -> None:
    transfer_id = world.watch(world.add_task(FILES), "archive", "--delete-staging")
    owed = _kill_at_first_delete(world, forward=forward)

    assert owed
    _finish_and_check(world, transfer_id, owed)
    check_deletes_after_verification(world, transfer_id)
