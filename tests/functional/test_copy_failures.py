"""Copies that go wrong: each fails with a clear message, loses nothing, and never verifies."""

from __future__ import annotations

import json
import time
import types
from typing import Any

import botocore.endpoint
import pytest

from aws_copy_pt.s3 import crt
from aws_copy_pt.s3.environment import FAST_PATH_VARIABLE
from tests.functional.copy_world import CopyWorld, s3_answer, s3_error
from tests.functional.copy_world import copy_world as copy_world

TB = 10**12


def deny_writes_policy(bucket: str) -> str:
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_missing_destination_permission_names_the_action_and_stops_early(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    keys = [f"d/{i:03d}" for i in range(60)]
    for key in keys:
        world.put(key, b"x")
    world.dest_s3.put_bucket_policy(Bucket=world.dest, Policy=deny_writes_policy(world.dest))
    transfer = world.transfer(keys)
    report = world.copy(transfer, concurrency=2)
    assert report.state == "FAILED"
    assert report.error is not None
    assert "s3:PutObject on the destination" in report.error
    assert f"aws-copy-pt policy --bucket {world.dest}" in (report.error_hint or "")
    states = [row.state for row in world.rows(transfer).values()]
    assert states.count("failed") >= 8 and states.count("pending") > 0
    assert set(states) == {"failed", "pending"}  # untried objects wait for the fix
    assert "ended early" in world.events(transfer)[-1]


def test_a_staging_object_gone_before_listing_fails_only_that_object(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.put("g/here.dat", b"here")
    transfer = world.transfer(["g/here.dat", "g/gone.dat"])
    report = world.copy(transfer)
    assert (report.state, report.verified, report.failed) == ("PARTIAL", 1, 1)
    error = world.row(transfer, "g/gone.dat").last_error or ""
    assert f"s3://{world.staging}/g/gone.dat is gone from staging" in error
    assert "transfers retry" in error


def test_a_staging_object_deleted_after_listing_fails_with_its_staging_key(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.put("g/late.dat", b"late")
    transfer = world.transfer(
        ["g/late.dat"], size=4, source_etag="e3b0c44298fc1c149afbf4c8996fb924"
    )
    world.staging_s3.delete_object(Bucket=world.staging, Key="g/late.dat")
    report = world.copy(transfer)
    assert report.state == "FAILED"
    assert f"s3://{world.staging}/g/late.dat is gone from staging" in report.failures[0].error


def test_kms_denied_says_which_key_permissions_the_copy_needs(copy_world: CopyWorld) -> None:
    world = copy_world
    world.put("k.dat", b"secret")
    message = "User is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:..."
    world.hook(world.dest, "CopyObject", lambda **_: s3_error(403, "AccessDenied", message))
    transfer = world.transfer(["k.dat"])
    report = world.copy(transfer)
    assert report.state == "FAILED"
    error = world.row(transfer, "k.dat").last_error or ""
    assert "KMS refused the key" in error and "kms:GenerateDataKey" in error
    assert "aws-copy-pt policy" in error


@pytest.mark.heavy
def test_clock_skew_stops_the_copy_and_says_to_fix_the_clock(copy_world: CopyWorld) -> None:
    world = copy_world
    keys = [f"t/{i:02d}" for i in range(30)]
    for key in keys:
        world.put(key, b"x")
    skew = "The difference between the request time and the current time is too large."
    world.hook(world.dest, "CopyObject", lambda **_: s3_error(403, "RequestTimeTooSkewed", skew))
    transfer = world.transfer(keys)
    report = world.copy(transfer, concurrency=2)
    assert report.state == "FAILED"
    assert "clock is off" in (report.error or "")
    assert "chronyc" in (report.error_hint or "")
    assert "pending" in {row.state for row in world.rows(transfer).values()}


def test_an_object_over_50_tb_fails_with_a_clear_message(copy_world: CopyWorld) -> None:
    world = copy_world
    world.put("huge/cube.raw", b"stand-in")
    world.put("huge/small.raw", b"ok")
    listing = (
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<IsTruncated>false</IsTruncated>"
        f'<Contents><Key>huge/cube.raw</Key><ETag>"abc-900"</ETag><Size>{60 * TB}</Size></Contents>'
        '<Contents><Key>huge/small.raw</Key><ETag>"444bcb3a3fcf8389296c49467f27e1d6"</ETag>'
        "<Size>2</Size></Contents></ListBucketResult>"
    )
    world.hook(world.staging, "ListObjectsV2", lambda **_: s3_answer(200, listing.encode()))
    transfer = world.transfer(["huge/cube.raw", "huge/small.raw"])
    report = world.copy(transfer)
    assert (report.state, report.failed, report.verified) == ("PARTIAL", 1, 1)
    error = world.row(transfer, "huge/cube.raw").last_error or ""
    assert "cannot be copied: it is 60.0 TB and S3 objects cannot exceed 50 TB" in error
    assert world.open_uploads() == []


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "boto3"])
def test_a_200_answer_with_an_error_body_counts_as_a_failure(
    copy_world: CopyWorld, monkeypatch: pytest.MonkeyPatch, fast_path: bool
) -> None:
    world = copy_world
    # Both retry it with back-off: skip the waiting, not the retries.
    monkeypatch.setattr(crt, "RETRIES", crt.Retries(backoff_ms=1, max_backoff_s=1))
    monkeypatch.setattr(
        botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda _: None, time=time.time)
    )
    monkeypatch.setenv(FAST_PATH_VARIABLE, "1" if fast_path else "0")
    world.put("e.dat", b"data")
    body = b"<Error><Code>InternalError</Code><Message>We encountered an error</Message></Error>"
    attempts: list[Any] = []

    def answer(request: Any, **_: Any) -> Any:
        attempts.append(request)
        return s3_answer(200, body)

    world.hook(world.dest, "CopyObject", answer)
    transfer = world.transfer(["e.dat"])
    report = world.copy(transfer)
    assert report.state == "FAILED"
    assert "InternalError" in (world.row(transfer, "e.dat").last_error or "")
    if fast_path:  # the CRT's retries alone: boto3 does not repeat them
        assert len(attempts) == crt.RETRIES.attempts
    else:
        retries = world.product_client(world.dest).meta.config.retries
        assert len(attempts) == retries["total_max_attempts"]
    assert "e.dat" not in world.dest_keys()


