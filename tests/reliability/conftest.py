"""Fixtures of the reliability suites, and the summary line they leave in every CI log."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from aws_copy_pt.sandbox.s3server import MotoS3Server, empty_and_delete_bucket
from tests.fixtures.cli import CliRunner
from tests.reliability.bad_input import Bench
from tests.reliability.figures import Figures, figures_of
from tests.reliability.world import World, new_buckets, register, subprocess_env
from tests.support.faultproxy import FaultProxy


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """The session's counters (see figures.py)."""
    return figures_of(request.config)


@pytest.fixture
def world(
    globus_standin: GlobusStandIn,
    s3_server: MotoS3Server,
    app_home: Path,
    cli: CliRunner,
    figures: Figures,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    accounts = s3_server.accounts()
    staging, dest = new_buckets(s3_server, accounts)
    user = globus_standin.add_user("lab-manager@example.org")
    with (
        FaultProxy(s3_server.endpoint_url) as proxy,
        FaultProxy(globus_standin.transfer_url.rstrip("/")) as globus_proxy,
    ):
        world = World(
            standin=globus_standin,
            s3=s3_server,
            proxy=proxy,
            globus_proxy=globus_proxy,
            accounts=accounts,
            home=app_home,
            cli=cli,
            env=subprocess_env(app_home, globus_standin, globus_proxy, s3_server, accounts),
            user=user,
            source=globus_standin.add_collection("cluster", owner=user),
            staging_collection=globus_standin.add_collection("s3 staging", owner=user),
            staging_bucket=staging,
            dest_bucket=dest,
            figures=figures,
            tmp=tmp_path,
        )
        globus_standin.settings.on_succeeded = world.deliver
        register(world, monkeypatch)
        try:
            yield world
        finally:
            world.stop_all()
            figures.faults += proxy.faults_injected + globus_proxy.faults_injected
    for client, bucket in ((world.staging_s3, staging), (world.dest_s3, dest)):
        with contextlib.suppress(ClientError):
            empty_and_delete_bucket(client, bucket)


@pytest.fixture
def bench(world: World, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    """What a bad-input row may use, with the registered world."""
    return Bench(cli=cli, tmp=tmp_path, env=world.env, monkeypatch=monkeypatch, world=world)


@pytest.fixture
def home_bench(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    """What a bad-input row about the home itself may use: no registration at all."""
    return Bench(cli=cli, tmp=tmp_path, env={}, monkeypatch=monkeypatch)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    figures = figures_of(config)
    if figures.used:
        terminalreporter.write_line(figures.line())
