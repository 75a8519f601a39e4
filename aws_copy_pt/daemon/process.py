"""Process plumbing for the daemon: detaching, the pid file, signals, status and stop.

``--detach`` double-forks and starts a new session so the daemon outlives the login shell (no
tmux needed on an HPC login node). The parent waits on a pipe until the child has taken the
instance lock, so "another daemon is running" is reported in the terminal that asked, not only in
a log file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aws_copy_pt.errors import AwsCopyPtError, ExitCode
from aws_copy_pt.home.lock import lock_holder_pid
from aws_copy_pt.home.paths import Home, create_private_file, replace_private_file

if TYPE_CHECKING:
    from aws_copy_pt.daemon.scheduler import Schedule


@dataclass(frozen=True)
class DaemonStatus:
    running: bool
    pid: int | None
    log_file: Path
    started_at: float | None
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
    pid = lock_holder_pid(home)
    started = None
    if pid is not None and home.pid_path.exists():
        started = home.pid_path.stat().st_mtime
    log_file = home.logs_dir / "aws-copy-pt.log"
    times = _schedule_of(home, pid) if pid is not None else {}
    return DaemonStatus(
        pid is not None,
        pid,
        log_file,
        started,
        next_poll_at=_time(times.get("next_poll_at")),
        poll_delay_seconds=_seconds(times.get("poll_delay_seconds")),
        last_poll_at=_time(times.get("last_poll_at")),
        woken_at=_time(times.get("woken_at")),
    )


def _schedule_of(home: Home, pid: int) -> dict[str, object]:
    """The schedule written by daemon ``pid`` (a `run --once` holding the lock writes none)."""
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


def stop_daemon(home: Home, *, timeout: float) -> int | None:
    """SIGTERM the running daemon and wait until it released the lock; None if none ran."""
    pid = lock_holder_pid(home)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock_holder_pid(home) is None:
            return pid
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
            os._exit(0)
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