def test_a_source_changed_between_listing_and_copy_fails_verification(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    listed = world.put("v/changing.dat", b"version one")
    transfer = world.transfer(
        ["v/changing.dat"],
        size=11,
        source_etag=listed["ETag"].strip('"'),
        options={"delete_staging": True},
    )
    world.put("v/changing.dat", b"version two!")  # rewritten after it was listed
    report = world.copy(transfer)
    assert report.state == "FAILED"
    error = world.row(transfer, "v/changing.dat").last_error or ""
    assert "changed since it was listed" in error
    assert world.staging_s3.head_object(Bucket=world.staging, Key="v/changing.dat")


def test_a_refused_etag_pin_is_reported_as_a_changed_source(copy_world: CopyWorld) -> None:
    world = copy_world
    world.put("p.dat", b"pinned")
    world.hook(
        world.dest, "CopyObject", lambda **_: s3_error(412, "PreconditionFailed", "At least one")
    )
    transfer = world.transfer(["p.dat"])
    world.copy(transfer)
    error = world.row(transfer, "p.dat").last_error or ""
    assert "changed since it was listed (CopySourceIfMatch failed)" in error


def test_a_corrupted_copy_fails_verification_and_keeps_the_staging_object(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.put("c/real.dat", b"the real bytes")
    world.put("c/decoy.dat", b"something else")

    def corrupt(request: Any, **_: Any) -> None:
        # The copy lands other bytes than the source's, as a faulty store might.
        request.headers["x-amz-copy-source"] = f"{world.staging}/c/decoy.dat"

    world.hook(world.dest, "CopyObject", corrupt)
    transfer = world.transfer(["c/real.dat"], options={"delete_staging": True})
    report = world.copy(transfer)
    assert (report.state, report.staging_deleted) == ("FAILED", 0)
    error = world.row(transfer, "c/real.dat").last_error or ""
    assert error.startswith(f"verification failed: s3://{world.dest}/c/real.dat has")
    assert "the staging object is kept" in error
    assert world.staging_s3.head_object(Bucket=world.staging, Key="c/real.dat")


def test_a_destination_bucket_deleted_after_registration_fails_clearly(
    copy_world: CopyWorld,
) -> None:
    world = copy_world
    world.put("n.dat", b"x")
    world.dest_s3.delete_bucket(Bucket=world.dest)
    transfer = world.transfer(["n.dat"])
    report = world.copy(transfer)
    assert report.state == "FAILED"
    assert (
        f"{world.dest}" in report.failures[0].error and "does not exist" in report.failures[0].error
    )
