"""`aws-copy-pt transfers show|retry|cancel`: one transfer in detail, and acting on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_copy_pt.db.models import ObjectCopy, Transfer
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.globus_standin import FileSpec, GlobusStandIn
from aws_copy_pt.services.events import move_transfer
from aws_copy_pt.services.watch.listing import list_delivered
from aws_copy_pt.services.watch.poll import poll_transfers
from tests.fixtures.cli import CliRunner
from tests.fixtures.globus_world import STAGING_BUCKET, GlobusWorld, build_world, files


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, app_home, monkeypatch)
    world.register_staging()
    world.login()
    yield world
    world.db.close()


def _copied_partially(world: GlobusWorld) -> int:
    """A transfer listed with 3 good paths and 1 unmappable one, whose copy failed once."""
    specs = [*files(3), FileSpec("/d/x", "/other-bucket/x")]
    transfer_id = world.add_transfer(world.add_task(specs, script=["SUCCEEDED"]))
    poll_transfers(world.db, world.client())
    list_delivered(world.db, world.client(), transfer_id)
    with world.db.session() as session:  # what the copy engine would record
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        objects = session.query(ObjectCopy).filter_by(transfer_id=transfer_id, state="pending")
        for n, obj in enumerate(objects.order_by(ObjectCopy.id)):
            obj.state = "verified" if n else "failed"
            obj.attempts = 1
            obj.last_error = None if n else "AccessDenied on PutObject: grant s3:PutObject"
        move_transfer(session, transfer, "PARTIAL", "1 object failed")
    return transfer_id


def test_show_lists_counts_failures_with_reasons_and_events(
    cli: CliRunner, world: GlobusWorld
) -> None:
    transfer_id = _copied_partially(world)

    detail = json.loads(
        cli("--json", "transfers", "show", str(transfer_id), env=world.env).ok().stdout
    )
    text = cli("transfers", "show", str(transfer_id), env=world.env).ok().stdout

    assert detail["object_counts"] == {"failed": 2, "verified": 2}
    reasons = {f["source_key"]: f["last_error"] for f in detail["failures"]}
    assert "AccessDenied on PutObject" in reasons["run1/f00000.bin"]
    assert "not in the staging bucket" in reasons["/other-bucket/x"]
    assert [e["to_state"] for e in detail["events"] if e["kind"] == "state"] == [
        "LISTING",
        "COPYING",
        "PARTIAL",
    ]
    assert detail["source"] == f"s3://{STAGING_BUCKET}/"
    assert "Failed objects (2 of 2)" in text
    assert "AccessDenied on PutObject" in text


def test_retry_puts_failed_objects_back_and_copies_again(
    cli: CliRunner, world: GlobusWorld
) -> None:
    transfer_id = _copied_partially(world)

    result = cli("transfers", "retry", str(transfer_id), env=world.env).ok()

    assert "PARTIAL -> COPYING: 1 object(s) will be copied again" in result.stdout
    states = {o.source_key: o.state for o in world.objects(transfer_id)}
    assert states["run1/f00000.bin"] == "pending"
    assert states["/other-bucket/x"] == "failed"  # unmappable: retrying cannot help


def test_retry_of_an_active_transfer_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    transfer_id = world.add_transfer(world.add_task(files(1)))

    cli("transfers", "retry", str(transfer_id), env=world.env).fails(
        ExitCode.USAGE, says="only PARTIAL or FAILED transfers are retried"
    )


def test_failed_globus_task_points_to_copy_partial(cli: CliRunner, world: GlobusWorld) -> None:
    task = world.add_task(files(4), script=["FAILED"], files_ok_on_failure=1)
    transfer_id = world.add_transfer(task)
    poll_transfers(world.db, world.client())

    plain = cli("transfers", "retry", str(transfer_id), env=world.env)
    partial = cli("--json", "transfers", "retry", str(transfer_id), "--copy-partial", env=world.env)

    plain.fails(ExitCode.USAGE, says="--copy-partial")
    assert json.loads(partial.ok().stdout) == {
        "transfer_id": transfer_id,
        "from_state": "FAILED",
        "to_state": "LISTING",
        "objects_reset": 0,
    }
    list_delivered(world.db, world.client(), transfer_id)
    assert [o.source_key for o in world.objects(transfer_id)] == ["run1/f00000.bin"]


def test_copy_partial_is_only_for_failed_globus_tasks(cli: CliRunner, world: GlobusWorld) -> None:
    transfer_id = _copied_partially(world)

    cli("transfers", "retry", str(transfer_id), "--copy-partial", env=world.env).fails(
        ExitCode.USAGE, says="--copy-partial is for transfers whose Globus task FAILED"
    )


def test_cancel_stops_watching_but_leaves_the_globus_task(
    cli: CliRunner, world: GlobusWorld
) -> None:
    transfer_id = world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))

    result = cli("transfers", "cancel", str(transfer_id), env=world.env).ok()

    assert f"Transfer {transfer_id} is CANCELLED." in result.stdout
    assert world.standin.requests == []
    cli("transfers", "cancel", str(transfer_id), env=world.env).fails(
        ExitCode.USAGE, says="already CANCELLED"
    )


def test_cancel_with_globus_also_cancels_the_running_task(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(1), script=["ACTIVE", "ACTIVE"])
    transfer_id = world.add_transfer(task)
    poll_transfers(world.db, world.client())

    cli("transfers", "cancel", str(transfer_id), "--globus", env=world.env).ok()
    [shown] = json.loads(cli("--json", "status", env=world.env).ok().stdout)["transfers"]

    assert world.standin.task(task).status == "FAILED"
    assert world.transfer(transfer_id).state == "CANCELLED"
    assert (shown["state"], shown["globus_status"]) == ("CANCELLED", "FAILED")
    assert "ACTIVE" not in cli("status", env=world.env).ok().stdout


def test_a_task_left_running_by_cancel_shows_its_globus_status_until_it_ends(
    cli: CliRunner, world: GlobusWorld
) -> None:
    task = world.add_task(files(1), script=["ACTIVE", "ACTIVE", "SUCCEEDED"])
    cancelled = world.add_transfer(task)
    still_watched = world.add_transfer(world.add_task(files(1), script=["ACTIVE"]))
    poll_transfers(world.db, world.client())
    cli("transfers", "cancel", str(cancelled), env=world.env).ok()

    poll_transfers(world.db, world.client())  # the task runs on at Globus
    running = world.transfer(cancelled).globus_status
    poll_transfers(world.db, world.client())  # and ends there

    assert running == "ACTIVE"
    assert world.transfer(cancelled).globus_status == "SUCCEEDED"
    detail = json.loads(cli("--json", "transfers", "show", str(cancelled)).ok().stdout)
    moves = [e["to_state"] for e in detail["events"] if e["kind"] == "state"]
    assert moves == ["CANCELLED"]  # nothing more is listed or copied
    assert world.transfer(still_watched).state == "WAITING"


def test_retry_and_cancel_wake_a_running_daemon(cli: CliRunner, world: GlobusWorld) -> None:
    wake = world.home / "daemon.wake"
    transfer_id = _copied_partially(world)

    cli("transfers", "retry", str(transfer_id), env=world.env).ok()
    after_retry = wake.read_text()
    cli("transfers", "cancel", str(transfer_id), env=world.env).ok()

    assert after_retry.strip()
    assert wake.read_text() != after_retry, "each change rewrites the wake-up token"


def test_unknown_transfer_id_points_to_status(cli: CliRunner, world: GlobusWorld) -> None:
    result = cli("transfers", "show", "99", env=world.env)

    result.fails(ExitCode.CONFIG, says="there is no transfer 99")
    assert "aws-copy-pt status" in result.stderr
