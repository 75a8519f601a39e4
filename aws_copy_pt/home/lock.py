"""One aws-copy-pt worker per home: an fcntl lock on a file in the home.

``run --once`` and ``daemon`` take the lock for as long as they work; a second one is refused
with the pid and command of the holder. The lock dies with its process (even on kill -9), so a
stale lock never needs cleaning. SQLite and fcntl locks are unreliable on network file systems,
hence the one-time warning when the home is on NFS, Lustre and the like.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aws_copy_pt.errors import LockedError
from aws_copy_pt.home.paths import Home

NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "smbfs", "beegfs", "fuse.sshfs", "ceph"}
)


class InstanceLock:
    """Exclusive, non-blocking lock on ``<home>/aws-copy-pt.lock`` holding ``pid role``."""

    def __init__(self, home: Home, role: str) -> None:
        self._path = home.lock_path
        self._role = role
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_in(fd)
            held_for = time.time() - os.fstat(fd).st_mtime  # the holder wrote it when it took it
            os.close(fd)
            raise LockedError(
                f"another aws-copy-pt process ({_describe(holder)}) is already working in "
                f"{self._path.parent}",
                hint="wait for it to finish, or stop a daemon with `aws-copy-pt daemon stop`",
                holder_role=None if holder is None else holder.role or None,
                held_for=held_for,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self._role}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


DAEMON_ROLE = "daemon"


@dataclass(frozen=True)
class LockHolder:
    """The process holding a home's lock, as it wrote itself into the lock file."""

    pid: int | None
    role: str  # "daemon", "run --once", "run", "copy", "wizard: watching"; "" when unknown

    @property
    def is_daemon(self) -> bool:
        return self.role == DAEMON_ROLE

    def __str__(self) -> str:
        pid = "pid unknown" if self.pid is None else f"pid {self.pid}"
        return f"`{self.role}` ({pid})" if self.role else pid


def lock_holder(home: Home) -> LockHolder | None:
    """What holds the home's lock now, or None when nothing does."""
    if not home.lock_path.exists():
        return None
    fd = os.open(home.lock_path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_in(fd) or LockHolder(None, "")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _holder_in(fd: int) -> LockHolder | None:
    """The holder as it wrote itself into the lock file (``pid role``); None before it has."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 200).decode(errors="replace").strip()
    if not text:
        return None
    pid, _, role = text.partition(" ")
    return LockHolder(int(pid) if pid.isdigit() else None, role)


def _describe(holder: LockHolder | None) -> str:
    """``pid 123, `run --once``` for a refusal message; ``pid unknown`` before it wrote itself."""
    if holder is None:
        return "pid unknown"
    pid = "pid unknown" if holder.pid is None else f"pid {holder.pid}"
    return f"{pid}, `{holder.role}`" if holder.role else pid


def lock_holder_pid(home: Home) -> int | None:
    """The pid written by the current lock holder, or None when nobody holds the lock."""
    holder = lock_holder(home)
    return None if holder is None else holder.pid


def filesystem_type(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str | None:
    """The file system type of the mount that holds ``path`` (Linux), or None if unknown."""
    try:
        lines = mounts_file.read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best: tuple[int, str] | None = None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), fields[2])
    return None if best is None else best[1]


def is_network_filesystem(path: Path, mounts_file: Path = Path("/proc/mounts")) -> bool:
    return (filesystem_type(path, mounts_file) or "") in NETWORK_FILESYSTEMS
