"""Detaching the daemon (daemon.process.detach): a real fork, reported through the real pipe."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from aws_copy_pt.daemon.process import detach


def _report_cwd_and_umask(ready: Callable[[str], None]) -> int:
    mask = os.umask(0)
    os.umask(mask)
    ready(f"cwd={Path.cwd()} umask={mask:04o} session_leader={os.getsid(0) == os.getpid()}")
    return 0


def test_a_detached_daemon_works_from_the_root_with_a_private_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = os.umask(0o022)
    try:
        pid, message = detach(_report_cwd_and_umask)
    finally:
        os.umask(before)

    assert pid > 0 and pid != os.getpid()
    assert message == "cwd=/ umask=0077 session_leader=False"
    assert Path.cwd() == tmp_path  # the caller stays where it was


def test_a_child_that_never_reports_is_said_to_have_exited_during_start_up() -> None:
    _, message = detach(lambda ready: 1)

    assert message == "the daemon exited during start-up"
