"""`--json` is accepted after the command too, for every command.

`aws-copy-pt status --json` is `aws-copy-pt --json status`.
"""

from __future__ import annotations

import json

import click
import pytest

from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.cli.main import main as main_group
from tests.fixtures.cli import CliRunner


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand, as the words that name it."""
    ctx = click.Context(main_group)
    paths: list[tuple[str, ...]] = []

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            paths.append((*prefix, name))
            if isinstance(command, click.Group):
                walk(command, (*prefix, name))

    walk(main_group, ())
    return paths


COMMAND_PATHS = _command_paths()


def test_the_command_tree_is_walked_whole() -> None:
    assert ("status",) in COMMAND_PATHS
    assert ("bucket", "list") in COMMAND_PATHS
    assert ("daemon", "status") in COMMAND_PATHS
    assert len(COMMAND_PATHS) > 25


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_json_after_any_command_switches_json_output_on(
    path: tuple[str, ...], cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[AppContext] = []
    create = AppContext.create

    def spy(home: str | None, **kwargs: object) -> AppContext:
        created.append(create(home, **kwargs))
        return created[-1]

    monkeypatch.setattr(AppContext, "create", spy)

    cli(*path, "--json", "--help").ok()  # --json is read first; --help then runs nothing

    assert [app.json_output for app in created] == [True]


@pytest.mark.parametrize("path", [("status",), ("bucket", "list"), ("daemon", "status")])
def test_json_after_the_command_prints_what_json_before_it_prints(
    path: tuple[str, ...], cli: CliRunner
) -> None:
    before = cli("--json", *path)
    after = cli(*path, "--json")

    assert (after.exit_code, after.stdout) == (before.exit_code, before.stdout), after.explain()
    json.loads(after.stdout)


def test_the_json_after_a_command_is_not_listed_among_its_options(cli: CliRunner) -> None:
    options = cli("status", "--help").ok().stdout.split("Options:")[1]

    assert "--json" not in options
    assert "also accepted after the command" in cli("--help").ok().stdout
