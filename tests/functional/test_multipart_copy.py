"""Multipart server-side copies: headers carried explicitly, pinned parts, abort, resume."""

from __future__ import annotations

import os
import threading
from typing import Any

from tests.functional.copy_world import CopyWorld, headers_of, s3_answer, s3_error
from tests.functional.copy_world import copy_world as copy_world

MiB = 1024 * 1024
SMALL_PARTS = {"multipart_threshold": 5 * MiB, "part_size": 5 * MiB}


def test_multipart_copy_carries_content_headers_metadata_and_tags(copy_world: CopyWorld) -> None:
    world = copy_world
    body = os.urandom(11 * MiB)
    source = world.put(
        "big/cube.bin",
        body,
        ContentType="application/x-cube",
        ContentEncoding="identity",
        ContentLanguage="en",
        Metadata={"instrument": "krios"},
        Tagging="project=alpha&tier=raw",
    )
    transfer = world.transfer(["big/cube.bin"], options=SMALL_PARTS)
    report = world.copy(transfer)
    assert report.state == "DONE", report
    assert report.multipart_copies == 1
    copied = world.dest_head("big/cube.bin")
    assert copied["ContentLength"] == len(body)
    assert copied["ContentType"] == "application/x-cube"
    assert copied["ContentLanguage"] == "en"
    assert copied["Metadata"] == {
        "instrument": "krios",
        "aws-copy-pt-source-etag": source["ETag"].strip('"'),
        "aws-copy-pt-source-size": str(len(body)),
        "aws-copy-pt-source-checksum": f"crc32:{source['ChecksumCRC32']}",
    }
    assert copied["ETag"].endswith('-3"')
    assert copied["ChecksumCRC32"] == source["ChecksumCRC32"]
    assert world.dest_tags("big/cube.bin") == {"project": "alpha", "tier": "raw"}
    row = world.row(transfer, "big/cube.bin")
    assert (row.state, row.upload_id, row.part_size) == ("verified", None, 5 * MiB)
    assert world.open_uploads() == []


def stage_big(world: CopyWorld, key: str = "big/x.bin", size: int = 11 * MiB) -> dict[str, Any]:
    return world.put(key, os.urandom(size))


