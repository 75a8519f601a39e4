"""The local engine's safety rules hold for a batch job's copies too: no job for a transfer whose
destination overlaps its source, and each staging delete bound to what was verified."""

from __future__ import annotations

import pytest

from aws_copy_pt.core.overlap import OverlapError
from aws_copy_pt.db.models import Transfer
from aws_copy_pt.services.copy.batch import advance_batch
from tests.functional.batch_world import ALWAYS_DUE, BatchCopyWorld
from tests.functional.batch_world import batch_copy as batch_copy
from tests.functional.copy_world import copy_world as copy_world

KEYS = [f"run/{i:02d}.dat" for i in range(3)]


def test_a_batch_transfer_that_overlaps_its_source_fails_before_a_job_is_created(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    batch_copy.put_all(KEYS)
    world.update_bucket(world.staging, batch_role_arn=batch_copy.role_arn)
    transfer = batch_copy.transfer(KEYS)
    with world.db.session() as session:  # as an older version (or a hand edit) recorded it
        row = session.get(Transfer, transfer)
        assert row is not None
        row.dest_bucket_id, row.dest_prefix = row.source_bucket_id, "copies/"

    with pytest.raises(OverlapError):
        batch_copy.one_pass(transfer)

    assert batch_copy.requests("CreateJob") == 0 and batch_copy.jobs(transfer) == []
    with world.db.session() as session:
        row = session.get(Transfer, transfer)
        assert row is not None and row.state == "FAILED"
    staged = world.staging_s3.list_objects_v2(Bucket=world.staging)["Contents"]
    assert sorted(item["Key"] for item in staged) == KEYS  # nothing copied, nothing deleted


def test_a_staging_object_replaced_after_the_job_copied_it_is_kept(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    batch_copy.put_all(KEYS)
    transfer = batch_copy.transfer(KEYS, options={"delete_staging": True})
    batch_copy.one_pass(transfer, poll_bounds=ALWAYS_DUE)
    job_id = str(batch_copy.jobs(transfer)[0].job_id)
    batch_copy.standin.wait_for_status(job_id)
    advance_batch(world.db, world.factory, transfer, bounds=ALWAYS_DUE)  # the report is read
    assert {row.state for row in world.rows(transfer).values()} == {"copied"}
    world.put(KEYS[0], b"x" * 50)  # Globus delivers the file again, same size, new bytes

    report = batch_copy.one_pass(transfer)

    assert report.state == "PARTIAL"
    rows = world.rows(transfer)
    assert rows[KEYS[0]].state == "failed" and not rows[KEYS[0]].staging_deleted
    assert "changed after it was copied" in str(rows[KEYS[0]].last_error)
    assert all(rows[key].staging_deleted for key in KEYS[1:])
    staged = world.staging_s3.get_object(Bucket=world.staging, Key=KEYS[0])["Body"].read()
    assert staged == b"x" * 50  # the newer object stays, for a retry to copy
