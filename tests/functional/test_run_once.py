"""`run --once` on a home without Globus work: nothing to poll, and no login needed."""

from __future__ import annotations

import json
from pathlib import Path

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.db.models import AwsCredential, Bucket, Transfer
from aws_copy_pt.errors import ExitCode
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
