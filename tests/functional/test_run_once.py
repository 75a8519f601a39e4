"""`run --once` on a home without Globus work: nothing to poll, and no login needed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.db.models import AwsCredential, Bucket, Transfer
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.home.lock import InstanceLock
from aws_copy_pt.home.paths import Home
from tests.fixtures.cli import CliRunner


def test_an_empty_home_is_all_done(cli: CliRunner) -> None:
    result = cli("--json", "run", "--once").ok()
    assert json.loads(result.stdout)["states"] == {}


def test_a_direct_copy_interrupted_while_listing_is_left_to_the_copy_command(
    cli: CliRunner, app_home: Path
) -> None:
    db = open_database(Home(app_home))
    with db.session() as session:
        credential = AwsCredential(name="lab", kind="profile", profile="lab")
        session.add(
            Transfer(
                kind="direct",
                state="LISTING",
                source_bucket=Bucket(name="a", credential=credential),
                dest_bucket=Bucket(name="b", credential=credential),
            )
        )
    db.close()
    result = cli("--json", "run", "--once")
    assert result.exit_code == ExitCode.WORK_REMAINS, result.explain()
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert report["needs_login"] is False


def _held_by(app_home: Path, role: str, *, since_hours: float = 0) -> InstanceLock:
    """The home's lock, taken as another process running ``role`` would take it."""
    cli_home = Home(app_home)
    open_database(cli_home).close()
    lock = InstanceLock(cli_home, role)
    lock.acquire()
    if since_hours:
        then = time.time() - since_hours * 3600
        os.utime(cli_home.lock_path, (then, then))
    return lock


@pytest.mark.heavy
def test_a_pass_started_while_the_previous_pass_still_copies_exits_locked_silently(
    cli: CliRunner, app_home: Path
) -> None:
    lock = _held_by(app_home, "run --once")
    try:
        result = cli("run", "--once")
    finally:
        lock.release()

    assert (result.exit_code, result.stdout, result.stderr) == (ExitCode.LOCKED, "", "")


@pytest.mark.heavy
@pytest.mark.parametrize(
    ("role", "since_hours"),
    [("daemon", 0), ("run --once", 30)],
    ids=["a daemon works in the home", "the previous pass has held it for 30 hours"],
)
def test_a_pass_refused_by_a_daemon_or_a_stuck_pass_says_who_holds_the_home(
    cli: CliRunner, app_home: Path, role: str, since_hours: float
) -> None:
    lock = _held_by(app_home, role, since_hours=since_hours)
    try:
        result = cli("run", "--once")
    finally:
        lock.release()

    result.fails(ExitCode.LOCKED, says=f"`{role}`) is already working")