def test_every_part_is_pinned_to_the_source_etag_and_covers_its_range(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    source = stage_big(world)
    parts: list[dict[str, str]] = []
    world.hook(
        world.dest,
        "UploadPartCopy",
        lambda request, **_: parts.append(headers_of(request)),
    )
    transfer = world.transfer(["big/x.bin"], options=SMALL_PARTS)
    assert world.copy(transfer).verified == 1
    assert {p["x-amz-copy-source-range"] for p in parts} == {
        f"bytes=0-{5 * MiB - 1}",
        f"bytes={5 * MiB}-{10 * MiB - 1}",
        f"bytes={10 * MiB}-{11 * MiB - 1}",
    }
    assert {p["x-amz-copy-source-if-match"] for p in parts} == {source["ETag"]}


def test_a_failed_part_aborts_the_upload_so_nothing_keeps_costing(copy_world: CopyWorld) -> None:
    world = copy_world
    stage_big(world)

    def deny_second_part(request: Any, **_: Any) -> Any:
        if "partNumber=2" in request.url:
            return s3_error(403, "AccessDenied", "Access Denied")
        return None

    world.hook(world.dest, "UploadPartCopy", deny_second_part)
    transfer = world.transfer(["big/x.bin"], options=SMALL_PARTS)
    report = world.copy(transfer)
    assert report.state == "FAILED"
    row = world.row(transfer, "big/x.bin")
    assert "access denied: UploadPartCopy" in (row.last_error or "")
    assert row.upload_id is None
    assert world.open_uploads() == []
    assert "big/x.bin" not in world.dest_keys()


def test_a_crashed_copy_resumes_from_its_stored_upload_with_only_the_missing_parts(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    source = stage_big(world)
    # What a crash after the first part leaves behind: an open upload, one part, the row.
    upload = world.staging_s3.create_multipart_upload(
        Bucket=world.dest, Key="big/x.bin", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    world.staging_s3.upload_part_copy(
        Bucket=world.dest,
        Key="big/x.bin",
        UploadId=upload,
        PartNumber=1,
        CopySource={"Bucket": world.staging, "Key": "big/x.bin"},
        CopySourceRange=f"bytes=0-{5 * MiB - 1}",
    )
    transfer = world.transfer(
        ["big/x.bin"],
        options=SMALL_PARTS,
        state="copying",
        attempts=1,
        upload_id=upload,
        part_size=5 * MiB,
        size=11 * MiB,
        source_etag=source["ETag"].strip('"'),
    )
    parts: list[str] = []
    world.hook(world.dest, "UploadPartCopy", lambda request, **_: parts.append(request.url))
    report = world.copy(transfer)
    assert report.state == "DONE", report.failures
    assert len(parts) == 2 and not any(
        "partNumber=1&" in url or url.endswith("partNumber=1") for url in parts
    )
    assert world.dest_head("big/x.bin")["ChecksumCRC32"] == source["ChecksumCRC32"]
    row = world.row(transfer, "big/x.bin")
    assert (row.state, row.upload_id, row.attempts) == ("verified", None, 2)
    assert world.open_uploads() == []


def test_an_upload_s3_no_longer_knows_is_started_afresh(copy_world: CopyWorld) -> None:
    world = copy_world
    source = stage_big(world)
    transfer = world.transfer(
        ["big/x.bin"],
        options=SMALL_PARTS,
        state="copying",
        upload_id="forgotten-upload-id",
        part_size=5 * MiB,
        size=11 * MiB,
        source_etag=source["ETag"].strip('"'),
    )
    report = world.copy(transfer)
    assert report.state == "DONE", report.failures
    assert world.dest_head("big/x.bin")["ContentLength"] == 11 * MiB


def test_a_stop_leaves_a_multipart_copy_resumable_and_the_next_run_finishes_it(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    stage_big(world, size=16 * MiB)
    stop = threading.Event()
    world.hook(world.dest, "UploadPartCopy", lambda **_: stop.set())
    transfer = world.transfer(["big/x.bin"], options=SMALL_PARTS)
    report = world.copy(transfer, stop=stop, concurrency=1)
    assert report.stopped and report.state == "COPYING"
    row = world.row(transfer, "big/x.bin")
    assert row.state == "copying" and row.upload_id is not None and row.part_size == 5 * MiB
    assert world.open_uploads() == ["big/x.bin"]
    parts: list[str] = []
    world.hook(world.dest, "UploadPartCopy", lambda request, **_: parts.append(request.url))
    again = world.copy(transfer)
    assert again.state == "DONE"
    assert 0 < len(parts) < 4  # only what the first run did not finish
    assert world.open_uploads() == []


def test_a_checksum_mismatch_after_a_multipart_copy_fails_the_object(copy_world: CopyWorld) -> None:
    world = copy_world
    stage_big(world)

    def lie_about_the_copy(request: Any, **_: Any) -> Any:
        if world.dest not in request.url:
            return None
        headers = {
            "content-length": str(11 * MiB),
            "etag": '"d41d8cd98f00b204e9800998ecf8427e-3"',
            "x-amz-checksum-crc32": "AAAAAA==",
            "x-amz-checksum-type": "FULL_OBJECT",
        }
        return s3_answer(200, b"", headers)

    world.hook(world.dest, "HeadObject", lie_about_the_copy)
    transfer = world.transfer(["big/x.bin"], options=SMALL_PARTS)
    report = world.copy(transfer)
    assert report.state == "FAILED"
    error = world.row(transfer, "big/x.bin").last_error or ""
    assert "verification failed" in error and "checksum CRC32:AAAAAA==" in error
