"""What proves a streamed copy, and what stops a bad one: the source's own hash (x-amz-checksum,
GCS's x-goog-hash, a single-part ETag), an MD5 its uploader declared, per-part checksums and a
FULL_OBJECT CRC at completion. Bytes that disagree are never completed nor recorded verified."""

from __future__ import annotations

import base64
import hashlib

import pytest
from awscrt import checksums

from tests.fixtures.stream import PART, StreamWorld, body_of, payload
from tests.support.faultproxy import matching
from tests.support.faultproxy.rewrites import as_gcs, flip_byte, without_checksums


def crc32c_b64(data: bytes) -> str:
    return base64.b64encode(checksums.crc32c(data).to_bytes(4, "big")).decode()


def test_parts_carry_their_crc_and_the_upload_completes_with_the_full_object_crc(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    src, dst = world.rclone, world.moto
    proxy = world.connect_via_proxy(src, dst, proxied=dst)
    data = payload(2 * PART + 5)
    src.s3.put_object(Bucket=src.bucket, Key="crc.bin", Body=data, ChecksumAlgorithm="CRC32C")
    options = {"part_size": PART, "flexible_checksums": True}
    transfer = world.transfer(src, dst, ["crc.bin"], options=options)

    report = world.copy(transfer)

    assert report.verified == 1, report.failures
    assert body_of(dst, "crc.bin") == data
    by_operation = {r.operation: r for r in proxy.records}
    create = by_operation["CreateMultipartUpload"].amz_headers
    assert create["x-amz-checksum-algorithm"] == "CRC32C"
    assert create["x-amz-checksum-type"] == "FULL_OBJECT"
    parts = sorted(
        (r for r in proxy.records if r.operation == "UploadPart"),
        key=lambda r: int(r.query["partNumber"]),
    )
    chunks = [data[i : i + PART] for i in range(0, len(data), PART)]
    assert [r.amz_headers["x-amz-checksum-crc32c"] for r in parts] == [
        crc32c_b64(chunk) for chunk in chunks
    ]
    complete = by_operation["CompleteMultipartUpload"].amz_headers
    assert complete["x-amz-checksum-crc32c"] == crc32c_b64(data)
    assert complete["x-amz-checksum-type"] == "FULL_OBJECT"
    assert world.rows(transfer)["crc.bin"].verified_by == "crc32c from source"


@pytest.mark.parametrize("size", [1000, 2 * PART + 1], ids=["small", "multipart"])
def test_a_gcs_source_is_proved_by_its_x_goog_hash(stream_world: StreamWorld, size: int) -> None:
    world = stream_world
    src, dst = world.moto, world.rclone
    proxy = world.connect_via_proxy(src, dst, proxied=src)
    proxy.rewrite(matching(["HeadObject", "GetObject"]), as_gcs)
    data = payload(size)
    src.s3.put_object(Bucket=src.bucket, Key="g.bin", Body=data, ChecksumAlgorithm="CRC32C")
    transfer = world.transfer(src, dst, ["g.bin"], options={"part_size": PART})

    report = world.copy(transfer)

    assert report.verified == 1, report.failures
    assert body_of(dst, "g.bin") == data
    assert world.rows(transfer)["g.bin"].verified_by == "crc32c from x-goog-hash"


@pytest.mark.parametrize("size", [1000, 2 * PART + 1], ids=["small", "multipart"])
def test_a_flipped_byte_fails_verification_and_nothing_is_completed(
    stream_world: StreamWorld, size: int
) -> None:
    world = stream_world
    src, dst = world.moto, world.rclone
    proxy = world.connect_via_proxy(src, dst, proxied=src)
    proxy.rewrite(matching("GetObject"), flip_byte(size // 3 % PART))
    src.s3.put_object(Bucket=src.bucket, Key="rot.bin", Body=payload(size))
    transfer = world.transfer(src, dst, ["rot.bin"], options={"part_size": PART})

    report = world.copy(transfer)

    assert report.verified == 0 and report.failed == 1
    row = world.rows(transfer)["rot.bin"]
    assert row.state == "failed" and row.verified_by is None
    assert "verification failed" in (row.last_error or "")
    assert world.keys(dst) == set()
    assert world.open_uploads(dst) == []


def declared(data: bytes, form: str) -> dict[str, str]:
    digest = hashlib.md5(data, usedforsecurity=False)
    if form == "md5sum hex":
        return {"md5sum": digest.hexdigest()}
    return {"md5chksum": base64.b64encode(digest.digest()).decode()}  # rclone's


@pytest.mark.parametrize("form", ["md5sum hex", "md5chksum base64"])
def test_an_md5_declared_in_metadata_is_checked_on_the_stream(
    stream_world: StreamWorld, form: str
) -> None:
    world = stream_world
    src, dst = world.moto, world.rclone
    proxy = world.connect_via_proxy(src, dst, proxied=src)
    proxy.rewrite(matching(["HeadObject", "GetObject"]), without_checksums)
    good, bad = payload(2 * PART + 3, seed=1), payload(300, seed=2)
    src.s3.put_object(Bucket=src.bucket, Key="good", Body=good, Metadata=declared(good, form))
    src.s3.put_object(Bucket=src.bucket, Key="bad", Body=bad, Metadata=declared(b"other", form))
    transfer = world.transfer(src, dst, ["bad", "good"], options={"part_size": PART})

    report = world.copy(transfer)

    assert report.verified == 1 and report.failed == 1
    rows = world.rows(transfer)
    assert rows["good"].verified_by == "md5 from ETag; declared md5 matched"
    assert rows["bad"].state == "failed" and rows["bad"].verified_by is None
    assert "declared in its metadata" in (rows["bad"].last_error or "")
    assert world.keys(dst) == {"good"}


def test_an_md5_declared_in_metadata_is_checked_server_side_too(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    src, dst = world.moto, world.other_moto()
    world.connect(src, dst)
    good, bad = b"as declared", b"not as declared"
    src.s3.put_object(Bucket=src.bucket, Key="good", Body=good, Metadata=declared(good, "hex"))
    src.s3.put_object(Bucket=src.bucket, Key="bad", Body=bad, Metadata=declared(good, "hex"))
    transfer = world.transfer(src, dst, ["bad", "good"])

    report = world.copy(transfer)

    assert world.route(transfer) == "server-side"
    assert report.verified == 1 and report.failed == 1
    rows = world.rows(transfer)
    assert rows["bad"].state == "failed" and rows["bad"].verified_by is None
    assert "declared in its metadata" in (rows["bad"].last_error or "")
    assert "declared md5 matched" in (rows["good"].verified_by or "")
    assert world.keys(dst) == {"good"}
