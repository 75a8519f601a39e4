"""`aws-copy-pt watch`: validate at once, register a transfer, then poll and list it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from aws_copy_pt.db.models import Transfer
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.globus_standin import Fault, GlobusStandIn
from aws_copy_pt.services.watch.listing import list_delivered
from aws_copy_pt.services.watch.poll import poll_transfers
from tests.fixtures.cli import CliRunner
from tests.fixtures.globus_world import DEST_BUCKET, STAGING_BUCKET, GlobusWorld, build_world, files


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, app_home, monkeypatch)
    world.register_staging()
    world.login()
    yield world
    world.db.close()


def _transfers(world: GlobusWorld) -> list[Transfer]:
    with world.db.session() as session:
        return list(session.scalars(select(Transfer)))


def test_watch_registers_a_waiting_transfer_with_its_options(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(2), script=["ACTIVE", "SUCCEEDED"], label="run 1")

    result = cli(
        "--json",
        "watch",
        task,
        "--to",
        f"{DEST_BUCKET}/archive/2024",
        "--on-conflict",
        "fail",
        "--delete-staging",
        env=world.env,
    ).ok()

    summary = json.loads(result.stdout)
    assert (summary["state"], summary["globus_status"]) == ("WAITING", "ACTIVE")
    assert summary["destination"] == f"{DEST_BUCKET}/archive/2024"
    [transfer] = _transfers(world)
    assert (transfer.kind, transfer.globus_task_id, transfer.label) == ("globus", task, "run 1")
    assert transfer.options == {"on_conflict": "fail", "delete_staging": True, "engine": "auto"}
    assert transfer.dest_prefix == "archive/2024/"
    assert world.event_kinds(transfer.id) == ["watch"]


def test_a_multipart_threshold_is_stored_per_transfer_in_human_sizes(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(1), script=["ACTIVE"])
    to = ("--to", f"{DEST_BUCKET}/big")
    too_small = cli("watch", task, *to, "--multipart-threshold", "1MiB", env=world.env)
    too_small.fails(ExitCode.USAGE, says="must be from 5 MiB")
    not_a_size = cli("watch", task, *to, "--multipart-threshold", "lots", env=world.env)
    not_a_size.fails(ExitCode.USAGE, says="is not a size")
    assert _transfers(world) == []

    cli("watch", task, *to, "--multipart-threshold", "64MiB", env=world.env).ok()

    [transfer] = _transfers(world)
    assert transfer.options["multipart_threshold"] == 64 * 1024 * 1024


def test_a_stream_memory_budget_is_checked_and_stored_per_transfer(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(1), script=["ACTIVE"])
    to = ("--to", f"{DEST_BUCKET}/big")
    too_small = cli("watch", task, *to, "--stream-memory", "8MiB", env=world.env)
    too_small.fails(ExitCode.USAGE, says="must be from 16 MiB")
    assert _transfers(world) == []

    cli("watch", task, *to, "--stream-memory", "1GiB", env=world.env).ok()

    [transfer] = _transfers(world)
    assert transfer.options["stream_budget"] == 1024**3


def test_watched_task_is_polled_listed_and_mapped_end_to_end(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(3), script=["ACTIVE", "SUCCEEDED"])
    cli("watch", task, "--to", f"s3://{DEST_BUCKET}/out", env=world.env).ok()
    [transfer] = _transfers(world)

    poll_transfers(world.db, world.client())
    list_delivered(world.db, world.client(), transfer.id)

    assert world.transfer(transfer.id).state == "COPYING"
    assert [(o.source_key, o.dest_key) for o in world.objects(transfer.id)] == [
        (f"run1/f0000{i}.bin", f"out/run1/f0000{i}.bin") for i in range(3)
    ]
    shown = cli("transfers", "show", str(transfer.id), env=world.env).ok().stdout
    assert "COPYING" in shown and "pending 3" in shown


def test_task_that_already_succeeded_goes_straight_to_listing(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(1), script=["SUCCEEDED"])

    result = cli("watch", task, "--to", DEST_BUCKET, env=world.env).ok()

    assert "[LISTING]" in result.stdout
    assert "aws-copy-pt run --once" in result.stdout


def test_faults_seen_at_registration_are_recorded_with_their_description(
    cli: CliRunner, world: GlobusWorld
) -> None:
    fault = Fault(code="QUOTA_EXCEEDED", description="Quota exceeded on the destination")
    task = world.add_task(files(1), script=["ACTIVE"], faults=[fault])

    cli("watch", task, "--to", DEST_BUCKET, env=world.env).ok()

    shown = json.loads(cli("--json", "transfers", "show", "1", env=world.env).ok().stdout)
    [event] = [e for e in shown["events"] if e["kind"] == "globus_fault"]
    assert "QUOTA_EXCEEDED: quota exceeded on the destination" in event["message"]
    assert "keeps retrying until its deadline" in event["message"]


def test_unknown_task_id_is_a_clear_error(cli: CliRunner, world: GlobusWorld) -> None:
    missing = "0b1c2d3e-0000-4000-8000-000000000000"

    result = cli("watch", missing, "--to", DEST_BUCKET, env=world.env)

    result.fails(ExitCode.REMOTE, says=f"Globus has no task {missing} that you can see")
    assert "404" in result.stderr and "aws-copy-pt tasks" in result.stderr
    assert _transfers(world) == []


def test_someone_elses_task_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    bob = world.standin.add_user("bob@example.org")
    task = world.add_task(files(1), owner=bob)

    result = cli("watch", task, "--to", DEST_BUCKET, env=world.env)

    result.fails(ExitCode.REMOTE, says="that you can see")
    assert "403 PermissionDenied" in result.stderr
    assert "another Globus identity" in result.stderr


def test_task_into_an_unregistered_collection_names_the_collection_add_command(
    cli: CliRunner, world: GlobusWorld
) -> None:
    elsewhere = world.standin.add_collection("Laptop", owner=world.user)
    task = world.standin.add_task(world.user, world.source, elsewhere, files(1))

    result = cli("watch", task, "--to", DEST_BUCKET, env=world.env)

    result.fails(ExitCode.CONFIG, says=f"writes into collection {elsewhere} (Laptop)")
    assert f"aws-copy-pt collection add {elsewhere} --bucket STAGING_BUCKET" in result.stderr


def test_unregistered_destination_bucket_names_the_bucket_add_command(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(1))

    result = cli("watch", task, "--to", "unknown-dest/x", env=world.env)

    result.fails(ExitCode.CONFIG, says="bucket 'unknown-dest' is not registered")
    assert "aws-copy-pt bucket add unknown-dest --credentials" in result.stderr
    assert world.standin.requests == []  # checked before asking Globus


def test_copying_the_staging_location_onto_itself_is_refused(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(1))

    cli("watch", task, "--to", STAGING_BUCKET, env=world.env).fails(
        ExitCode.USAGE, says="onto itself"
    )


def test_watching_a_task_twice_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    task = world.add_task(files(1))
    cli("watch", task, "--to", DEST_BUCKET, env=world.env).ok()

    result = cli("watch", task, "--to", DEST_BUCKET, env=world.env)

    result.fails(ExitCode.CONFIG, says="is already watched as transfer 1")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["not-a-task", "--to", DEST_BUCKET], "not a valid Globus task id"),
        (["0b1c2d3e-0000-4000-8000-000000000000", "--to", "/nobucket"], "not a valid S3 bucket"),
        (["0b1c2d3e-0000-4000-8000-000000000000", "--to", DEST_BUCKET, "--on-conflict", "x"], "x"),
    ],
)
def test_malformed_input_is_a_usage_error(
    cli: CliRunner, world: GlobusWorld, args: list[str], says: str
) -> None:
    result = cli("watch", *args, env=world.env)

    assert result.exit_code == ExitCode.USAGE, result.explain()
    assert says in result.stderr


def test_revoked_login_exits_needs_login_with_the_fix(cli: CliRunner, world: GlobusWorld) -> None:
    task = world.add_task(files(1))
    world.standin.revoke_refresh_token(world.stored_refresh_token())

    result = cli("watch", task, "--to", DEST_BUCKET, env=world.env)

    result.fails(ExitCode.NEEDS_LOGIN, says="invalid_grant")
    assert "next: run `aws-copy-pt login` in a terminal" in result.stderr
    assert world.stored_refresh_token() not in result.stderr + result.stdout


def test_watch_needs_a_login_but_never_prompts_for_one(
    cli_subprocess: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(1))
    cli_subprocess("logout", "--local-only", env=world.env).ok()

    result = cli_subprocess("watch", task, "--to", DEST_BUCKET, env=world.env, input="")

    result.fails(ExitCode.NEEDS_LOGIN, says="run `aws-copy-pt login` in a terminal")
    assert "http" not in result.stderr  # no login URL was offered


def test_watch_names_the_real_commands_that_finish_it_and_wakes_a_daemon(
    cli: CliRunner, world: GlobusWorld
) -> None:
    wake = world.home / "daemon.wake"
    task = world.add_task(files(1), script=["ACTIVE"])

    result = cli("watch", task, "--to", DEST_BUCKET, env=world.env).ok()

    assert "daemon start" not in result.stdout
    assert "`aws-copy-pt daemon --detach`" in result.stdout
    assert "`aws-copy-pt run --once` from cron or scrontab" in result.stdout
    for suggested in ("daemon --detach", "run --once", "transfers show 1"):
        cli(*suggested.split(), "--help").ok()  # each suggestion is a command that exists
    assert wake.read_text().strip(), "watch rewrites the wake-up file a running daemon reads"
    assert oct(wake.stat().st_mode & 0o777) == "0o600"
