"""`aws-copy-pt tasks` (pick a recent task) and `aws-copy-pt submit` against the stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
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


def test_tasks_lists_recent_tasks_into_staging_newest_first(
    cli: CliRunner, world: GlobusWorld
) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    old = world.add_task(files(1), label="old", request_time=start)
    new = world.add_task(files(2), label="new", request_time=start + timedelta(hours=1))
    elsewhere = world.standin.add_collection("Laptop", owner=world.user)
    world.standin.add_task(world.user, world.source, elsewhere, files(1), request_time=start)
    cli("watch", old, "--to", DEST_BUCKET, env=world.env).ok()

    listed = json.loads(cli("--json", "tasks", env=world.env).ok().stdout)["tasks"]

    assert [t["task_id"] for t in listed] == [new, old]
    assert [t["watched_as"] for t in listed] == [None, 1]
    assert listed[0]["destination"] == "S3 staging"
    table = cli("tasks", env=world.env).ok().stdout
    assert new in table and "2024-05-01 01:00" in table


def test_tasks_says_when_nothing_matches(cli: CliRunner, world: GlobusWorld) -> None:
    result = cli("tasks", env=world.env).ok()

    assert "No recent Globus task writes into a registered staging collection" in result.stdout


def test_submit_sends_the_transfer_document_and_watches_the_new_task(
    cli: CliRunner, world: GlobusWorld
) -> None:
    result = cli(
        "--json",
        "submit",
        f"{world.source}:/data/file.h5",
        f"{world.staging}:/{STAGING_BUCKET}/run2/file.h5",
        "--to",
        f"{DEST_BUCKET}/run2",
        "--sync-level",
        "checksum",
        "--label",
        "nightly run",
        env=world.env,
    ).ok()

    summary = json.loads(result.stdout)
    task = world.standin.task(summary["globus_task_id"])
    assert (task.label, task.destination_endpoint_id) == ("nightly run", world.staging)
    assert task.files[0][:2] == ("/data/file.h5", f"/{STAGING_BUCKET}/run2/file.h5")
    assert (summary["state"], summary["destination"]) == ("WAITING", f"{DEST_BUCKET}/run2")
    posts = [r for r in world.standin.requests if r.method == "POST"]
    assert [r.path for r in posts] == ["/v0.10/transfer"]
    assert (world.home / "daemon.wake").read_text().strip(), "a running daemon is woken up"


def test_submit_names_the_real_commands_that_finish_the_transfer(
    cli: CliRunner, world: GlobusWorld
) -> None:
    result = cli(
        "submit",
        f"{world.source}:/data/file.h5",
        f"{world.staging}:/{STAGING_BUCKET}/run3/file.h5",
        "--to",
        DEST_BUCKET,
        env=world.env,
    ).ok()

    assert "daemon start" not in result.stdout
    assert "start the daemon with `aws-copy-pt daemon --detach`" in result.stdout


def test_submit_outside_the_staging_mapping_is_refused_before_submitting(
    cli: CliRunner, world: GlobusWorld
) -> None:
    result = cli(
        "submit",
        f"{world.source}:/data/",
        f"{world.staging}:/other-bucket/run2/",
        "-r",
        "--to",
        DEST_BUCKET,
        env=world.env,
    )

    result.fails(ExitCode.USAGE, says="outside the staging mapping")
    assert world.standin.requests == []


def test_submit_into_an_unregistered_collection_is_refused(
    cli: CliRunner, world: GlobusWorld
) -> None:
    other = world.standin.add_collection("Laptop", owner=world.user)

    result = cli("submit", f"{world.source}:/a", f"{other}:/b", "--to", DEST_BUCKET, env=world.env)

    result.fails(ExitCode.CONFIG, says="is not a registered staging collection")
    assert f"collection add {other}" in result.stderr


def test_consent_required_names_the_login_command_that_grants_it(
    cli: CliRunner, world: GlobusWorld
) -> None:
    scope = (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{world.staging}/data_access]"
    )
    world.standin.inject(
        "POST",
        r"/v0.10/transfer$",
        status=403,
        body={
            "code": "ConsentRequired",
            "message": "Missing required data_access consent",
            "request_id": "abc123XYZ",
            "resource": "/transfer",
            "required_scopes": [scope],
            "authorization_parameters": {
                "session_message": "Missing required data_access consent",
                "required_scopes": [scope],
            },
        },
    )

    result = cli(
        "submit",
        f"{world.source}:/data/file.h5",
        f"{world.staging}:/{STAGING_BUCKET}/file.h5",
        "--to",
        DEST_BUCKET,
        env=world.env,
    )

    result.fails(ExitCode.NEEDS_LOGIN, says=f"consent to access the data on {world.staging}")
    assert f"aws-copy-pt login --data-access {world.staging}" in result.stderr
