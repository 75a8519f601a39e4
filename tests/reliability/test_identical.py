"""Identical means identical (issue 13, class 9).

Globus often delivers objects uploaded in parts: a multipart ETag and no checksum. A copy of
such an object (one CopyObject) gets a plain MD5 ETag, so nothing S3 shows of the two proves
them equal. The scenario that went wrong: a transfer killed mid-copy with ``--on-conflict fail``
could never finish (its own copies were refused as "different content"), and with ``overwrite``
every rerun copied them again. Copies now carry a record of their source in their metadata, so
a rerun proves them identical and skips them; where nothing proves it, a refusal says "could not
be proven identical", never "different content", and counts as PARTIAL (exit 4), not as an S3
failure (exit 7).
"""

from __future__ import annotations

import os
import signal

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.globus_standin import TaskInfo
from tests.reliability.audit import check_database, check_landed
from tests.reliability.world import STAGING_FOLDER, MiB, World, content
from tests.support.faultproxy import matching

PART = 5 * MiB
FILES = {f"m{i}.bin": PART + 1000 * (i + 1) for i in range(5)}  # two parts each


def _deliver_in_parts(world: World) -> None:
    """Globus writes through the S3 connector in parts, without checksums."""
    client = world.s3.client(world.accounts.staging, checksums="when_required")

    def deliver(task: TaskInfo) -> None:
        prefix = f"/{world.staging_bucket}/"
        for spec in task.files:
            key = spec.destination_path[len(prefix) :]
            body = content(key, spec.size)
            upload = client.create_multipart_upload(Bucket=world.staging_bucket, Key=key)
            parts = []
            for number, start in enumerate(range(0, len(body), PART), 1):
                answer = client.upload_part(
                    Bucket=world.staging_bucket,
                    Key=key,
                    UploadId=upload["UploadId"],
                    PartNumber=number,
                    Body=body[start : start + PART],
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            client.complete_multipart_upload(
                Bucket=world.staging_bucket,
                Key=key,
                UploadId=upload["UploadId"],
                MultipartUpload={"Parts": parts},
            )

    world.standin.settings.on_succeeded = deliver


def _kill_after_copies(world: World, transfer_id: int) -> set[str]:
    """Kill the pass while its 3rd copy is held (the copy still lands); the destination keys
    that hold a copy then, which the database does not know to be verified."""
    gate = world.proxy.hold(matching("CopyObject", bucket=world.dest_bucket), nth=3)
    process = world.run_once(concurrency=1)
    world.until(
        lambda: gate.reached.is_set() or process.popen.poll() is not None, what="the 3rd copy"
    )
    assert gate.reached.is_set(), process.output()
    os.kill(process.pid, signal.SIGKILL)
    process.popen.wait()
    world.figures.kills += 1
    gate.release(forward=True)
    assert gate.request is not None
    held = gate.request.key
    world.until(
        lambda: any(r.key == held and r.acted is not None for r in world.proxy.records),
        what="the held copy to land",
    )
    landed = set(world.dest_objects("archive"))
    recorded = {  # copies the database knows of: verified from what the copy answered
        str(key)
        for (key,) in world.query(
            "SELECT dest_key FROM object_copies WHERE transfer_id = ? "
            "AND state IN ('copied', 'verified')",
            transfer_id,
        )
    }
    unproven = landed - recorded
    assert unproven, "no copy landed unrecorded: the scenario did not happen"
    return unproven


def _proven(world: World, transfer_id: int, unproven: set[str]) -> None:
    skipped = {
        str(key)
        for (key,) in world.query(
            "SELECT dest_key FROM object_copies WHERE transfer_id = ? AND state = 'skipped'",
            transfer_id,
        )
    }
    assert unproven <= skipped, f"not proven identical: {sorted(unproven - skipped)}"
    world.figures.identical_proven += len(unproven)


@pytest.mark.parametrize("on_conflict", ["fail", "overwrite"])
def test_a_transfer_killed_mid_copy_finishes_on_rerun_without_refusing_or_recopying(
    world: World, on_conflict: str
) -> None:
    _deliver_in_parts(world)
    task = world.add_task(FILES)
    transfer_id = world.watch(task, "archive", "--on-conflict", on_conflict)
    unproven = _kill_after_copies(world, transfer_id)
    tick = world.proxy.tick()

    again = world.run_once(concurrency=1)
    assert world.wait(again) == 0, again.output()
    check_landed(world, transfer_id, world.expected(FILES, "archive"))
    recopied = {
        str(r.key)
        for r in world.proxy.records
        if r.started > tick and r.operation == "CopyObject" and r.key in unproven
    }
    world.figures.recopied += len(recopied)
    assert recopied == set(), f"copied again: {sorted(recopied)}"
    _proven(world, transfer_id, unproven)
    check_database(world)


def test_a_destination_object_that_cannot_be_proven_identical_is_refused_as_such(
    world: World,
) -> None:
    _deliver_in_parts(world)
    task = world.add_task(FILES)
    name, size = next(iter(FILES.items()))
    foreign = os.urandom(size)  # same size, not ours: no record, nothing comparable
    world.dest_s3.put_object(Bucket=world.dest_bucket, Key=f"archive/{name}", Body=foreign)
    transfer_id = world.watch(task, "archive", "--on-conflict", "fail")

    process = world.run_once()
    assert world.wait(process) == ExitCode.PARTIAL, process.output()
    rows = {r["source_key"]: r for r in world.rows(transfer_id)}
    refused = rows[f"{STAGING_FOLDER}/{name}"]
    assert refused["state"] == "failed"
    assert "could not be proven identical" in refused["last_error"]
    assert "different content" not in refused["last_error"]
    body = world.dest_s3.get_object(Bucket=world.dest_bucket, Key=f"archive/{name}")["Body"]
    assert body.read() == foreign, "the refused object was overwritten"
    assert world.state(transfer_id) == "PARTIAL"
