"""The first-run wizard, typed into as a person would, against the Globus stand-in and moto."""

from __future__ import annotations

import shlex
import sqlite3
import sys
from pathlib import Path

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.s3server import STAGING_ACCOUNT_ID
from tests.fixtures.wizard import CLEAR_LINE, CTRL_C, WizardWorld, answer


def _rows(home: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "aws-copy-pt.db") as db:
        return db.execute(query).fetchall()


def test_first_run_goes_from_nothing_to_a_watched_transfer(wizard_world: WizardWorld) -> None:
    world = wizard_world
    task = world.task(label="run 1")
    run = world.run(
        [
            answer(""),  # welcome: start
            answer("paste", world.standin.client_id),  # no client id configured yet: asked
        ]
    )
    run.log_in(world.standin, world.alice)  # no DISPLAY here: the copy-paste flow
    run.send(
        [
            world.typed_keys(),
            answer("S3 staging"),  # a recently used collection
            answer("Register", "compatible", world.s3.endpoint_url, world.staging_bucket),
            answer(""),  # base path /: buckets are folders at the collection's root
            answer("Register", "", ""),  # destination: the staging endpoint is offered
            answer(world.dest_bucket),
            "y",  # the write test
            answer("prefix", "run1"),
            answer("run 1"),  # the recent task
            answer("cron"),
        ]
    )

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "Using the copy-paste login: no DISPLAY" in shown
    assert "Logged in to Globus as alice@example.org (Alice Liddell)." in shown
    assert f"(account {STAGING_ACCOUNT_ID})" in shown
    assert f"{world.staging_bucket}: reachable, region us-east-1." in shown
    assert "Registered S3 staging." in shown
    assert "Write test passed" in shown
    assert f"watches Globus task {task} (ACTIVE) → s3://{world.dest_bucket}/run1/" in shown
    # Under pytest the running program is this Python: the line runs it with -m.
    command = shlex.join(
        [sys.executable, "-m", "aws_copy_pt", "--home", str(world.home), "run", "--once"]
    )
    assert f"*/10 * * * * {command} >>$HOME/aws-copy-pt-cron.log 2>&1" in shown
    assert _rows(world.home, "SELECT globus_task_id, state, dest_prefix FROM transfers") == [
        (task, "WAITING", "run1/")
    ]
    assert _rows(world.home, "SELECT collection_id, base_path FROM collections") == [
        (world.staging, "/")
    ]
    secrets = [world.accounts.staging.secret_access_key, world.accounts.staging.session_token]
    for secret in filter(None, secrets):
        assert secret not in shown and secret not in run.prompts.text()


def test_a_missing_bucket_and_a_wrong_task_are_refused_then_fixed(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    world.set_up(through="collection")
    task = world.task(label="run 2")
    unknown_task = "0b1c2d3e-0000-4000-8000-000000000000"
    run = world.run(
        [
            answer("Register", "", ""),
            answer("no-such-bucket-anywhere"),  # refused: HeadBucket answers 404
            answer(CLEAR_LINE + world.dest_bucket),
            "n",  # no write test
            answer("top"),
            answer("paste", unknown_task),  # refused: Globus has no such task
            answer("paste", task),
            answer("nothing"),
        ]
    )

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "Step 4 of 6: Destination bucket" in shown
    assert "✗ bucket no-such-bucket-anywhere does not exist" in shown
    assert f"{world.dest_bucket}: reachable" in shown
    assert f"✗ Globus has no task {unknown_task} that you can see" in shown
    assert "→ check the id" in shown
    assert _rows(world.home, "SELECT globus_task_id, dest_prefix FROM transfers") == [(task, "")]
    assert [r[0] for r in _rows(world.home, "SELECT name FROM buckets ORDER BY id")] == [
        world.staging_bucket,
        world.dest_bucket,
    ]


def test_ctrl_c_keeps_nothing_half_made_and_the_next_run_resumes_there(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    world.set_up(through="login")
    account = world.accounts.staging
    interrupted = world.run(
        [answer("access key", account.access_key_id), CTRL_C]  # Ctrl-C at the secret
    )

    assert interrupted.finish() == ExitCode.INTERRUPTED
    assert "Stopped. Nothing half-done was kept" in interrupted.screen.text()
    assert _rows(world.home, "SELECT count(*) FROM aws_credentials") == [(0,)]

    second = world.run(
        [
            world.typed_keys(),
            answer("S3 staging"),
            answer("Register", "compatible", world.s3.endpoint_url, world.staging_bucket),
            CTRL_C,  # at the base path: the bucket is registered, the collection is not
        ]
    )

    assert second.finish() == ExitCode.INTERRUPTED
    shown = second.screen.text()
    assert "Welcome back: resuming the set-up." in shown
    assert "Step 2 of 6: AWS credentials" in shown
    assert "Step 1 of 6" not in shown
    assert _rows(world.home, "SELECT name FROM aws_credentials") == [("aws-keys",)]
    assert _rows(world.home, "SELECT name FROM buckets") == [(world.staging_bucket,)]
    assert _rows(world.home, "SELECT count(*) FROM collections") == [(0,)]

    third = world.run(
        [
            answer("S3 staging"),
            answer("Use"),  # the staging bucket registered before the interrupt
            answer(""),
            CTRL_C,
        ]
    )

    assert third.finish() == ExitCode.INTERRUPTED
    shown = third.screen.text()
    assert "Step 3 of 6: Staging collection" in shown
    assert "Registered S3 staging." in shown
    assert "Step 4 of 6: Destination bucket" in shown
    assert _rows(world.home, "SELECT collection_id FROM collections") == [(world.staging,)]
