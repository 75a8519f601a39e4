"""Detaching the daemon (daemon.process.detach): a real fork and exec, reported through the
real pipe."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from aws_copy_pt.daemon.process import detach

# A stand-in for `aws-copy-pt daemon`: reports where it runs through the --ready-fd it is given.
_REPORT_CWD_AND_UMASK = """
import os, sys
from pathlib import Path
mask = os.umask(0)
fd = int(sys.argv[sys.argv.index("--ready-fd") + 1])
leader = os.getsid(0) == os.getpid()
os.write(fd, f"{os.getpid()} cwd={Path.cwd()} umask={mask:04o} session_leader={leader}\\n".encode())
"""


def test_a_detached_daemon_works_from_the_root_with_a_private_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = os.umask(0o022)
    try:
        pid, message = detach([sys.executable, "-c", _REPORT_CWD_AND_UMASK], {})
    finally:
        os.umask(before)

    assert pid > 0 and pid != os.getpid()
    assert message == "cwd=/ umask=0077 session_leader=False"
    assert Path.cwd() == tmp_path  # the caller stays where it was


def test_a_child_that_never_reports_is_said_to_have_exited_during_start_up() -> None:
    _, message = detach([sys.executable, "-c", "raise SystemExit(1)"], {})

    assert message == "the daemon exited during start-up"


def test_a_program_that_cannot_be_started_is_said_to_have_exited_during_start_up(
    tmp_path: Path,
) -> None:
    _, message = detach([str(tmp_path / "no-such-program")], {})

    assert message == "the daemon exited during start-up"
