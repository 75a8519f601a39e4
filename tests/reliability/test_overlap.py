"""Staging and destination never overlap (issue 13, class 1).

The scenarios that lost data: ``watch --to STAGING/in/sub`` (inside the collection's mapped root
``in/``) overwrote the delivered ``in/sub/a.dat`` with the copy of ``in/a.dat`` before it was
copied; ``--to STAGING`` (a parent of the root) with ``--delete-staging`` deleted verified copies
as if they were staging objects. Every entry point refuses such a pair with exit 2 and the
accepted forms, and a transfer recorded with one anyway (an older version) is refused by the
copy engine before any copy or delete.
"""

from __future__ import annotations

import json
import sqlite3

from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliResult
from tests.reliability.world import STAGING_FOLDER, World, content

FILES = {"a.dat": 300, "sub/a.dat": 500, "b.dat": 700}
WRITES = frozenset(
    {"CopyObject", "CreateMultipartUpload", "UploadPartCopy", "DeleteObjects", "DeleteObject"}
)


def _refused(world: World, result: CliResult) -> None:
    """Exit 2, the overlap named, the accepted forms offered; counted in the figures."""
    assert result.exit_code == ExitCode.USAGE, result.explain()
    assert "overlaps the staging root" in result.stderr, result.explain()
    assert "another bucket" in result.stderr and "next:" in result.stderr, result.explain()
    world.figures.overlaps_refused += 1


def _staging_intact(world: World) -> None:
    client = world.staging_s3
    for name, size in FILES.items():
        key = f"{STAGING_FOLDER}/{name}"
        body = client.get_object(Bucket=world.staging_bucket, Key=key)["Body"].read()
        assert body == content(key, size), f"{key} was overwritten"


def _watch(world: World, task: str, to: str, *flags: str) -> CliResult:
    return world.cli("watch", task, "--to", to, *flags)


def test_watch_into_a_folder_inside_the_staging_root_is_refused_and_no_delivered_byte_changes(
    world: World,
) -> None:
    task = world.add_task(FILES)
    result = _watch(world, task, f"{world.staging_bucket}/{STAGING_FOLDER}/sub")
    _refused(world, result)
    assert "inside it" in result.stderr
    assert world.wait(world.run_once()) == 0
    _staging_intact(world)


def test_watch_into_a_parent_of_the_staging_root_with_delete_staging_is_refused(
    world: World,
) -> None:
    task = world.add_task(FILES)
    for to in (world.staging_bucket, f"s3://{world.staging_bucket}/"):
        result = _watch(world, task, to, "--delete-staging")
        _refused(world, result)
        assert "contains it" in result.stderr
    assert world.wait(world.run_once()) == 0
    _staging_intact(world)
    assert world.staging_keys() == {f"{STAGING_FOLDER}/{name}" for name in FILES}


def test_a_prefix_beside_the_staging_root_in_the_same_bucket_is_accepted(world: World) -> None:
    task = world.add_task(FILES)
    transfer_id = int(
        json.loads(
            world.cli(
                "--json", "watch", task, "--to", f"{world.staging_bucket}/{STAGING_FOLDER}-copies"
            )
            .ok()
            .stdout
        )["id"]
    )
    assert world.wait(world.run_once()) == 0
    assert world.state(transfer_id) == "DONE"
    _staging_intact(world)


def test_submit_refuses_an_overlapping_destination_before_anything_is_submitted(
    world: World,
) -> None:
    before = len(world.standin.requests)
    result = world.cli(
        "submit",
        f"{world.source}:/src/a.dat",
        f"{world.staging_collection}:/{world.staging_bucket}/{STAGING_FOLDER}/a.dat",
        "--to",
        f"{world.staging_bucket}/{STAGING_FOLDER}/copies",
    )
    _refused(world, result)
    submitted = [r for r in world.standin.requests[before:] if r.method == "POST"]
    assert submitted == [], submitted


def test_a_recorded_transfer_that_overlaps_is_refused_before_any_copy_or_delete(
    world: World,
) -> None:
    # An older version accepted such transfers: the engine refuses them on its own.
    task = world.add_task(FILES)
    transfer_id = world.watch(task, "archive", "--delete-staging")
    [(staging_id,)] = world.query("SELECT id FROM buckets WHERE name = ?", world.staging_bucket)
    _write(
        world,
        "UPDATE transfers SET dest_bucket_id = ?, dest_prefix = ? WHERE id = ?",
        staging_id,
        f"{STAGING_FOLDER}/sub/",
        transfer_id,
    )
    tick = world.proxy.tick()
    process = world.run_once()
    assert world.wait(process) == ExitCode.PARTIAL, process.output()
    writes = [r for r in world.proxy.records if r.started > tick and r.operation in WRITES]
    assert writes == [], writes
    assert world.state(transfer_id) == "FAILED"
    [(last_error,)] = world.query("SELECT last_error FROM transfers WHERE id = ?", transfer_id)
    assert "overlaps its source" in last_error and "refused before copying" in last_error
    _staging_intact(world)
    world.figures.overlaps_refused += 1


def _write(world: World, sql: str, *params: object) -> None:
    conn = sqlite3.connect(world.home / "aws-copy-pt.db", timeout=15)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()
