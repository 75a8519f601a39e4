"""Hints name a command that works as typed: `aws-copy-pt` only when PATH finds this program."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aws_copy_pt.cli.program import command_words, program_words
from aws_copy_pt.home.paths import Home


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process, as if started as the console script in a venv's bin/."""
    path = tmp_path / "venv" / "bin" / "aws-copy-pt"
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(path), "demo"])
    return path


def test_the_bare_name_when_path_finds_this_very_program(script: Path) -> None:
    assert program_words({"PATH": f"/usr/bin:{script.parent}"}) == ["aws-copy-pt"]


def test_the_absolute_path_when_path_finds_nothing_or_another_install(
    script: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "aws-copy-pt").write_text("#!/bin/sh\n")
    (other / "aws-copy-pt").chmod(0o755)
    assert program_words({"PATH": "/usr/bin"}) == [str(script)]
    assert program_words({"PATH": str(other)}) == [str(script)]


def test_cron_lines_always_name_the_file(script: Path) -> None:
    assert program_words({"PATH": str(script.parent)}, absolute=True) == [str(script)]


def test_a_program_started_otherwise_is_run_as_a_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/lib/python3/pytest"])
    assert program_words({"PATH": "/usr/bin"}) == [sys.executable, "-m", "aws_copy_pt"]


def test_home_is_named_unless_it_is_the_default(script: Path, tmp_path: Path) -> None:
    env = {"PATH": str(script.parent), "HOME": str(tmp_path)}
    default = Home(tmp_path / ".local" / "share" / "aws-copy-pt")
    assert command_words(default, env) == ["aws-copy-pt"]
    other = Home(tmp_path / "demo")
    assert command_words(other, env) == ["aws-copy-pt", "--home", str(tmp_path / "demo")]
