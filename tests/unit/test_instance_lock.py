"""One worker per home: a second one is refused with the holder's pid; kill -9 frees the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aws_copy_pt.errors import LockedError
from aws_copy_pt.home.lock import (
    InstanceLock,
    filesystem_type,
    is_network_filesystem,
    lock_holder,
    lock_holder_pid,
)
from aws_copy_pt.home.paths import ensure_home, resolve_home

HOLDER = """
import sys
from aws_copy_pt.home.lock import InstanceLock
from aws_copy_pt.home.paths import resolve_home
lock = InstanceLock(resolve_home(sys.argv[1], {}), "daemon")
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def home(tmp_path: Path):
    h = resolve_home(tmp_path / "home", {})
    ensure_home(h)
    return h


def _hold_in_other_process(home) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_worker_is_refused_naming_the_holder_pid(home) -> None:
    holder = _hold_in_other_process(home)
    try:
        with pytest.raises(LockedError) as err:
            InstanceLock(home, "run --once").acquire()
        assert f"pid {holder.pid}, `daemon`" in err.value.message
        assert lock_holder_pid(home) == holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_refusal_names_the_same_holder_as_lock_holder_with_how_long_it_held_the_home(
    home,
) -> None:
    holder = _hold_in_other_process(home)
    try:
        with pytest.raises(LockedError) as err:
            InstanceLock(home, "run --once").acquire()
        found = lock_holder(home)
        assert found is not None and err.value.holder_role == found.role == "daemon"
        assert err.value.held_for is not None and err.value.held_for >= 0
    finally:
        holder.kill()
        holder.wait()


def test_the_holder_says_what_it_is_so_daemon_stop_can_tell_a_daemon_from_a_cron_pass(
    home,
) -> None:
    holder = _hold_in_other_process(home)
    try:
        found = lock_holder(home)
        assert found is not None and found.is_daemon and found.pid == holder.pid
        assert str(found) == f"`daemon` (pid {holder.pid})"
    finally:
        holder.kill()
        holder.wait()
    with InstanceLock(home, "run --once"):
        found = lock_holder(home)
        assert found is not None and found.role == "run --once" and not found.is_daemon
    assert lock_holder(home) is None


def test_a_killed_holder_leaves_no_stale_lock(home) -> None:
    holder = _hold_in_other_process(home)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock_holder_pid(home) is None
    with InstanceLock(home, "run --once"):
        assert lock_holder_pid(home) is None or lock_holder_pid(home) == os.getpid()


def test_lock_is_released_on_exit_of_the_with_block(home) -> None:
    with InstanceLock(home, "daemon"):
        pass
    with InstanceLock(home, "daemon"):
        pass


def test_network_file_systems_are_recognised(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\n"
        "server:/export/home /home nfs4 rw 0 0\n"
        "lustre@tcp:/scratch /scratch lustre rw 0 0\n"
    )
    assert filesystem_type(Path("/home/alice/x"), mounts) == "nfs4"
    assert is_network_filesystem(Path("/scratch/lab"), mounts)
    assert not is_network_filesystem(Path("/opt/data"), mounts)
