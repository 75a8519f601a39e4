"""The command-line skeleton: version, help, first use, the error boundary and exit codes."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest

from aws_copy_pt import __version__
from aws_copy_pt.cli.main import main as main_group
from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliRunner


def test_version_is_printed_by_the_installed_script(cli_subprocess: CliRunner) -> None:
    result = cli_subprocess("--version").ok()
    assert result.stdout.strip() == f"aws-copy-pt, version {__version__}"


def test_python_dash_m_runs_the_same_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aws_copy_pt", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert __version__ in proc.stdout


def test_help_imports_no_sdk_and_no_database_layer() -> None:
    # Help must stay instant on slow HPC file systems: the heavy libraries load only when used.
    probe = (
        "import sys\n"
        "from aws_copy_pt.cli.main import invoke\n"
        "codes = [invoke(['--help'])]\n"
        "for name in invoke.__globals__['main'].list_commands(None):\n"
        "    codes.append(invoke([name, '--help']))\n"
        "heavy = ('boto3', 'botocore', 'globus_sdk', 'sqlalchemy')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print('HEAVY', heavy, 'CODES', codes)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY [] CODES" in proc.stdout, proc.stdout
    assert set(proc.stdout.split("CODES")[1].strip(" []\n").split(", ")) == {"0"}


def test_every_command_has_help_text() -> None:
    ctx = click.Context(main_group)
    for name in main_group.list_commands(ctx):
        command = main_group.get_command(ctx, name)
        assert command is not None
        assert command.help and command.get_short_help_str(), f"{name} has no help"


def test_status_on_first_use_creates_a_private_home_and_database(
    cli_subprocess: CliRunner, app_home: Path
) -> None:
    result = cli_subprocess("status").ok()
    assert "No transfers yet" in result.stdout
    assert stat.S_IMODE(app_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((app_home / "aws-copy-pt.db").stat().st_mode) == 0o600


def test_status_json_is_an_empty_list_of_transfers(cli: CliRunner) -> None:
    result = cli("--json", "status").ok()
    assert json.loads(result.stdout) == {"transfers": []}


def test_home_option_overrides_the_environment(cli: CliRunner, tmp_path: Path) -> None:
    other = tmp_path / "other-home"
    cli("--home", str(other), "status").ok()
    assert (other / "aws-copy-pt.db").exists()


def test_loose_home_permissions_are_refused_with_the_fix(
    cli_subprocess: CliRunner, app_home: Path
) -> None:
    cli_subprocess("status").ok()
    app_home.chmod(0o750)
    result = cli_subprocess("status").fails(ExitCode.CONFIG, says="too open")
    assert f"chmod 700 {app_home}" in result.stderr
    assert "Traceback" not in result.stderr


def test_foreign_database_is_refused_with_a_clear_message(cli: CliRunner, app_home: Path) -> None:
    app_home.mkdir(mode=0o700)
    conn = sqlite3.connect(app_home / "aws-copy-pt.db")
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    (app_home / "aws-copy-pt.db").chmod(0o600)
    cli("status").fails(ExitCode.CONFIG, says="belongs to another program")


def test_unknown_command_is_a_usage_error(cli: CliRunner) -> None:
    result = cli("sttaus")
    assert result.exit_code == ExitCode.USAGE
    assert "No such command" in result.stderr


def test_a_mistyped_command_gets_the_closest_commands_suggested(cli: CliRunner) -> None:
    cli("stauts").fails(ExitCode.USAGE, says="No such command 'stauts'. Did you mean 'status'?")
    cli("daemn").fails(ExitCode.USAGE, says="Did you mean 'daemon' or 'demo'?")
    cli("transfers", "shwo", "1").fails(ExitCode.USAGE, says="Did you mean 'show'?")


def test_a_command_like_nothing_known_gets_no_guess(cli: CliRunner) -> None:
    result = cli("xyzzy").fails(ExitCode.USAGE, says="No such command 'xyzzy'.")
    assert "Did you mean" not in result.stderr


def test_daemon_status_without_a_daemon_exits_not_running_and_says_how_to_start_one(
    cli: CliRunner,
) -> None:
    result = cli("daemon", "status")
    as_json = cli("--json", "daemon", "status")

    assert result.exit_code == ExitCode.NOT_RUNNING == 10, result.explain()
    assert "No daemon is running. Start one with `aws-copy-pt daemon --detach`." in result.stdout
    assert as_json.exit_code == ExitCode.NOT_RUNNING
    assert json.loads(as_json.stdout)["running"] is False
    assert json.loads(as_json.stdout)["next_poll_at"] is None


def test_run_help_lists_every_exit_status_a_pass_returns() -> None:
    from aws_copy_pt.cli.commands.run import command

    assert command.help is not None
    text = " ".join(command.help.split())
    for code in (
        ExitCode.NEEDS_LOGIN,
        ExitCode.GLOBUS_INACTIVE,
        ExitCode.PARTIAL,
        ExitCode.WORK_REMAINS,
        ExitCode.OK,
        ExitCode.LOCKED,
    ):
        assert f" {int(code)} " in text, f"`run --help` does not explain exit status {code!r}"
    assert "A quiet pass prints nothing" in text


def test_ctrl_c_exits_130_and_leaves_the_database_intact(
    cli: CliRunner, app_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("status").ok()

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("aws_copy_pt.services.transfers.list_transfers", interrupted)
    result = cli("status")
    assert result.exit_code == ExitCode.INTERRUPTED
    assert "interrupted" in result.stderr
    conn = sqlite3.connect(app_home / "aws-copy-pt.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_unexpected_errors_are_one_line_without_traceback_unless_debug(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("something odd")

    monkeypatch.setattr("aws_copy_pt.services.transfers.list_transfers", boom)
    plain = cli("status")
    assert plain.exit_code == ExitCode.FAILURE
    assert "internal error: RuntimeError: something odd" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = cli("--debug", "status")
    assert "Traceback" in debug.stderr
