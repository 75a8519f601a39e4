"""A follow rule registers each task through the same checks as `watch`: a rule whose
destination overlaps staging (recorded by an older version, or by hand) registers nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from aws_copy_pt.db.models import Bucket, FollowRule, Transfer
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from aws_copy_pt.services.watch.follow import follow_new_tasks
from aws_copy_pt.services.watch.follow_rules import RuleRequest, add_rule
from tests.fixtures.globus_world import DEST_BUCKET, STAGING_BUCKET, GlobusWorld, build_world

DAY0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, tmp_path / "acp-home", monkeypatch)
    world.register_staging()
    world.login()
    globus_standin.set_clock(DAY0)
    yield world
    world.db.close()


def test_a_rule_whose_destination_overlaps_staging_registers_no_task_and_says_why(
    world: GlobusWorld,
) -> None:
    request = RuleRequest(name="lab", collection=world.staging, to=f"{DEST_BUCKET}/in", since=DAY0)
    add_rule(world.db, request)
    with world.db.session() as session:  # as an older version (or a hand edit) left it
        rule = session.scalars(select(FollowRule)).one()
        staging = session.scalars(select(Bucket).where(Bucket.name == STAGING_BUCKET)).one()
        rule.dest_bucket_id, rule.dest_prefix = staging.id, "copies/"
    world.add_task([("/data/a", f"/{STAGING_BUCKET}/run/a", 100)], script=["SUCCEEDED"])

    report = follow_new_tasks(world.db, world.client)

    with world.db.session() as session:
        assert session.scalars(select(Transfer)).all() == []
        last_error = session.scalars(select(FollowRule.last_error)).one()
    assert last_error is not None and "overlaps the staging root" in last_error
    assert any("overlaps the staging root" in error for error in report.errors)
