"""The copy engine against the moto server: single copies, skips, conflicts, states, resume."""

from __future__ import annotations

import threading
from typing import Any

from aws_copy_pt.services.copy import CopyProgress
from tests.functional.copy_world import CopyWorld, headers_of
from tests.functional.copy_world import copy_world as copy_world


def count(world: CopyWorld, bucket: str, operation: str) -> list[Any]:
    """Every ``operation`` request the engine sends to ``bucket`` from now on."""
    seen: list[Any] = []
    world.hook(bucket, operation, lambda request, **_: seen.append(request))
    return seen


def test_single_copy_keeps_metadata_and_content_headers(copy_world: CopyWorld) -> None:
    world = copy_world
    source = world.put(
        "run1/a.txt",
        b"hello world",
        ContentType="text/plain",
        CacheControl="max-age=60",
        ContentDisposition="inline",
        Metadata={"owner": "lab-7"},
    )
    transfer = world.transfer(["run1/a.txt"], dest_prefix="archive")
    report = world.copy(transfer)
    assert report.state == "DONE", report
    copied = world.dest_head("archive/run1/a.txt")
    assert copied["ContentType"] == "text/plain"
    assert copied["CacheControl"] == "max-age=60"
    assert copied["ContentDisposition"] == "inline"
    assert copied["Metadata"] == {"owner": "lab-7"}
    assert copied["ETag"] == source["ETag"]


