"""The wizard shows which engine will copy a transfer, and a batch job's estimated cost, when
the destination has a batch role."""

from __future__ import annotations

import sqlite3

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.s3.clients import S3CONTROL_URL_ENV
from tests.fixtures.wizard import WizardWorld, answer

ROLE = "arn:aws:iam::222222222222:role/aws-copy-pt-batch"


def test_watching_into_a_bucket_with_a_batch_role_shows_the_engine_and_the_jobs_cost(
    wizard_world: WizardWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = wizard_world
    # The sandbox's S3 Control route makes buckets on the local S3 server batch-capable; the
    # stand-in itself is not needed: no job is created while a transfer is registered.
    monkeypatch.setenv(S3CONTROL_URL_ENV, "http://127.0.0.1:9")
    world.set_up(through="destination")
    with sqlite3.connect(world.home / "aws-copy-pt.db") as db:
        db.execute(
            "UPDATE buckets SET batch_role_arn = ?, engine = 'batch' WHERE name = ?",
            (ROLE, world.dest_bucket),
        )
    world.task(label="nightly", files=3)
    # The set-up resumes at its transfer step: top level, the task, then no daemon.
    run = world.run(answer("top", "nightly", "nothing"))

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "Step 5 of 6: Transfer to watch" in shown
    assert f"Copy engine for {world.dest_bucket}: an S3 Batch Operations job copies it." in shown
    assert "A batch job for its 3 files would cost about $0.25 (estimate: us-east-1" in shown
    with sqlite3.connect(world.home / "aws-copy-pt.db") as db:
        [(options,)] = db.execute("SELECT options FROM transfers").fetchall()
    assert '"engine": "batch"' in options


def test_without_a_batch_role_the_wizard_says_nothing_about_engines(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    world.set_up(through="destination")
    world.task(label="nightly")
    run = world.run(answer("top", "nightly", "nothing"))
    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "Transfer 1 watches Globus task" in shown
    assert "Copy engine" not in shown
