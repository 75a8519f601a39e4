"""`follow add --route`: a rule's route is checked when it is added, and carried into every
transfer it registers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from aws_copy_pt.db.models import Bucket
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from tests.fixtures.cli import CliResult, CliRunner
from tests.fixtures.globus_world import DEST_BUCKET, GlobusWorld, build_world


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, app_home, monkeypatch)
    world.register_staging()
    world.login()
    yield world
    world.db.close()


def _add(cli: CliRunner, world: GlobusWorld, *extra: str) -> CliResult:
    return cli(
        "follow", "add", "lab", "--collection", world.staging, "--to", f"{DEST_BUCKET}/lab",
        *extra, env=world.env,
    )  # fmt: skip


def test_a_rule_keeps_its_route_for_the_transfers_it_registers(
    cli: CliRunner, world: GlobusWorld
) -> None:
    _add(cli, world, "--route", "stream").ok()

    [rule] = json.loads(cli("--json", "follow", "list", env=world.env).ok().stdout)["rules"]

    assert rule["options"]["route"] == "stream"


def test_server_side_into_another_provider_is_refused_when_the_rule_is_added(
    cli: CliRunner, world: GlobusWorld
) -> None:
    with world.db.session() as session:
        session.execute(
            update(Bucket)
            .where(Bucket.name == DEST_BUCKET)
            .values(endpoint_url="https://minio.lab.example.org:9000")
        )

    refused = _add(cli, world, "--route", "server-side")

    refused.fails(ExitCode.USAGE, says="different S3 services")
    assert json.loads(cli("--json", "follow", "list", env=world.env).ok().stdout)["rules"] == []
