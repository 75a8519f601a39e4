"""`status`: one line per transfer with the Globus task's own words, faults and rate."""

from __future__ import annotations

import json
from pathlib import Path

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.db.models import AwsCredential, Bucket, Transfer
from aws_copy_pt.home.paths import Home
from tests.fixtures.cli import CliRunner


def _transfer_with_faults(home: Path) -> None:
    db = open_database(Home(home))
    with db.session() as session:
        credential = AwsCredential(name="lab", kind="profile", profile="lab")
        staging = Bucket(name="staging", credential=credential)
        dest = Bucket(name="archive", credential=credential)
        session.add(
            Transfer(
                kind="globus",
                state="WAITING",
                label="run 9",
                globus_task_id="7b1d3f0e-0000-4000-8000-000000000009",
                source_bucket=staging,
                dest_bucket=dest,
                dest_prefix="projects/run9",
                globus_status="ACTIVE",
                nice_status="CONNECTION_RESET",
                faults=3,
                files_expected=10,
                files_transferred=4,
                bytes_transferred=5 * 1024 * 1024,
                effective_bytes_per_second=2 * 1024 * 1024,
            )
        )
    db.close()


def test_status_shows_globus_words_faults_rate_and_destination(
    cli: CliRunner, app_home: Path
) -> None:
    _transfer_with_faults(app_home)
    out = cli("status").ok().stdout
    assert "ACTIVE (CONNECTION_RESET), 3 fault(s)" in out
    assert "4/10" in out
    assert "2.0 MiB/s" in out
    assert "archive/projects/run9" in out


def test_status_json_carries_the_same_fields(cli: CliRunner, app_home: Path) -> None:
    _transfer_with_faults(app_home)
    (transfer,) = json.loads(cli("--json", "status").ok().stdout)["transfers"]
    assert transfer["faults"] == 3
    assert transfer["nice_status"] == "CONNECTION_RESET"
    assert transfer["effective_bytes_per_second"] == 2 * 1024 * 1024
    assert transfer["destination"] == "archive/projects/run9"
