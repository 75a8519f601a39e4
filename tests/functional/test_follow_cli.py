"""`aws-copy-pt follow` as users type it, and what a pass says when Timers is not allowed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from aws_copy_pt.db.models import Bucket, FollowRule, GlobusToken, Transfer
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.globus import clients
from aws_copy_pt.sandbox.globus_standin import LOGIN_SCOPES, TIMERS_SCOPE, GlobusStandIn
from tests.fixtures.cli import CliRunner
from tests.fixtures.globus import store_login
from tests.fixtures.globus_world import DEST_BUCKET, STAGING_BUCKET, GlobusWorld, build_world

BATCH_ROLE = "arn:aws:iam::222222222222:role/aws-copy-pt-batch"

DAY0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
SINCE = ("--since", "2026-03-01T00:00:00")
TIMERS_HINT = "run `aws-copy-pt login` again to allow Timers"


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, app_home, monkeypatch)
    world.register_staging()
    world.login()  # an ordinary login: Transfer only, no Timers
    globus_standin.set_clock(DAY0)
    yield world
    world.db.close()


def _add(cli: CliRunner, world: GlobusWorld, name: str, *extra: str) -> object:
    return cli(
        "follow", "add", name, "--collection", world.staging, "--to", f"{DEST_BUCKET}/{name}",
        *SINCE, *extra, env=world.env,
    )  # fmt: skip


def _rules(cli: CliRunner, world: GlobusWorld) -> list[dict[str, object]]:
    return list(json.loads(cli("--json", "follow", "list", env=world.env).ok().stdout)["rules"])


def _allow_timers(world: GlobusWorld) -> None:
    store_login(world.db, world.standin, world.user, scopes=[*LOGIN_SCOPES, TIMERS_SCOPE])


def test_add_list_pause_resume_remove(cli: CliRunner, world: GlobusWorld) -> None:
    added = _add(cli, world, "lab", "--label-match", "run *", "--delete-staging").ok()  # type: ignore[attr-defined]
    assert "Follow rule lab added" in added.stdout

    [rule] = _rules(cli, world)
    assert (rule["name"], rule["state"], rule["label_match"]) == ("lab", "active", "run *")
    assert rule["destination"] == f"{DEST_BUCKET}/lab/"
    assert rule["options"] == {"on_conflict": "overwrite", "delete_staging": True}
    assert rule["since"] == "2026-03-01T00:00:00+00:00"

    cli("follow", "pause", "lab", env=world.env).ok()
    assert _rules(cli, world)[0]["state"] == "paused"
    cli("follow", "pause", "lab", env=world.env).fails(ExitCode.USAGE, says="already paused")
    cli("follow", "resume", "lab", env=world.env).ok()
    assert _rules(cli, world)[0]["state"] == "active"
    cli("follow", "remove", "lab", env=world.env).ok()
    assert _rules(cli, world) == []
    cli("follow", "remove", "lab", env=world.env).fails(ExitCode.CONFIG, says="no follow rule")


def test_a_destination_overlapping_staging_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    result = cli(
        "follow", "add", "bad", "--collection", world.staging, "--to", f"{STAGING_BUCKET}/x",
        env=world.env,
    )  # fmt: skip
    result.fails(ExitCode.USAGE, says="overlaps the staging root")
    assert _rules(cli, world) == []


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("--to", "never-registered"), ExitCode.CONFIG, "is not registered"),
        (("--path", "/a/../b/"), ExitCode.USAGE, "--path"),
        (("--label-match", ""), ExitCode.USAGE, "--label-match"),
        (("--timer", "tomorrow"), ExitCode.USAGE, "not a valid Globus timer id"),
        (("--engine", "fast"), ExitCode.USAGE, "'fast' is not one of"),
    ],
)
def test_bad_options_are_refused_before_anything_is_stored(
    cli: CliRunner, world: GlobusWorld, args: tuple[str, ...], code: ExitCode, says: str
) -> None:
    cli(
        "follow", "add", "x", "--collection", world.staging, "--to", DEST_BUCKET, *args,
        env=world.env,
    ).fails(code, says=says)  # fmt: skip
    assert _rules(cli, world) == []


def test_an_unregistered_collection_and_a_taken_name_are_refused(
    cli: CliRunner, world: GlobusWorld
) -> None:
    other = world.standin.add_collection("not registered", owner=world.user)
    cli(
        "follow", "add", "x", "--collection", other, "--to", DEST_BUCKET, env=world.env
    ).fails(ExitCode.CONFIG, says="collection add")  # fmt: skip
    _add(cli, world, "lab").ok()  # type: ignore[attr-defined]
    _add(cli, world, "lab").fails(ExitCode.CONFIG, says="exists already")  # type: ignore[attr-defined]


def test_a_rule_shadowed_by_an_earlier_one_is_told_so_and_list_shows_it(
    cli: CliRunner, world: GlobusWorld
) -> None:
    _add(cli, world, "all").ok()  # type: ignore[attr-defined]
    later = _add(cli, world, "nightly", "--label-match", "nightly*").ok()  # type: ignore[attr-defined]
    assert "rule all, created earlier, matches all of the same tasks" in later.stderr

    table = cli("follow", "list", env=world.env).ok().stdout
    assert "shadowed by all (full)" in table
    assert "shadows nightly (full)" in table


def test_an_engine_batch_rule_without_a_batch_role_is_refused_when_added(
    cli: CliRunner, world: GlobusWorld
) -> None:
    refused = _add(cli, world, "lab", "--engine", "batch")
    refused.fails(ExitCode.CONFIG, says="--engine batch needs a batch role")  # type: ignore[attr-defined]
    assert _rules(cli, world) == []


def test_the_engine_is_stored_on_the_rule_and_on_every_transfer_it_registers(
    cli: CliRunner, world: GlobusWorld
) -> None:
    with world.db.session() as session:  # `bucket update DEST --batch-role ARN`
        session.execute(
            update(Bucket).where(Bucket.name == DEST_BUCKET).values(batch_role_arn=BATCH_ROLE)
        )
    _add(cli, world, "lab", "--engine", "batch").ok()  # type: ignore[attr-defined]
    task = world.add_task([("/d/a", f"/{STAGING_BUCKET}/run/a", 1)], script=["ACTIVE"])

    cli("run", "--once", env=world.env).fails(ExitCode.WORK_REMAINS)

    with world.db.session() as session:
        transfer = session.scalar(select(Transfer).where(Transfer.globus_task_id == task))
        assert transfer is not None
        assert transfer.options == {
            "on_conflict": "overwrite",
            "delete_staging": False,
            "engine": "batch",
            "follow_rule": "lab",
        }


def test_a_collection_or_bucket_a_rule_uses_cannot_be_removed(
    cli: CliRunner, world: GlobusWorld
) -> None:
    _add(cli, world, "lab").ok()  # type: ignore[attr-defined]
    cli("collection", "remove", world.staging, env=world.env).fails(
        ExitCode.CONFIG, says="followed by rule(s) lab"
    )
    cli("bucket", "remove", DEST_BUCKET, env=world.env).fails(
        ExitCode.CONFIG, says="follow rule(s) lab"
    )


# --- Timers and the login --------------------------------------------------------------------


def test_a_timer_rule_added_before_timers_are_allowed_is_kept_with_the_next_step(
    cli: CliRunner, world: GlobusWorld
) -> None:
    timer = world.standin.add_timer(world.user, world.source, world.staging)

    result = _add(cli, world, "nightly", "--timer", timer).ok()  # type: ignore[attr-defined]

    assert "Run `aws-copy-pt login` again to allow Globus Timers" in result.stderr
    assert _rules(cli, world)[0]["timer_id"] == timer


def test_a_timer_globus_does_not_know_is_refused(cli: CliRunner, world: GlobusWorld) -> None:
    _allow_timers(world)
    missing = "1b2c3d4e-0000-4000-8000-00000000dead"
    _add(cli, world, "nightly", "--timer", missing).fails(  # type: ignore[attr-defined]
        ExitCode.REMOTE, says="has no timer"
    )
    assert _rules(cli, world) == []


def test_a_pass_without_a_timers_login_exits_5_and_the_other_rules_carry_on(
    cli: CliRunner, world: GlobusWorld
) -> None:
    timer = world.standin.add_timer(world.user, world.source, world.staging)
    _add(cli, world, "nightly", "--timer", timer).ok()  # type: ignore[attr-defined]
    _add(cli, world, "by-hand", "--label-match", "manual*").ok()  # type: ignore[attr-defined]
    task = world.add_task(
        [("/d/a", f"/{STAGING_BUCKET}/run/a", 1)], script=["ACTIVE"], label="manual 1"
    )

    result = cli("run", "--once", env=world.env).fails(ExitCode.NEEDS_LOGIN)

    assert TIMERS_HINT in result.stderr
    with world.db.session() as session:
        assert session.scalar(select(Transfer.globus_task_id)) == task
        errors = dict(session.execute(select(FollowRule.name, FollowRule.last_error)).all())
    assert "does not allow Globus Timers" in str(errors["nightly"])
    assert errors["by-hand"] is None


def test_timers_answering_401_and_refusing_the_refresh_asks_for_the_same_login(
    cli: CliRunner, world: GlobusWorld
) -> None:
    _allow_timers(world)
    timer = world.standin.add_timer(world.user, world.source, world.staging)
    _add(cli, world, "nightly", "--timer", timer).ok()  # type: ignore[attr-defined]
    with world.db.session() as session:  # Timers' grant revoked at Globus, the token with it
        refresh = session.scalar(
            select(GlobusToken.refresh_token).where(
                GlobusToken.resource_server == clients.TIMERS_RESOURCE_SERVER
            )
        )
        session.execute(
            update(GlobusToken)
            .where(GlobusToken.resource_server == clients.TIMERS_RESOURCE_SERVER)
            .values(access_token="revoked-at-globus")
        )
    assert refresh is not None
    world.standin.revoke_refresh_token(refresh)
    mark = world.standin.request_mark()

    result = cli("--json", "run", "--once", env=world.env).fails(ExitCode.NEEDS_LOGIN)

    report = json.loads(result.stdout)
    assert report["needs_login"] is True
    assert any(TIMERS_HINT in error for error in report["errors"])
    seen = [(r.endpoint, r.status) for r in world.standin.requests[mark:]]
    assert seen[:2] == [("timer.get_job", 401), ("auth.token", 400)]
