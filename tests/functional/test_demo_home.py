"""A kept demo home uses its own stand-ins, never the real Globus, and says when they stopped."""

from __future__ import annotations

import os
from pathlib import Path

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.globus.clients import remember_client_id
from aws_copy_pt.home.paths import Home
from aws_copy_pt.sandbox.demo_home import remember
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from tests.fixtures.cli import CliRunner
from tests.fixtures.globus import store_login


def _demo_home(home: Path, standin: GlobusStandIn) -> None:
    """A home as `demo --keep` leaves it: logged in at ``standin``, which it remembers."""
    db = open_database(Home(home))
    try:
        store_login(db, standin, standin.add_user("demo@example.org", name="Demo"))
        remember_client_id(db, standin.client_id)
        remember(db, standin.env())
    finally:
        db.close()


def test_while_its_stand_ins_run_the_home_reaches_them_without_any_environment(
    cli: CliRunner, app_home: Path, globus_standin: GlobusStandIn
) -> None:
    _demo_home(app_home, globus_standin)
    assert "GLOBUS_SDK_SERVICE_URL_AUTH" not in os.environ

    result = cli("whoami").ok()

    assert "demo@example.org" in result.stdout
    assert "GLOBUS_SDK_SERVICE_URL_AUTH" not in os.environ  # put back when the command ended


def test_once_they_stopped_commands_that_need_them_say_so_and_the_rest_work(
    cli: CliRunner, app_home: Path, globus_standin: GlobusStandIn
) -> None:
    _demo_home(app_home, globus_standin)
    globus_standin.stop()

    for command in (("whoami",), ("tasks",)):
        stopped = cli(*command)
        stopped.fails(ExitCode.CONFIG, says="this is a demo home whose servers have stopped")
        assert "demo --keep" in stopped.stderr
    cli("status").ok()
