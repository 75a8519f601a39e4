"""Later runs: the main menu, watching in the foreground, missing access, and no terminal."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.home.lock import lock_holder_pid
from aws_copy_pt.home.paths import Home
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from aws_copy_pt.sandbox.s3server import STAGING_ACCOUNT_ID, MotoS3Server, unique_bucket_name
from tests.fixtures.cli import CliRunner
from tests.fixtures.notify import WebhookReceiver
from tests.fixtures.s3 import S3ClientFor
from tests.fixtures.wizard import CTRL_C, WizardWorld, answer, build_world


def _rows(home: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "aws-copy-pt.db") as db:
        return db.execute(query).fetchall()


def test_second_run_shows_the_menu_status_and_starts_and_stops_the_daemon(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    world.set_up(through="destination")
    task = world.task(label="nightly")
    world.watch(task, prefix="nightly")
    run = world.run(answer("Status", "Start"))
    pid = int(run.wait_for(r"Daemon started \(pid (\d+)\)"))
    assert lock_holder_pid(Home(world.home)) == pid
    second = world.task(label="second")
    run.send(answer("watch", "top", "second", "daemon", "Stop", "Quit"))

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "aws-copy-pt · Globus: alice@example.org · 1 active transfer(s) · no daemon" in shown
    assert re.search(rf"│ 1 +│ nightly +│ WAITING +│ ACTIVE .*│ {world.dest_bucket}/nightly", shown)
    assert f"daemon running (pid {pid})" in shown
    assert (
        f"✓ Transfer 2 watches Globus task {second} (ACTIVE) → s3://{world.dest_bucket}/" in shown
    )
    assert f"✓ A daemon is already running (pid {pid}); it picks up new transfers." in shown
    assert f"✓ Daemon (pid {pid}) stopped." in shown
    assert lock_holder_pid(Home(world.home)) is None
    assert "Step " not in shown  # no first-run screens


def test_the_menu_manages_notifications_buckets_and_credentials(
    wizard_world: WizardWorld, webhook_receiver: WebhookReceiver
) -> None:
    world = wizard_world
    world.set_up(through="destination")
    world.watch(world.task())
    run = world.run(
        [
            answer("notifications", "webhook", "", webhook_receiver.url()),
            answer("test", "team", "back"),
            answer("buckets", "check", world.dest_bucket),
            "n",  # no write test
            answer("back"),
            answer("credentials", "check", "aws-keys", "back"),
            answer("quit"),
        ]
    )

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "✓ Added team:" in shown
    assert "✓ Sent a test message to team" in shown
    assert [post.path for post in webhook_receiver.received] == [
        "/hooks/T000/B000/abcdefghijklmnop"
    ]
    assert f"✓ {world.dest_bucket}: reachable, region us-east-1." in shown
    assert f"✓ aws-keys: arn:aws:sts::{STAGING_ACCOUNT_ID}:assumed-role/" in shown
    assert _rows(world.home, "SELECT name, kind FROM notification_targets") == [("team", "webhook")]


def test_the_menu_stores_rotated_keys_typed_at_hidden_prompts(wizard_world: WizardWorld) -> None:
    world = wizard_world
    world.set_up(through="destination")
    world.watch(world.task())
    rotated = world.s3.assume_account("rotated", STAGING_ACCOUNT_ID)
    keys = (rotated.access_key_id, rotated.secret_access_key, rotated.session_token or "")
    run = world.run(answer("credentials", "store new", "aws-keys", *keys, "back", "quit"))

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert f"✓ aws-keys has new keys: arn:aws:sts::{STAGING_ACCOUNT_ID}:assumed-role/" in shown
    assert rotated.secret_access_key not in shown
    query = "SELECT name, access_key_id, secret_access_key FROM aws_credentials"
    assert _rows(world.home, query) == [
        ("aws-keys", rotated.access_key_id, rotated.secret_access_key)
    ]


def test_watching_here_copies_the_transfer_and_shows_progress(
    wizard_world: WizardWorld, s3_client_for: S3ClientFor
) -> None:
    world = wizard_world
    world.set_up(through="destination")
    staging = s3_client_for(world.accounts.staging)
    for i in range(2):
        staging.put_object(Bucket=world.staging_bucket, Key=f"run1/f{i}.bin", Body=b"x" * 1024)
    task = world.task(label="run 1", script=("ACTIVE", "SUCCEEDED"))
    run = world.run(answer("top", "run 1", "here"))

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "Step 5 of 6: Transfer to watch" in shown
    assert "Transfer 1: DONE · Globus SUCCEEDED 2/2 files · copied 2/2" in shown
    assert "✓ Every object is copied and verified." in shown
    dest = s3_client_for(world.accounts.destination)
    keys = [o["Key"] for o in dest.list_objects_v2(Bucket=world.dest_bucket)["Contents"]]
    assert keys == ["run1/f0.bin", "run1/f1.bin"]
    assert _rows(world.home, "SELECT globus_task_id, state FROM transfers") == [(task, "DONE")]


@pytest.fixture
def private_world(
    app_home: Path, globus_standin: GlobusStandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WizardWorld]:
    """A moto server of its own that refuses cross-account access, as AWS does by default."""
    with MotoS3Server(allow_cross_account=False) as server:
        accounts = server.accounts()
        buckets = (
            server.make_bucket(accounts.staging, unique_bucket_name("wizard-staging")),
            server.make_bucket(accounts.destination, unique_bucket_name("wizard-dest")),
        )
        yield build_world(app_home, globus_standin, server, buckets, monkeypatch)


def test_a_destination_out_of_reach_is_registered_unchecked_with_the_policy_to_send(
    private_world: WizardWorld,
) -> None:
    world = private_world
    world.set_up(through="collection")
    run = world.run(
        [
            answer("Register", "", "", world.dest_bucket),  # refused: no access yet
            answer("anyway"),  # register it unchecked and show the policy
            CTRL_C,
        ]
    )

    assert run.finish() == ExitCode.INTERRUPTED
    shown = run.screen.text()
    assert f"✗ access denied: arn:aws:sts::{STAGING_ACCOUNT_ID}:assumed-role/" in shown
    assert f"✓ Registered {world.dest_bucket} (not checked yet)." in shown
    assert f"Send this bucket policy to the owner of {world.dest_bucket}:" in shown
    assert f"aws-copy-pt bucket check {world.dest_bucket}" in shown
    policy = json.loads(shown[shown.index("\n{\n") : shown.index("\n}\n") + 2])
    statements = policy["Statement"]
    assert any(f"arn:aws:s3:::{world.dest_bucket}/*" in _as_list(s["Resource"]) for s in statements)
    assert STAGING_ACCOUNT_ID in json.dumps([s["Principal"] for s in statements])
    assert "Step 5 of 6: Transfer to watch" in shown
    query = f"SELECT checked_at FROM buckets WHERE name = '{world.dest_bucket}'"
    assert _rows(world.home, query) == [(None,)]


def test_a_refused_write_test_shows_the_policy_to_send(
    wizard_world: WizardWorld, s3_client_for: S3ClientFor
) -> None:
    world = wizard_world
    world.set_up(through="collection")
    owner = s3_client_for(world.accounts.destination)
    deny_put = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{world.dest_bucket}/*",
            }
        ],
    }
    owner.put_bucket_policy(Bucket=world.dest_bucket, Policy=json.dumps(deny_put))
    try:
        run = world.run([answer("Register", "", "", world.dest_bucket), "y", CTRL_C])
        assert run.finish() == ExitCode.INTERRUPTED
    finally:
        owner.delete_bucket_policy(Bucket=world.dest_bucket)
    shown = run.screen.text()
    assert f"✓ {world.dest_bucket}: reachable, region us-east-1." in shown
    assert "✗ access denied" in shown and "s3:PutObject" in shown
    assert f"Send this bucket policy to the owner of {world.dest_bucket}:" in shown


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def test_without_a_terminal_no_command_prints_short_help_and_fails(cli: CliRunner) -> None:
    result = cli().fails(ExitCode.USAGE, says="No command given, and no terminal")
    assert "Usage: aws-copy-pt" in result.stderr
    assert result.stdout == ""


def test_without_a_terminal_the_installed_script_never_waits_for_input(
    cli_subprocess: CliRunner,
) -> None:
    cli_subprocess(timeout=30).fails(ExitCode.USAGE, says="run `aws-copy-pt` in a terminal")