def test_rows_go_from_pending_through_copying_and_copied_to_verified(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    source = world.put("a.dat", b"abc" * 100)
    transfer = world.transfer(["a.dat"])
    seen: list[tuple[str, str]] = []
    world.hook(
        world.dest,
        "CopyObject",
        lambda **_: seen.append(("copy", world.row(transfer, "a.dat").state)),
    )
    world.hook(
        world.dest,
        "ListObjectsV2",
        lambda **_: seen.append(("list", world.row(transfer, "a.dat").state)),
    )
    world.copy(transfer)
    assert seen == [("list", "pending"), ("copy", "copying"), ("list", "copied")]
    row = world.row(transfer, "a.dat")
    assert (row.state, row.attempts, row.last_error) == ("verified", 1, None)
    assert row.size == 300 and row.source_etag == source["ETag"].strip('"')
    assert row.dest_etag == row.source_etag
    assert row.checksum_algorithm == "CRC32" and row.dest_checksum == source["ChecksumCRC32"]
    assert row.started_at is not None and row.finished_at is not None
    assert world.state(transfer) == "DONE"
    assert any("COPYING" in e or "all 1 object(s) done" in e for e in world.events(transfer))


def test_rows_learn_size_and_etag_from_one_listing_not_a_head_each(copy_world: CopyWorld) -> None:
    world = copy_world
    keys = [f"batch/{i:03d}.dat" for i in range(30)]
    for key in keys:
        world.put(key, key.encode())
    heads = count(world, world.staging, "HeadObject") + count(world, world.dest, "HeadObject")
    listings = count(world, world.staging, "ListObjectsV2")
    transfer = world.transfer(keys)
    report = world.copy(transfer)
    assert report.verified == 30
    assert heads == []
    assert len(listings) == 1
    assert all(row.size == len(key) for key, row in world.rows(transfer).items())


def test_zero_byte_objects_are_copied_and_verified(copy_world: CopyWorld) -> None:
    world = copy_world
    world.put("empty/marker", b"")
    transfer = world.transfer(["empty/marker"])
    assert world.copy(transfer).verified == 1
    assert world.dest_head("empty/marker")["ContentLength"] == 0


def test_keys_with_unicode_spaces_plus_percent_and_hash_are_copied_exactly(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    keys = ["dir with space/naïve ü.txt", "plus+sign%25#hash?.bin", "日本/データ.h5", "a//double"]
    for key in keys:
        world.put(key, key.encode())
    transfer = world.transfer(keys, dest_prefix="in/")
    assert world.copy(transfer).verified == len(keys)
    assert sorted(world.dest_keys()) == sorted(f"in/{key}" for key in keys)


def test_identical_object_at_the_destination_is_skipped_without_copying(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.put("same.dat", b"same bytes")
    world.dest_s3.put_object(Bucket=world.dest, Key="same.dat", Body=b"same bytes")
    copies = count(world, world.dest, "CopyObject")
    transfer = world.transfer(["same.dat"])
    report = world.copy(transfer)
    assert (report.state, report.skipped, report.copied) == ("DONE", 1, 0)
    assert copies == []
    assert world.row(transfer, "same.dat").state == "skipped"


def test_a_different_destination_object_is_overwritten_by_default_and_logged(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.put("x.dat", b"new content")
    world.dest_s3.put_object(Bucket=world.dest, Key="x.dat", Body=b"old")
    transfer = world.transfer(["x.dat"])
    report = world.copy(transfer)
    assert (report.state, report.overwritten) == ("DONE", 1)
    assert world.dest_s3.get_object(Bucket=world.dest, Key="x.dat")["Body"].read() == b"new content"
    assert any("overwrote 1 destination object" in e for e in world.events(transfer))


def test_on_conflict_fail_keeps_the_different_destination_object(copy_world: CopyWorld) -> None:
    world = copy_world
    world.put("x.dat", b"new content")
    world.put("y.dat", b"fine")
    world.dest_s3.put_object(Bucket=world.dest, Key="x.dat", Body=b"old")
    transfer = world.transfer(["x.dat", "y.dat"], options={"on_conflict": "fail"})
    report = world.copy(transfer)
    assert (report.state, report.failed, report.verified) == ("PARTIAL", 1, 1)
    row = world.row(transfer, "x.dat")
    assert row.state == "failed" and "--on-conflict fail" in (row.last_error or "")
    assert world.dest_s3.get_object(Bucket=world.dest, Key="x.dat")["Body"].read() == b"old"


def test_same_size_destination_is_inspected_by_checksum_before_deciding(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.put("s.dat", b"AAAA")
    world.dest_s3.put_object(Bucket=world.dest, Key="s.dat", Body=b"BBBB")
    heads = count(world, world.dest, "HeadObject")
    transfer = world.transfer(["s.dat"], options={"on_conflict": "fail"})
    report = world.copy(transfer)
    assert report.failed == 1 and len(heads) == 1
    assert "already exists with different content" in (
        world.row(transfer, "s.dat").last_error or ""
    )


def test_staging_objects_are_deleted_only_after_their_copy_verified(copy_world: CopyWorld) -> None:
    world = copy_world
    world.put("keep/ok.dat", b"ok")
    world.put("keep/conflict.dat", b"mine")
    world.dest_s3.put_object(Bucket=world.dest, Key="keep/conflict.dat", Body=b"theirs!")
    deletes = count(world, world.staging, "DeleteObjects")
    transfer = world.transfer(
        ["keep/ok.dat", "keep/conflict.dat"],
        options={"delete_staging": True, "on_conflict": "fail"},
    )
    report = world.copy(transfer)
    assert report.staging_deleted == 1 and len(deletes) == 1
    staged = world.staging_s3.list_objects_v2(Bucket=world.staging).get("Contents", [])
    assert [item["Key"] for item in staged] == ["keep/conflict.dat"]
    rows = world.rows(transfer)
    assert rows["keep/ok.dat"].staging_deleted and not rows["keep/conflict.dat"].staging_deleted


def test_verified_rows_are_never_copied_again(copy_world: CopyWorld) -> None:
    world = copy_world
    world.put("once.dat", b"1")
    transfer = world.transfer(["once.dat"])
    world.copy(transfer)
    with world.db.session() as session:
        from aws_copy_pt.db.models import Transfer

        row = session.get(Transfer, transfer)
        assert row is not None
        row.state = "COPYING"  # as if another pass looked at it again
    copies = count(world, world.dest, "CopyObject")
    report = world.copy(transfer)
    assert copies == [] and report.verified == 1 and report.state == "DONE"


def test_globus_transfers_annotate_copies_with_source_checksum_task_id_and_copy_record(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    source = world.put(
        "g/f.dat", b"payload", ContentType="application/x-hdf5", Metadata={"run": "42"}
    )
    transfer = world.transfer(["g/f.dat"], kind="globus", globus_task_id="task-123")
    assert world.copy(transfer).verified == 1
    copied = world.dest_head("g/f.dat")
    assert copied["ContentType"] == "application/x-hdf5"
    checksum = f"crc32:{source['ChecksumCRC32']}"
    assert copied["Metadata"] == {
        "run": "42",
        "source-checksum": checksum,
        "globus-task-id": "task-123",
        "aws-copy-pt-source-etag": source["ETag"].strip('"'),
        "aws-copy-pt-source-size": "7",
        "aws-copy-pt-source-checksum": checksum,
    }
    assert copied["ChecksumCRC32"] == source["ChecksumCRC32"]


def test_destination_settings_and_pins_are_sent_with_every_copy(copy_world: CopyWorld) -> None:
    world = copy_world
    world.update_bucket(
        world.dest,
        storage_class="STANDARD_IA",
        sse="AES256",
        expected_owner=world.accounts.destination.account_id,
    )
    world.update_bucket(world.staging, expected_owner=world.accounts.staging.account_id)
    source = world.put("s.dat", b"settings")
    copies = count(world, world.dest, "CopyObject")
    transfer = world.transfer(["s.dat"])
    assert world.copy(transfer).verified == 1
    (request,) = copies
    headers = headers_of(request)
    assert headers["x-amz-acl"] == "bucket-owner-full-control"
    assert headers["x-amz-storage-class"] == "STANDARD_IA"
    assert headers["x-amz-server-side-encryption"] == "AES256"
    assert headers["x-amz-expected-bucket-owner"] == world.accounts.destination.account_id
    assert headers["x-amz-source-expected-bucket-owner"] == world.accounts.staging.account_id
    assert headers["x-amz-copy-source-if-match"] == source["ETag"]
    assert headers["x-amz-checksum-algorithm"] == "CRC32"
    assert world.dest_head("s.dat")["StorageClass"] == "STANDARD_IA"


def test_progress_is_reported_through_the_callback(copy_world: CopyWorld) -> None:
    world = copy_world
    for i in range(5):
        world.put(f"p/{i}", b"12345")
    transfer = world.transfer([f"p/{i}" for i in range(5)])
    updates: list[CopyProgress] = []
    world.copy(transfer, progress=updates.append)
    last = updates[-1]
    assert (last.objects_total, last.objects_done, last.verified) == (5, 5, 5)
    assert (last.bytes_total, last.bytes_done, last.bytes_copied) == (25, 25, 25)
    assert last.eta_seconds == 0


def test_a_stop_request_leaves_unstarted_objects_pending_for_the_next_run(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    keys = [f"s/{i:02d}" for i in range(20)]
    for key in keys:
        world.put(key, b"x")
    stop = threading.Event()
    world.hook(world.dest, "CopyObject", lambda **_: stop.set())  # stop during the first copy
    transfer = world.transfer(keys)
    report = world.copy(transfer, stop=stop, concurrency=1)
    assert report.stopped and report.state == "COPYING"
    assert report.remaining >= 18 and report.failed == 0
    states = {row.state for row in world.rows(transfer).values()}
    assert states <= {"pending", "verified", "copied"}
    assert any("stopped on request with" in e for e in world.events(transfer))
    again = world.copy(transfer)
    assert (again.state, again.verified) == ("DONE", 20)


def test_a_crash_resumes_without_touching_verified_rows(copy_world: CopyWorld) -> None:
    world = copy_world
    world.put("c/done.dat", b"done")
    world.put("c/copying.dat", b"copying")
    world.put("c/copied.dat", b"copied")
    world.dest_s3.put_object(Bucket=world.dest, Key="c/copied.dat", Body=b"copied")
    transfer = world.transfer(["c/done.dat", "c/copying.dat", "c/copied.dat"])
    with world.db.session() as session:
        from sqlalchemy import update

        from aws_copy_pt.db.models import ObjectCopy

        for key, state in (
            ("c/done.dat", "verified"),
            ("c/copying.dat", "copying"),
            ("c/copied.dat", "copied"),
        ):
            session.execute(
                update(ObjectCopy)
                .where(ObjectCopy.transfer_id == transfer, ObjectCopy.source_key == key)
                .values(state=state, attempts=1, size=len(key.split("/")[1].split(".")[0]))
            )
    copies = count(world, world.dest, "CopyObject")
    report = world.copy(transfer)
    assert report.state == "DONE"
    assert [r.headers["x-amz-copy-source"] for r in copies] == [f"{world.staging}/c/copying.dat"]
    rows = world.rows(transfer)
    assert rows["c/copying.dat"].attempts == 2
    assert rows["c/copied.dat"].attempts == 1  # verified by the listing, not copied again
    assert "c/done.dat" not in world.dest_keys()  # verified rows are trusted, never redone


def test_metadata_directive_replace_drops_source_metadata_but_keeps_content_headers(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.update_bucket(world.dest, metadata_directive="REPLACE", tagging_directive="REPLACE")
    world.put("m.dat", b"meta", ContentType="text/csv", Metadata={"private": "yes"}, Tagging="a=b")
    copies = count(world, world.dest, "CopyObject")
    transfer = world.transfer(["m.dat"])
    assert world.copy(transfer).verified == 1
    copied = world.dest_head("m.dat")
    kept = {k: v for k, v in copied["Metadata"].items() if not k.startswith("aws-copy-pt-")}
    assert (copied["ContentType"], kept) == ("text/csv", {})  # only the copy's own record
    assert headers_of(copies[0])["x-amz-tagging-directive"] == "REPLACE"
    assert world.dest_tags("m.dat") == {}
