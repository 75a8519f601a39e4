"""The batch engine through the S3 Control stand-in: the split, the job, its report, and the
local engine's verification and clean-up of what the job copied."""

from __future__ import annotations

import pytest

from aws_copy_pt.errors import ConfigError
from aws_copy_pt.services.copy.batch import advance_batch
from tests.functional.batch_world import ALWAYS_DUE, BatchCopyWorld
from tests.functional.batch_world import batch_copy as batch_copy
from tests.functional.copy_world import CopyWorld, s3_error
from tests.functional.copy_world import copy_world as copy_world

KEYS = [f"run/{i:02d}.dat" for i in range(12)]


def test_a_batch_transfer_is_copied_by_the_job_then_verified_by_the_local_engine(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    batch_copy.put_all(KEYS)
    transfer = batch_copy.transfer(KEYS, dest_prefix="archive")
    report = batch_copy.until_done(transfer)
    assert report.state == "DONE", (report, world.events(transfer))
    rows = world.rows(transfer)
    assert {(row.state, row.batch_attempt) for row in rows.values()} == {("verified", 1)}
    assert sorted(k for k in world.dest_keys() if k.startswith("archive/")) == [
        f"archive/{k}" for k in KEYS
    ]
    job = batch_copy.snapshot(transfer)
    assert (job.status, job.succeeded, job.failed) == ("Complete", 12, 0)
    assert len(batch_copy.standin.jobs()) == 1


def test_objects_over_the_batch_limit_go_through_the_local_engine_in_the_same_transfer(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    batch_copy.put_all(KEYS[:3], size=100)
    world.put("run/big.bin", b"b" * 5000)
    keys = [*KEYS[:3], "run/big.bin"]
    transfer = batch_copy.transfer(keys, options={"batch_max_bytes": 1000})
    assert batch_copy.until_done(transfer).state == "DONE"
    rows = world.rows(transfer)
    assert rows["run/big.bin"].batch_attempt is None  # the local engine copied it
    assert {rows[k].batch_attempt for k in KEYS[:3]} == {1}
    assert {row.state for row in rows.values()} == {"verified"}
    assert batch_copy.snapshot(transfer).total == 3
    assert any("1 larger than a batch copy allows" in e for e in world.events(transfer))


def test_auto_copies_locally_what_a_job_cannot_map_and_batch_refuses_it(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    batch_copy.put_all(KEYS[:2])
    with world.db.session() as session:
        from aws_copy_pt.db.models import Transfer

        for engine in ("auto", "batch"):
            transfer_id = world.transfer(
                KEYS[:2], dest_prefix="archive", options={"engine": engine, "batch_threshold": 1}
            )
            row = session.get(Transfer, transfer_id)
            assert row is not None
            row.source_prefix = "run/"  # dest = archive/ + key without run/: not a prefix
    auto, explicit = transfer_id - 1, transfer_id
    assert world.copy(auto).state == "DONE"
    assert any("only prepend" in e for e in world.events(auto))
    assert batch_copy.standin.jobs() == []
    with pytest.raises(ConfigError, match="only prepend"):
        world.copy(explicit)


def test_failed_tasks_of_a_complete_job_are_copied_again_by_the_local_engine(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    batch_copy.put_all(KEYS)
    batch_copy.standin.fail_key(KEYS[3], http_status=503, code="SlowDown", message="slow down")
    transfer = batch_copy.transfer(KEYS)
    assert batch_copy.until_done(transfer).state == "DONE"
    row = world.row(transfer, KEYS[3])
    assert (row.state, row.batch_attempt) == ("verified", None)
    assert any(
        "11 copied (to verify), 1 back to the local engine" in e for e in world.events(transfer)
    )


def test_a_failed_job_fails_its_rows_with_its_reasons_and_a_retry_creates_a_second_job(
    batch_copy: BatchCopyWorld,
) -> None:
    from aws_copy_pt.services.transfers import retry_transfer

    world, standin = batch_copy.world, batch_copy.standin
    batch_copy.put_all(KEYS)
    standin.settings.failure_threshold_min_tasks = 2
    standin.settings.chunk_size = 4
    for key in KEYS:
        standin.fail_key(key)
    transfer = batch_copy.transfer(KEYS)
    report = batch_copy.until_done(transfer)
    assert report.state == "FAILED"
    assert batch_copy.snapshot(transfer).status == "Failed"
    rows = world.rows(transfer)
    assert {row.state for row in rows.values()} == {"failed"}
    assert all("batch job" in str(row.last_error) for row in rows.values())
    with world.db.session() as session:
        from aws_copy_pt.db.models import Transfer

        failed = session.get(Transfer, transfer)
        assert failed is not None and "TaskFailureThresholdExceeded" in str(failed.last_error)
    for key in KEYS:
        standin.heal_key(key)
    with world.db.session() as session:
        retry_transfer(session, transfer)
    assert batch_copy.until_done(transfer).state == "DONE"
    assert [job.attempt for job in batch_copy.jobs(transfer)] == [1, 2]
    assert len(standin.jobs()) == 2


def test_a_job_created_with_confirm_waits_suspended_until_transfers_confirm(
    batch_copy: BatchCopyWorld,
) -> None:
    from aws_copy_pt.services.copy.batch.actions import awaiting_confirmation, confirm_job
    from aws_copy_pt.services.news import needing_attention

    world = batch_copy.world
    batch_copy.put_all(KEYS[:4])
    transfer = batch_copy.transfer(KEYS[:4], options={"confirm": True})
    batch_copy.one_pass(transfer, poll_bounds=ALWAYS_DUE)  # every next pass polls
    job_id = batch_copy.jobs(transfer)[0].job_id
    assert job_id is not None
    batch_copy.standin.wait_for_status(job_id, "Suspended")
    batch_copy.one_pass(transfer, poll_bounds=ALWAYS_DUE)
    assert [w.transfer_id for w in awaiting_confirmation(world.db)] == [transfer]
    [attention] = needing_attention(world.db)
    assert attention.next_step == f"aws-copy-pt transfers confirm {transfer}"
    assert world.state(transfer) == "COPYING"
    confirmed = confirm_job(world.db, world.factory, transfer)
    assert confirmed.status == "Ready"
    assert batch_copy.until_done(transfer).state == "DONE"


def test_cancelling_the_transfer_cancels_its_running_job(batch_copy: BatchCopyWorld) -> None:
    from aws_copy_pt.services.copy.batch.actions import cancel_job

    world, standin = batch_copy.world, batch_copy.standin
    batch_copy.put_all(KEYS[:4])
    standin.hold("Active")
    transfer = batch_copy.transfer(KEYS[:4])
    batch_copy.one_pass(transfer)
    [job] = batch_copy.jobs(transfer)
    assert job.job_id is not None
    standin.wait_for_status(job.job_id, "Active")
    assert cancel_job(world.db, world.factory, transfer) == job.job_id
    standin.release("Active")
    assert standin.wait_for_status(job.job_id).status == "Cancelled"
    assert batch_copy.jobs(transfer)[0].phase == "cancelled"


def test_a_job_cancelled_in_s3_cancels_the_transfer(batch_copy: BatchCopyWorld) -> None:
    world, standin = batch_copy.world, batch_copy.standin
    batch_copy.put_all(KEYS[:4])
    standin.hold("Active")
    transfer = batch_copy.transfer(KEYS[:4])
    batch_copy.one_pass(transfer)
    job_id = str(batch_copy.jobs(transfer)[0].job_id)
    standin.wait_for_status(job_id, "Active")
    control = standin.client(world.accounts.destination, "eu-west-1")
    control.update_job_status(
        AccountId=world.accounts.destination.account_id,
        JobId=job_id,
        RequestedJobStatus="Cancelled",
    )
    standin.release("Active")
    standin.wait_for_status(job_id)
    report = batch_copy.until_done(transfer)
    assert report.state == "CANCELLED"
    assert world.state(transfer) == "CANCELLED"


def test_a_denied_pass_role_names_the_permission_and_holds_the_rows_until_it_is_granted(
    batch_copy: BatchCopyWorld,
) -> None:
    from aws_copy_pt.s3.errors import S3AccessDenied

    world, standin = batch_copy.world, batch_copy.standin
    batch_copy.put_all(KEYS[:3])
    standin.deny_pass_role(batch_copy.role_arn)
    transfer = batch_copy.transfer(KEYS[:3])
    with pytest.raises(S3AccessDenied) as denied:
        batch_copy.one_pass(transfer)
    assert f"iam:PassRole on {batch_copy.role_arn}" in denied.value.message
    assert "aws-copy-pt policy --engine batch" in str(denied.value.hint)
    assert {row.state for row in world.rows(transfer).values()} == {"copying"}
    assert world.state(transfer) == "COPYING"
    standin.register_role(world.accounts.destination)  # the permission was granted
    assert batch_copy.until_done(transfer).state == "DONE"
    assert len(standin.jobs()) == 1


def test_createjob_answered_with_an_error_after_it_created_the_job_never_makes_a_second(
    batch_copy: BatchCopyWorld,
) -> None:
    from aws_copy_pt.errors import AwsCopyPtError

    world, standin = batch_copy.world, batch_copy.standin
    batch_copy.put_all(KEYS[:3])
    standin.inject("CreateJob", status=400, code="InvalidRequest", message="lost", after=True)
    transfer = batch_copy.transfer(KEYS[:3])
    with pytest.raises(AwsCopyPtError):
        batch_copy.one_pass(transfer)  # the job exists; its id was never stored
    assert len(standin.jobs()) == 1 and batch_copy.jobs(transfer)[0].job_id is None
    assert batch_copy.until_done(transfer).state == "DONE"
    assert len(standin.jobs()) == 1
    assert batch_copy.jobs(transfer)[0].job_id == standin.jobs()[0].job_id
    assert world.rows(transfer)[KEYS[0]].state == "verified"


def test_a_report_never_verifies_a_copy_the_destination_does_not_hold(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    batch_copy.put_all(KEYS[:4])
    transfer = batch_copy.transfer(KEYS[:4], options={"delete_staging": True})
    batch_copy.one_pass(transfer, poll_bounds=ALWAYS_DUE)  # every next pass polls
    job_id = str(batch_copy.jobs(transfer)[0].job_id)
    batch_copy.standin.wait_for_status(job_id)
    advance_batch(world.db, world.factory, transfer, bounds=ALWAYS_DUE)  # the report is read
    assert {row.state for row in world.rows(transfer).values()} == {"copied"}
    world.dest_s3.delete_object(Bucket=world.dest, Key=KEYS[1])  # gone after the report
    report = batch_copy.one_pass(transfer)
    assert report.state == "PARTIAL"
    rows = world.rows(transfer)
    assert rows[KEYS[1]].state == "failed" and not rows[KEYS[1]].staging_deleted
    assert "missing after its copy" in str(rows[KEYS[1]].last_error)
    staged = {i["Key"] for i in world.staging_s3.list_objects_v2(Bucket=world.staging)["Contents"]}
    assert staged == {KEYS[1]}  # only verified copies had their staging objects deleted


def test_with_versioned_staging_the_job_copies_the_version_that_was_planned(
    batch_copy: BatchCopyWorld,
) -> None:
    world, standin = batch_copy.world, batch_copy.standin
    world.staging_s3.put_bucket_versioning(
        Bucket=world.staging, VersioningConfiguration={"Status": "Enabled"}
    )
    batch_copy.put_all(KEYS[:3])
    standin.hold("Preparing")
    transfer = batch_copy.transfer(KEYS[:3])
    batch_copy.one_pass(transfer)
    [job] = batch_copy.jobs(transfer)
    assert job.versioned
    world.put(KEYS[0], b"overwritten after planning")
    standin.release("Preparing")
    assert batch_copy.until_done(transfer).state == "DONE"
    body = world.dest_s3.get_object(Bucket=world.dest, Key=KEYS[0])["Body"].read()
    assert body == (KEYS[0].encode() * 50)[:50]
    assert all(row.source_version_id for row in world.rows(transfer).values())
    _delete_every_version(world)


def _delete_every_version(world: CopyWorld) -> None:
    versions = world.staging_s3.list_object_versions(Bucket=world.staging)
    for version in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        world.staging_s3.delete_object(
            Bucket=world.staging, Key=version["Key"], VersionId=version["VersionId"]
        )


def test_a_failed_tasks_only_report_still_has_every_copy_verified(
    batch_copy: BatchCopyWorld,
) -> None:
    batch_copy.put_all(KEYS[:5])
    transfer = batch_copy.transfer(KEYS[:5], options={"failed_tasks_only": True})
    assert batch_copy.until_done(transfer).state == "DONE"
    assert batch_copy.jobs(transfer)[0].report_scope == "FailedTasksOnly"
    assert {row.state for row in batch_copy.world.rows(transfer).values()} == {"verified"}


def test_a_missing_report_sends_the_jobs_objects_to_the_local_engine(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    batch_copy.put_all(KEYS[:3])
    transfer = batch_copy.transfer(KEYS[:3])
    batch_copy.one_pass(transfer)
    [job] = batch_copy.jobs(transfer)
    batch_copy.standin.wait_for_status(str(job.job_id))
    listing = world.dest_s3.list_objects_v2(Bucket=world.dest, Prefix=job.report_prefix)
    for item in listing["Contents"]:
        world.dest_s3.delete_object(Bucket=world.dest, Key=item["Key"])
    assert batch_copy.until_done(transfer).state == "DONE"
    assert {row.batch_attempt for row in world.rows(transfer).values()} == {None}
    assert any(
        "0 copied (to verify), 3 back to the local engine" in e for e in world.events(transfer)
    )


def test_the_job_applies_the_buckets_copy_settings_and_tags_copies_with_the_globus_task(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    world.update_bucket(world.dest, storage_class="STANDARD_IA")
    batch_copy.put_all(KEYS[:2])
    task = "0b1c2d3e-0000-4000-8000-000000000001"
    transfer = batch_copy.transfer(KEYS[:2], kind="globus", globus_task_id=task)
    assert batch_copy.until_done(transfer).state == "DONE"
    head = world.dest_s3.head_object(Bucket=world.dest, Key=KEYS[0])
    assert head["StorageClass"] == "STANDARD_IA"
    # moto files tags under the writing account: here the batch role's (the destination's)
    tags = world.dest_s3.get_object_tagging(Bucket=world.dest, Key=KEYS[0])["TagSet"]
    assert tags == [{"Key": "globus-task-id", "Value": task}]


def test_a_pass_before_the_next_poll_is_due_sends_no_describe_job(
    batch_copy: BatchCopyWorld,
) -> None:
    from aws_copy_pt.services.copy.batch import PollBounds

    world = batch_copy.world
    batch_copy.put_all(KEYS[:2])
    batch_copy.standin.hold("Active")
    transfer = batch_copy.transfer(KEYS[:2])
    slow = PollBounds(minimum=3600, maximum=7200)
    world.copy(transfer, poll_bounds=slow)
    assert batch_copy.requests("DescribeJob") == 1  # right after CreateJob
    world.copy(transfer, poll_bounds=slow)
    assert batch_copy.requests("DescribeJob") == 1
    assert batch_copy.requests("CreateJob") == 1
    batch_copy.standin.release("Active")


def test_the_manifest_is_sse_s3_names_hostile_keys_encoded_and_its_etag_is_the_jobs(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    keys = ["a b/c,d.txt", "plus+sign", 'quote"and%percent', "ünïcødé/文件", "tab\there"]
    batch_copy.put_all(keys)
    transfer = batch_copy.transfer(keys)
    assert batch_copy.until_done(transfer).state == "DONE"
    [job] = batch_copy.jobs(transfer)
    head = world.dest_s3.head_object(Bucket=world.dest, Key=job.manifest_key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ETag"].strip('"') == job.manifest_etag
    body = world.dest_s3.get_object(Bucket=world.dest, Key=job.manifest_key)["Body"].read()
    assert b"a%20b/c%2Cd.txt" in body and b"plus%2Bsign" in body and b"tab%09here" in body
    assert set(world.dest_keys()) >= set(keys)


def test_a_denied_versioning_question_still_makes_a_job_of_current_versions(
    batch_copy: BatchCopyWorld,
) -> None:
    world = batch_copy.world
    world.hook(world.staging, "GetBucketVersioning", lambda **_: s3_error(403, "AccessDenied"))
    batch_copy.put_all(KEYS[:2])
    transfer = batch_copy.transfer(KEYS[:2])
    assert batch_copy.until_done(transfer).state == "DONE"
    assert not batch_copy.jobs(transfer)[0].versioned
    assert any("s3:GetBucketVersioning denied" in e for e in world.events(transfer))
