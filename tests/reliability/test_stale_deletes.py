"""Every staging delete is bound to what was verified (issue 13, class 2).

The scenario that lost data: with ``--delete-staging``, a staging object replaced after its copy
was verified (Globus delivering the file again) was deleted anyway, and the newer version was
never copied. Here the delete request is held at the proxy, the object is replaced meanwhile,
then the request goes on: the delete must be refused by S3 for that object (its ETag changed),
the newer bytes stay in staging, the transfer ends PARTIAL with the next step, and `transfers
retry` copies the newer version and then deletes it, bound to its own ETag.
"""

from __future__ import annotations

import pytest

from aws_copy_pt.errors import ExitCode
from tests.reliability.audit import check_database, check_deletes_after_verification
from tests.reliability.world import STAGING_FOLDER, Process, World, content
from tests.support.faultproxy import matching

FILES = {f"f{i:02d}.dat": 200 + 41 * i for i in range(12)}
REPLACED = "f05.dat"
NEWER = b"the file as Globus delivered it the second time"


def _etag_bound(world: World) -> list[str]:
    """Keys of staging DeleteObjects requests that were not bound to an ETag or version."""
    return [
        key
        for record in world.proxy.records
        if record.operation == "DeleteObjects" and record.bucket == world.staging_bucket
        for key, bound in record.requested_bounds.items()
        if bound is None
    ]


def _replaced_while_its_delete_is_held(world: World) -> Process:
    """A `run --once` whose first staging delete is held while staging object REPLACED is
    delivered again; the delete then goes on. The newer bytes must still be there after."""
    gate = world.proxy.hold(matching("DeleteObjects", bucket=world.staging_bucket))
    process = world.run_once(concurrency=2)
    world.until(gate.reached.is_set, what="the staging delete")
    replaced = f"{STAGING_FOLDER}/{REPLACED}"
    world.staging_s3.put_object(Bucket=world.staging_bucket, Key=replaced, Body=NEWER)
    gate.release(forward=True)
    assert world.wait(process) == ExitCode.PARTIAL, process.output()
    kept = world.staging_s3.get_object(Bucket=world.staging_bucket, Key=replaced)
    assert kept["Body"].read() == NEWER, "the newer version was deleted"
    world.figures.stale_deletes_kept += 1
    return process


@pytest.mark.parametrize("on_conflict", ["overwrite", "fail"])
def test_a_staging_object_replaced_after_its_copy_was_verified_is_kept_and_retry_copies_it(
    world: World, on_conflict: str
) -> None:
    # With `fail` too: the destination holds the row's own earlier copy, which is no conflict.
    task = world.add_task(FILES)
    transfer_id = world.watch(task, "archive", "--delete-staging", "--on-conflict", on_conflict)
    process = _replaced_while_its_delete_is_held(world)
    assert f"transfers show {transfer_id}" in process.output()
    assert world.state(transfer_id) == "PARTIAL"
    replaced = f"{STAGING_FOLDER}/{REPLACED}"
    rows = {r["source_key"]: r for r in world.rows(transfer_id)}
    assert rows[replaced]["state"] == "failed"
    assert "changed after it was copied; kept" in rows[replaced]["last_error"]
    assert f"transfers retry {transfer_id}" in rows[replaced]["last_error"]
    others = {f"{STAGING_FOLDER}/{name}" for name in FILES} - {replaced}
    assert world.staging_keys() == {replaced}
    assert all(rows[key]["staging_deleted"] for key in others)

    world.cli("transfers", "retry", str(transfer_id)).ok()
    again = world.run_once(concurrency=2)
    assert world.wait(again) == 0, again.output()
    assert world.state(transfer_id) == "DONE"
    dest = world.dest_objects("archive")
    assert dest[f"archive/{REPLACED}"] == NEWER
    expected = world.expected(FILES, "archive")
    assert {k: v for k, v in dest.items() if k != f"archive/{REPLACED}"} == {
        k: v for k, v in expected.items() if k != f"archive/{REPLACED}"
    }
    assert world.staging_keys() == set()
    assert _etag_bound(world) == []
    check_deletes_after_verification(world, transfer_id)
    check_database(world)


def test_a_staging_object_replaced_after_it_was_found_identical_is_kept(world: World) -> None:
    # Skipped rows (already identical in the destination) clean staging too: same binding.
    task = world.add_task(FILES)
    for name, size in FILES.items():
        key = f"{STAGING_FOLDER}/{name}"
        world.dest_s3.put_object(
            Bucket=world.dest_bucket, Key=f"archive/{name}", Body=content(key, size)
        )
    transfer_id = world.watch(task, "archive", "--delete-staging")
    _replaced_while_its_delete_is_held(world)
    assert world.staging_keys() == {f"{STAGING_FOLDER}/{REPLACED}"}
    assert world.state(transfer_id) == "PARTIAL"
    assert _etag_bound(world) == []
    check_database(world)
