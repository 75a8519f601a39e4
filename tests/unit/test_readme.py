"""README.rst: valid reStructuredText, complete, and in step with the code."""

from __future__ import annotations

import itertools
import re

import click
import docutils.core

from aws_copy_pt.cli import docs
from aws_copy_pt.cli.main import main


def _readme() -> str:
    return docs.README.read_text()


def test_generated_sections_are_up_to_date() -> None:
    text = _readme()
    assert docs.render(text) == text, "run: .venv/bin/python -m aws_copy_pt.cli.docs"


def test_readme_is_valid_restructured_text() -> None:
    docutils.core.publish_doctree(
        _readme(), settings_overrides={"report_level": 2, "halt_level": 2}
    )


def test_the_first_command_installs_and_runs_the_demo_the_second_runs_the_tests() -> None:
    blocks = [line.strip() for line in _readme().splitlines() if "venv_create.sh" in line]
    commands = [b for b in blocks if b.startswith("./venv_create.sh")]
    assert commands[:2] == [
        "./venv_create.sh && .venv/bin/aws-copy-pt demo",
        "./venv_create.sh --dev && .venv/bin/pytest",
    ]


def _section_titles(text: str) -> set[str]:
    lines = text.splitlines()
    return {
        title.strip()
        for title, underline in itertools.pairwise(lines)
        if title.strip() and underline and set(underline) <= set("=-~") and len(underline) >= 3
    }


def test_the_readme_sections_that_ci_names_exist() -> None:
    ci = (docs.README.parent / ".ci" / "run").read_text()
    named = re.findall(r'"([^"\n]+)" section', ci)
    assert named, "`.ci/run` should say which README section it runs"
    assert set(named) <= _section_titles(_readme())


def test_top_level_help_says_no_arguments_start_the_guided_set_up() -> None:
    text = " ".join(str(main.help).split())
    assert "aws-copy-pt no arguments, in a terminal: the guided set-up" in text


def _all_commands() -> list[str]:
    """Every command path, e.g. 'status', 'bucket add', 'daemon stop'."""
    ctx = click.Context(main)
    paths = []
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        assert command is not None
        paths.append(name)
        if isinstance(command, click.Group):
            paths.extend(f"{name} {sub}" for sub in command.list_commands(ctx))
    return paths


def test_every_command_and_subcommand_has_help_and_appears_in_the_readme() -> None:
    text = _readme()
    ctx = click.Context(main)
    missing = []
    for path in _all_commands():
        group, _, sub = path.partition(" ")
        command = main.get_command(ctx, group)
        assert command is not None
        if sub:
            assert isinstance(command, click.Group)
            command = command.get_command(ctx, sub)
            assert command is not None
        assert command.help, f"`aws-copy-pt {path}` has no help text"
        mentioned = f"{group} {sub}" in text if sub else f"aws-copy-pt {group}" in text
        if not mentioned:
            missing.append(path)
    assert missing == [], f"commands not described in README.rst: {missing}"


def test_every_exit_status_has_a_documented_meaning_in_the_readme() -> None:
    from aws_copy_pt.errors import EXIT_CODE_MEANINGS, ExitCode

    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)
    table = docs.exit_code_table()
    for code in ExitCode:
        assert f"   * - {int(code)}\n" in table
    assert table in _readme()
