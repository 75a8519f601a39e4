"""The route as a user meets it: `copy --route`, `--dry-run`, `transfers show` and `--json`."""

from __future__ import annotations

import json

from aws_copy_pt.db.models import Transfer
from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliRunner
from tests.fixtures.stream import StreamWorld, body_of


def registered(world: StreamWorld) -> None:
    world.connect(world.rclone, world.moto)
    world.rclone.s3.put_object(
        Bucket=world.rclone.bucket, Key="run/a.dat", Body=b"a", ChecksumAlgorithm="CRC32C"
    )
    world.rclone.s3.put_object(Bucket=world.rclone.bucket, Key="run/b.dat", Body=b"bb")


def test_a_dry_run_between_two_providers_shows_the_stream_route_and_why(
    cli: CliRunner, stream_world: StreamWorld
) -> None:
    registered(stream_world)
    source, dest = f"{stream_world.rclone.bucket}/run", f"{stream_world.moto.bucket}/run"

    table = cli("copy", source, dest, "--dry-run").ok().stdout
    plan = json.loads(cli("--json", "copy", source, dest, "--dry-run").ok().stdout)["dry_run"]

    assert "stream" in table and "different S3 services" in table
    assert "streamed whole (GET, PUT)" in table
    assert plan["route"] == "stream" and "different S3 services" in plan["route_reason"]
    assert plan["objects"] == 2
    assert stream_world.keys(stream_world.moto) == set()


def test_server_side_between_two_providers_exits_2_naming_the_way_out(
    cli: CliRunner, stream_world: StreamWorld
) -> None:
    registered(stream_world)
    source, dest = f"{stream_world.rclone.bucket}/run", f"{stream_world.moto.bucket}/run"

    result = cli("copy", source, dest, "--route", "server-side").fails(ExitCode.USAGE)

    assert "different S3 services" in result.stderr and "--route stream" in result.stderr
    assert stream_world.keys(stream_world.moto) == set()


def test_a_streamed_copy_shows_its_route_and_what_proved_each_object(
    cli: CliRunner, stream_world: StreamWorld
) -> None:
    registered(stream_world)
    source, dest = f"{stream_world.rclone.bucket}/run", f"{stream_world.moto.bucket}/run"

    summary = json.loads(cli("--json", "copy", source, dest).ok().stdout)["copy"]
    shown = cli("transfers", "show", str(summary["transfer_id"])).ok().stdout
    detail = json.loads(cli("--json", "transfers", "show", str(summary["transfer_id"])).ok().stdout)

    assert body_of(stream_world.moto, "run/b.dat") == b"bb"
    assert summary["route"] == "stream" and summary["verified"] == 2
    assert "stream: " in shown and "crc32c from source" in shown
    assert detail["summary"]["route"] == "stream"
    assert sum(detail["verified_by"].values()) == 2
    assert detail["verified_by"]["crc32c from source"] >= 1


def test_an_unknown_route_is_refused_with_the_choices(
    cli: CliRunner, stream_world: StreamWorld
) -> None:
    registered(stream_world)

    result = cli("copy", "a", "b", "--route", "sideways").fails(ExitCode.USAGE)

    assert "auto" in result.stderr and "server-side" in result.stderr and "stream" in result.stderr


def test_a_batch_job_and_a_forced_stream_cannot_be_asked_for_together(
    cli: CliRunner, stream_world: StreamWorld
) -> None:
    registered(stream_world)
    source, dest = f"{stream_world.moto.bucket}/run", f"{stream_world.moto.bucket}-x/run"

    result = cli("copy", source, dest, "--engine", "batch", "--route", "stream")

    result.fails(ExitCode.USAGE, says="--engine batch copies server-side inside S3")


def test_stream_memory_is_checked_then_stored_with_the_transfer(
    cli: CliRunner, stream_world: StreamWorld
) -> None:
    """`--stream-memory` bounds what a streamed copy holds at once: below one 16 MiB part, or
    not a size, it is refused before anything is recorded or copied; given, the transfer keeps
    it (a rerun resumes with the same budget)."""
    registered(stream_world)
    source, dest = f"{stream_world.rclone.bucket}/run", f"{stream_world.moto.bucket}/run"

    too_small = cli("copy", source, dest, "--stream-memory", "1MiB").fails(ExitCode.USAGE)
    not_a_size = cli("copy", source, dest, "--stream-memory", "plenty").fails(ExitCode.USAGE)
    assert "must be from 16 MiB" in too_small.stderr and "is not a size" in not_a_size.stderr
    assert stream_world.keys(stream_world.moto) == set()

    summary = json.loads(
        cli("--json", "copy", source, dest, "--stream-memory", "16MiB").ok().stdout
    )

    assert summary["copy"]["verified"] == 2
    with stream_world.db.session() as session:
        transfer = session.get(Transfer, summary["copy"]["transfer_id"])
        assert transfer is not None
        assert transfer.options["stream_budget"] == 16 * 1024 * 1024
