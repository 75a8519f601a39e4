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


def _copied_transfer(home: Path, *, phases: list[tuple[str, int, int]]) -> int:
    """A Globus transfer registered a day ago, whose task crawled at Globus, now being copied
    in ``phases``: (state entered, seconds after the start of the day, objects then copied)."""
    from datetime import UTC, datetime, timedelta

    from aws_copy_pt.db.models import Event, ObjectCopy

    day = datetime(2025, 5, 1, tzinfo=UTC)
    db = open_database(Home(home))
    with db.session() as session:
        credential = AwsCredential(name="lab", kind="profile", profile="lab")
        transfer = Transfer(
            kind="globus",
            state=phases[-1][0],
            label="slow globus",
            globus_task_id="7b1d3f0e-0000-4000-8000-000000000010",
            source_bucket=Bucket(name="staging", credential=credential),
            dest_bucket=Bucket(name="archive", credential=credential),
            globus_status="SUCCEEDED",
            effective_bytes_per_second=27,  # what Globus reports over its whole task
            created_at=day - timedelta(days=1),
        )
        session.add(transfer)
        session.flush()
        previous = "WAITING"
        for n, (state, at, count) in enumerate(phases):
            begun = day + timedelta(seconds=at)
            session.add(
                Event(
                    transfer_id=transfer.id,
                    kind="state",
                    from_state=previous,
                    to_state=state,
                    at=begun,
                    message=state,
                )
            )
            previous = state
            for i in range(count):  # 100 MiB each, copied within the phase's first 2 s
                session.add(
                    ObjectCopy(
                        transfer_id=transfer.id,
                        source_key=f"phase{n}/{i}.dat",
                        state="verified",
                        size=100 * 1024 * 1024,
                        started_at=begun + timedelta(seconds=1),
                        finished_at=begun + timedelta(seconds=3),
                    )
                )
            transfer.objects_total += count
        transfer_id = transfer.id
    db.close()
    return transfer_id


def test_rate_of_a_transfer_being_copied_is_the_copy_rate_not_bytes_over_its_age(
    cli: CliRunner, app_home: Path
) -> None:
    transfer_id = _copied_transfer(app_home, phases=[("LISTING", 0, 0), ("COPYING", 1, 4)])

    out = cli("status").ok().stdout
    [shown] = json.loads(cli("--json", "status").ok().stdout)["transfers"]
    detail = cli("transfers", "show", str(transfer_id)).ok().stdout

    assert "200.0 MiB/s" in out  # 400 MiB verified in the 2 s the copy took
    assert "27 B/s" not in out
    assert shown["copy_bytes_per_second"] == 200 * 1024 * 1024
    assert shown["copy_seconds"] == 2.0
    assert shown["effective_bytes_per_second"] == 27  # Globus's own figure stays available
    assert "400.0 MiB verified in 2s, 200.0 MiB/s" in detail


def test_a_retry_starts_a_new_copy_phase_for_the_rate(cli: CliRunner, app_home: Path) -> None:
    _copied_transfer(
        app_home,
        phases=[("LISTING", 0, 0), ("COPYING", 1, 1), ("PARTIAL", 10, 0), ("COPYING", 86400, 1)],
    )

    [shown] = json.loads(cli("--json", "status").ok().stdout)["transfers"]

    # Only the retry's object, in its own 2 s: the day between the phases does not count.
    assert shown["copy_seconds"] == 2.0
    assert shown["copy_bytes_per_second"] == 50 * 1024 * 1024
