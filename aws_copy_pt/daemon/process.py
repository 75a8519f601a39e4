"""Process plumbing for the daemon: detaching, the pid file, signals, status and stop.

``--detach`` double-forks and starts a new session so the daemon outlives the login shell (no
tmux needed on an HPC login node). Like any daemon it works from ``/`` (it holds no directory
busy, so the one it was started in can be unmounted) with umask 0077 (whatever it creates is
private). It then executes a fresh `aws-copy-pt daemon` there, from an environment without the
variables that may carry secrets (``secrecy.without_secrets``): not even
``/proc/<pid>/environ`` of the daemon holds them. The parent waits on a pipe (its write end
passed as ``--ready-fd``) until the daemon has taken the instance lock, so "another daemon is
running" is reported in the terminal that asked, not only in a log file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aws_copy_pt.errors import AwsCopyPtError, ExitCode
from aws_copy_pt.home.lock import LockHolder, lock_holder
from aws_copy_pt.home.paths import Home, create_private_file, replace_private_file

if TYPE_CHECKING:
    from aws_copy_pt.daemon.scheduler import Schedule

DAEMON_UMASK = 0o077


@dataclass(frozen=True)
class DaemonStatus:
    running: bool  # a daemon holds the home
    pid: int | None
    log_file: Path
    started_at: float | None
    other: LockHolder | None = None  # what holds the home when it is not a daemon
    next_poll_at: datetime | None = None  # when the daemon polls Globus next
    poll_delay_seconds: float | None = None  # the wait it chose, after its last poll
    last_poll_at: datetime | None = None
    woken_at: datetime | None = None  # the last wake-up by a command (daemon/wake.py)


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGTERM/SIGINT/SIGHUP ask the daemon to finish in-flight work and exit cleanly."""

    def handler(signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, handler)


def write_pid_file(home: Home) -> None:
    create_private_file(home.pid_path)
    home.pid_path.write_text(f"{os.getpid()}\n")


def remove_pid_file(home: Home) -> None:
    with contextlib.suppress(FileNotFoundError):
        if home.pid_path.read_text().strip() == str(os.getpid()):
            home.pid_path.unlink()
            home.schedule_path.unlink()


def write_schedule(home: Home, schedule: Schedule) -> None:
    """Record the daemon's next poll time where `daemon status` finds it (atomically)."""
    times = {
        "pid": os.getpid(),
        "next_poll_at": schedule.next_poll_at.isoformat(),
        "poll_delay_seconds": schedule.delay_seconds,
        "last_poll_at": _iso(schedule.last_poll_at),
        "woken_at": _iso(schedule.woken_at),
        "min_poll_seconds": schedule.min_poll_seconds,
        "max_poll_seconds": schedule.max_poll_seconds,
    }
    replace_private_file(home.schedule_path, json.dumps(times))


def daemon_status(home: Home) -> DaemonStatus:
    holder = lock_holder(home)
    log_file = home.logs_dir / "aws-copy-pt.log"
    if holder is None or not holder.is_daemon:
        return DaemonStatus(False, None, log_file, None, holder)
    started = home.pid_path.stat().st_mtime if home.pid_path.exists() else None
    times = _schedule_of(home, holder.pid) if holder.pid is not None else {}
    return DaemonStatus(
        True,
        holder.pid,
        log_file,
        started,
        next_poll_at=_time(times.get("next_poll_at")),
        poll_delay_seconds=_seconds(times.get("poll_delay_seconds")),
        last_poll_at=_time(times.get("last_poll_at")),
        woken_at=_time(times.get("woken_at")),
    )


def _schedule_of(home: Home, pid: int) -> dict[str, object]:
    """The schedule written by daemon ``pid`` (an older daemon's file is not its)."""
    try:
        times = json.loads(home.schedule_path.read_text())
    except (OSError, ValueError):
        return {}
    return times if isinstance(times, dict) and times.get("pid") == pid else {}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Stopped:
    """What ``daemon stop`` did: the daemon it stopped, or what holds the home instead."""

    pid: int | None  # the daemon stopped; None: no daemon ran
    other: LockHolder | None = None  # not a daemon: left alone


def stop_daemon(home: Home, *, timeout: float) -> Stopped:
    """SIGTERM the running daemon and wait until it released the lock. Anything else holding
    the home (a cron `run --once`, a `copy`) is left alone: it finishes by itself."""
    holder = lock_holder(home)
    if holder is None or not holder.is_daemon or holder.pid is None:
        return Stopped(None, holder)
    pid = holder.pid
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock_holder(home) is None:
            return Stopped(pid)
        time.sleep(0.2)
    raise AwsCopyPtError(
        f"the daemon (pid {pid}) is still finishing in-flight copies after {timeout:.0f} s",
        hint=f"wait and run `aws-copy-pt daemon status`; `kill -9 {pid}` is safe but "
        "interrupts copies (they resume on the next start)",
    )


def detach(argv: Sequence[str], env: Mapping[str, str]) -> tuple[int, str]:
    """Start ``argv`` (a foreground `daemon` command) detached, with exactly ``env``; return its
    pid and the first thing it said through ``--ready-fd`` ("ok", or why it did not start)."""
    read_fd, write_fd = os.pipe()
    first = os.fork()
    if first == 0:  # child: new session, then fork again so we can never regain a terminal
        try:
            os.close(read_fd)
            os.setsid()
            if os.fork() != 0:
                os._exit(int(ExitCode.OK))
            os.chdir("/")  # every path it uses is absolute (``home.paths``; argv[0] too)
            os.umask(DAEMON_UMASK)
            _redirect_stdio()
            os.set_inheritable(write_fd, True)
            os.execve(argv[0], [*argv, "--ready-fd", str(write_fd)], dict(env))  # noqa: S606
        finally:
            os._exit(ExitCode.FAILURE)  # only reached when the exec failed
    os.close(write_fd)
    os.waitpid(first, 0)
    with os.fdopen(read_fd) as reader:
        line = reader.readline().strip()
    if not line:
        return 0, "the daemon exited during start-up"
    pid, _, message = line.partition(" ")
    return int(pid), message


def ready_pipe(fd: int) -> Callable[[str], None]:
    """The daemon's side of ``--ready-fd``: ``ready(message)`` sends its first word only."""
    writer = os.fdopen(fd, "w")

    def ready(message: str) -> None:
        if writer.closed:
            return
        with contextlib.suppress(OSError):
            writer.write(f"{os.getpid()} {message}\n")
            writer.flush()
        writer.close()

    return ready


def _redirect_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
