"""Streaming between two providers over HTTP: moto and ``rclone serve s3`` as two stores.

Each bucket is read or written with its own store's credential; the bytes pass through this
machine, hashed on the way, and every object's row says what proved it.
"""

from __future__ import annotations

import pytest

from aws_copy_pt.core.provenance import (
    PROVENANCE_ETAG_KEY,
    PROVENANCE_SIZE_KEY,
    PROVENANCE_URL_KEY,
)
from aws_copy_pt.core.route import RouteRefused
from aws_copy_pt.errors import ExitCode
from tests.fixtures.stream import PART, StreamWorld, body_of, payload
from tests.support.faultproxy import FaultKind, ProxyRecord, matching
from tests.support.faultproxy.rewrites import flip_byte, without_checksums


def test_small_objects_go_get_then_put_and_carry_headers_metadata_and_provenance(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    src, dst = world.rclone, world.moto
    world.connect(src, dst)
    etag = src.s3.put_object(
        Bucket=src.bucket,
        Key="run/a.txt",
        Body=b"hello across providers",
        ContentType="text/plain",
        CacheControl="max-age=60",
        Metadata={"lab": "cryo"},
        ChecksumAlgorithm="CRC32C",
    )["ETag"]
    src.s3.put_object(Bucket=src.bucket, Key="run/empty", Body=b"")
    transfer = world.transfer(src, dst, ["run/a.txt", "run/empty"])

    report = world.copy(transfer)

    assert report.verified == 2 and report.failed == 0
    assert world.route(transfer) == "stream"
    assert body_of(dst, "run/a.txt") == b"hello across providers"
    assert body_of(dst, "run/empty") == b""
    head = dst.s3.head_object(Bucket=dst.bucket, Key="run/a.txt")
    assert head["ContentType"] == "text/plain"
    assert head["CacheControl"] == "max-age=60"
    assert head["Metadata"]["lab"] == "cryo"
    assert head["Metadata"][PROVENANCE_URL_KEY] == f"s3://{src.bucket}/run/a.txt"
    assert head["Metadata"][PROVENANCE_ETAG_KEY] == etag.strip('"')
    assert head["Metadata"][PROVENANCE_SIZE_KEY] == "22"
    rows = world.rows(transfer)
    assert {row.state for row in rows.values()} == {"verified"}
    assert rows["run/a.txt"].verified_by == "crc32c from source"


def test_a_large_object_streams_in_ranged_parts_pinned_to_the_source_etag(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    src, dst = world.moto, world.rclone
    proxy = world.connect_via_proxy(src, dst, proxied=src)
    proxy.rewrite(matching(["HeadObject", "GetObject"]), without_checksums)  # a plain store
    data = payload(3 * PART + 123)
    etag = src.s3.put_object(Bucket=src.bucket, Key="big.bin", Body=data)["ETag"]
    transfer = world.transfer(src, dst, ["big.bin"], options={"part_size": PART})

    report = world.copy(transfer)

    assert report.verified == 1, report.failures
    assert body_of(dst, "big.bin") == data
    gets = [r for r in proxy.records if r.operation == "GetObject"]
    assert len(gets) == 4
    assert {r.amz_headers.get("if-match") for r in gets} == {etag}
    ranges = sorted(r.amz_headers["range"] for r in gets)
    assert ranges == sorted(
        f"bytes={first}-{min(first + PART, len(data)) - 1}" for first in range(0, len(data), PART)
    )
    assert world.rows(transfer)["big.bin"].verified_by == "md5 from ETag"


@pytest.mark.parametrize(("size", "puts", "parts"), [(PART, 1, 0), (2 * PART, 0, 2)])
def test_an_object_of_exactly_one_or_two_parts_is_one_put_or_two_parts(
    stream_world: StreamWorld, size: int, puts: int, parts: int
) -> None:
    world = stream_world
    src, dst = world.rclone, world.moto
    proxy = world.connect_via_proxy(src, dst, proxied=dst)
    data = payload(size, seed=size)
    src.s3.put_object(Bucket=src.bucket, Key="edge.bin", Body=data)
    transfer = world.transfer(src, dst, ["edge.bin"], options={"part_size": PART})

    report = world.copy(transfer)

    assert report.verified == 1, report.failures
    assert body_of(dst, "edge.bin") == data
    operations = [r.operation for r in proxy.records]
    assert operations.count("PutObject") == puts
    assert operations.count("UploadPart") == parts
    assert world.open_uploads(dst) == []


def test_parts_in_flight_are_bounded_by_the_byte_budget_across_objects(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    src, dst = world.moto, world.rclone
    proxy = world.connect_via_proxy(src, dst, proxied=src)
    files = {f"b/{i}.bin": payload(3 * PART, seed=i) for i in range(3)}
    for key, data in files.items():
        src.s3.put_object(Bucket=src.bucket, Key=key, Body=data)
    options = {"part_size": PART, "stream_budget": 2 * PART}
    transfer = world.transfer(src, dst, sorted(files), options=options)

    report = world.copy(transfer, concurrency=8)

    assert report.verified == 3, report.failures
    assert {key: body_of(dst, key) for key in files} == files
    gets = [r for r in proxy.records if r.operation == "GetObject"]
    assert len(gets) == 9
    assert max_overlap(gets) <= 2  # each part's bytes are held from its GET to its upload


def max_overlap(records: list[ProxyRecord]) -> int:
    """The most requests that were in flight at one tick."""
    events = sorted(
        [(r.started, 1) for r in records] + [(r.finished or 0, -1) for r in records],
        key=lambda event: (event[0], event[1]),
    )
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


def test_a_store_refusing_upload_part_copy_gets_that_object_streamed(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    src, dst = world.moto, world.other_moto()
    proxy = world.through(src)  # one endpoint for both: the route is server-side
    proxy.fail(matching("UploadPartCopy"), FaultKind.NOT_IMPLEMENTED, times=100)
    world.register(src, endpoint_url=proxy.endpoint_url)
    world.register(dst, endpoint_url=proxy.endpoint_url)
    data = payload(2 * PART + 7)
    src.s3.put_object(Bucket=src.bucket, Key="gcs-like.bin", Body=data)
    options = {"part_size": PART, "multipart_threshold": PART}
    transfer = world.transfer(src, dst, ["gcs-like.bin"], options=options)

    report = world.copy(transfer)

    assert world.route(transfer) == "server-side"
    assert report.verified == 1, report.failures
    assert body_of(dst, "gcs-like.bin") == data
    operations = [r.operation for r in proxy.records]
    assert "UploadPartCopy" in operations and operations.count("UploadPart") == 3
    assert world.open_uploads(dst) == []


def test_a_forced_stream_between_two_accounts_of_one_service_carries_tags(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    src, dst = world.moto, world.other_moto()
    world.connect(src, dst)
    src.s3.put_object(Bucket=src.bucket, Key="t.txt", Body=b"tagged", Tagging="project=p1&tier=raw")
    transfer = world.transfer(src, dst, ["t.txt"], options={"route": "stream"})

    report = world.copy(transfer)

    assert report.verified == 1, report.failures
    assert world.route(transfer) == "stream"
    tags = dst.s3.get_object_tagging(Bucket=dst.bucket, Key="t.txt")["TagSet"]
    assert {(t["Key"], t["Value"]) for t in tags} == {("project", "p1"), ("tier", "raw")}


def test_server_side_between_two_providers_is_refused_with_the_reason(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    world.connect(world.rclone, world.moto)
    world.rclone.s3.put_object(Bucket=world.rclone.bucket, Key="x", Body=b"x")
    transfer = world.transfer(world.rclone, world.moto, ["x"], options={"route": "server-side"})

    with pytest.raises(RouteRefused, match="different S3 services") as refused:
        world.copy(transfer)

    assert refused.value.exit_code == ExitCode.USAGE
    assert world.keys(world.moto) == set()
    assert world.state(transfer) == "FAILED"


def test_delete_staging_on_the_stream_route_deletes_only_what_was_verified(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    src, dst = world.moto, world.rclone
    proxy = world.connect_via_proxy(src, dst, proxied=src)
    proxy.rewrite(lambda r: r.operation == "GetObject" and r.key == "bad", flip_byte(10))
    for key in ("bad", "good"):
        src.s3.put_object(Bucket=src.bucket, Key=key, Body=payload(1000, seed=len(key)))
    transfer = world.transfer(src, dst, ["bad", "good"], options={"delete_staging": True})

    report = world.copy(transfer)

    assert (report.verified, report.failed, report.staging_deleted) == (1, 1, 1)
    assert world.keys(src) == {"bad"}  # kept: its copy was never verified
    assert world.keys(dst) == {"good"}
