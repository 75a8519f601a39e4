"""Process plumbing for the daemon: detaching, the pid file, signals, status and stop.

``--detach`` double-forks and starts a new session so the daemon outlives the login shell (no
tmux needed on an HPC login node). Like any daemon it then works from ``/`` (it holds no
directory busy, so the one it was started in can be unmounted) with umask 0077 (whatever it
creates is private). The parent waits on a pipe until the child has taken the instance lock, so
"another daemon is running" is reported in the terminal that asked, not only in a log file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aws_copy_pt.errors import AwsCopyPtError, ExitCode
from aws_copy_pt.home.lock import LockHolder, lock_holder
from aws_copy_pt.home.paths import Home, create_private_file

DAEMON_UMASK = 0o077


@dataclass(frozen=True)
class DaemonStatus:
    running: bool  # a daemon holds the home
    pid: int | None
    log_file: Path
    started_at: float | None
    other: LockHolder | None = None  # what holds the home when it is not a daemon


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


def daemon_status(home: Home) -> DaemonStatus:
    holder = lock_holder(home)
    log_file = home.logs_dir / "aws-copy-pt.log"
    if holder is None or not holder.is_daemon:
        return DaemonStatus(False, None, log_file, None, holder)
    started = home.pid_path.stat().st_mtime if home.pid_path.exists() else None
    return DaemonStatus(True, holder.pid, log_file, started)


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


def detach(run_child: Callable[[Callable[[str], None]], int]) -> tuple[int, str]:
    """Fork a detached daemon running ``run_child(ready)``; return (pid, first message).

    The child calls ``ready("ok")`` once it holds the instance lock, or ``ready(<error>)``.
    The parent returns what the child said; it never runs the daemon itself.
    """
    read_fd, write_fd = os.pipe()
    first = os.fork()
    if first == 0:  # child: new session, then fork again so we can never regain a terminal
        os.close(read_fd)
        os.setsid()
        if os.fork() != 0:
            os._exit(int(ExitCode.OK))
        os.chdir("/")  # every path it uses is absolute (``home.paths``)
        os.umask(DAEMON_UMASK)
        _redirect_stdio()
        writer = os.fdopen(write_fd, "w")

        def ready(message: str) -> None:
            if writer.closed:  # only the first word counts
                return
            with contextlib.suppress(OSError):
                writer.write(f"{os.getpid()} {message}\n")
                writer.flush()
            writer.close()

        code: int = ExitCode.FAILURE
        try:
            code = run_child(ready)
        finally:
            ready("the daemon exited during start-up")
            os._exit(int(code))
    os.close(write_fd)
    os.waitpid(first, 0)
    with os.fdopen(read_fd) as reader:
        line = reader.readline().strip()
    if not line:
        return 0, "the daemon exited during start-up"
    pid, _, message = line.partition(" ")
    return int(pid), message


def _redirect_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
