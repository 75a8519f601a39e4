"""Where aws-copy-pt keeps its data, and the rules for it (like ssh's).

Precedence: ``--home DIR`` > ``AWS_COPY_PT_HOME`` > ``$XDG_DATA_HOME/aws-copy-pt`` >
``~/.local/share/aws-copy-pt``. The home is created 0700 and the database 0600. Because the
database holds credentials, a home is refused, with the command that fixes it, when:

* it or the database is readable by group or others (the exact ``chmod``);
* it, or a file of ours in it, belongs to another user: running as root on a user's home would
  leave root-owned files that lock the owner out, so root is refused too;
* a file of ours in it (the database, its journals, the lock, the pid file, the daemon's wake
  and schedule files, the logs) is a symbolic link: a dangling link would make SQLite create
  the database wherever it points;
* it cannot be written (a read-only file system or mode): said as such, not as a full disk.

The home itself may be a symbolic link (to a scratch disk, say); the files inside may not.
"""

from __future__ import annotations

import os
import pwd
import shlex
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_copy_pt.errors import ConfigError, HomePermissionError

HOME_ENV = "AWS_COPY_PT_HOME"
DB_FILENAME = "aws-copy-pt.db"
LOGS_DIRNAME = "logs"
DB_COMPANIONS = ("-wal", "-shm", "-journal")  # files SQLite keeps beside the database


@dataclass(frozen=True)
class Home:
    """The application's data directory and the files inside it."""

    path: Path

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILENAME

    @property
    def logs_dir(self) -> Path:
        return self.path / LOGS_DIRNAME

    @property
    def lock_path(self) -> Path:
        return self.path / "aws-copy-pt.lock"

    @property
    def pid_path(self) -> Path:
        return self.path / "daemon.pid"

    @property
    def wake_path(self) -> Path:
        """Rewritten by commands that give the daemon new work (see daemon/wake.py)."""
        return self.path / "daemon.wake"

    @property
    def schedule_path(self) -> Path:
        """The running daemon's next poll time, for `daemon status`."""
        return self.path / "daemon.schedule"

    def own_paths(self) -> list[Path]:
        """Every path aws-copy-pt writes in the home (none of them may be a link)."""
        db = self.db_path
        companions = [db.with_name(db.name + suffix) for suffix in DB_COMPANIONS]
        return [
            db,
            *companions,
            self.lock_path,
            self.pid_path,
            self.wake_path,
            self.schedule_path,
            self.logs_dir,
        ]


def resolve_home(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Home:
    """Pick the home directory by the documented precedence (does not create it)."""
    if explicit:
        return Home(Path(explicit).expanduser().absolute())
    if env.get(HOME_ENV):
        return Home(Path(env[HOME_ENV]).expanduser().absolute())
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path(env.get("HOME", str(Path.home()))) / ".local" / "share"
    return Home((base / "aws-copy-pt").expanduser().absolute())


def ensure_home(home: Home) -> None:
    """Create the home (0700) if missing; refuse one that is not safe to use (see above)."""
    try:
        home.path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the aws-copy-pt home {home.path}: {exc.strerror}",
            hint="choose another with --home DIR or AWS_COPY_PT_HOME",
        ) from exc
    if not home.path.is_dir():
        raise ConfigError(
            f"the aws-copy-pt home {home.path} exists but is not a directory",
            hint="remove it or choose another with --home DIR",
        )
    _refuse_foreign(home.path, what="the aws-copy-pt home")
    _refuse_loose(home.path, 0o700)
    _refuse_read_only(home.path)
    for path in home.own_paths():
        _refuse_link_or_foreign(path)
    if home.db_path.exists():
        _refuse_loose(home.db_path, 0o600)
        if not os.access(home.db_path, os.R_OK | os.W_OK):
            mode = stat.S_IMODE(home.db_path.stat().st_mode)
            raise ConfigError(
                f"the database {home.db_path} is read-only for you (mode {mode:04o})",
                hint=f"run: chmod 600 {shlex.quote(str(home.db_path))}",
            )


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _refuse_foreign(path: Path, *, what: str) -> None:
    owner, me = path.stat().st_uid, os.geteuid()
    if owner == me:
        return
    raise HomePermissionError(
        f"{what} {path} belongs to {_user(owner)}, not to you ({_user(me)}): aws-copy-pt uses "
        "only a home of its own user, so that it never leaves files its owner cannot use",
        hint=f"run aws-copy-pt as {_user(owner)}, or use a home of your own with --home DIR",
    )


def _refuse_link_or_foreign(path: Path) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise HomePermissionError(
            f"{path} is a symbolic link (to {path.readlink()}); aws-copy-pt follows no link "
            "inside its home: a link would make it read or write files elsewhere",
            hint="put the file itself there (or remove the link); to keep the data elsewhere, "
            "point --home (or AWS_COPY_PT_HOME) at that directory instead",
        )
    if info.st_uid != os.geteuid():
        raise HomePermissionError(
            f"{path} belongs to {_user(info.st_uid)}, not to you ({_user(os.geteuid())}); "
            "it was probably left by running aws-copy-pt as that user",
            hint=f"have it removed, or handed to you: chown {_user(os.geteuid())} "
            f"{shlex.quote(str(path))} (as {_user(info.st_uid)} or an administrator)",
        )


def _refuse_read_only(path: Path) -> None:
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        raise ConfigError(
            f"the aws-copy-pt home {path} is on a read-only file system; aws-copy-pt writes "
            "its database, journal and lock there, even to show status",
            hint="remount it read-write, or use a home on a writable disk with --home DIR",
        )
    if not os.access(path, os.W_OK | os.X_OK):
        mode = stat.S_IMODE(path.stat().st_mode)
        raise ConfigError(
            f"the aws-copy-pt home {path} is read-only for you (mode {mode:04o}); aws-copy-pt "
            "writes its database, journal and lock there, even to show status",
            hint=f"run: chmod 700 {shlex.quote(str(path))}",
        )


def _refuse_loose(path: Path, wanted: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise HomePermissionError(
            f"permissions {mode:04o} on {path} are too open: it holds credentials and must not be "
            "readable by group or others",
            hint=f"run: chmod {wanted:o} {shlex.quote(str(path))}",
        )


def replace_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) so readers see the old or the new content, whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(text)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def create_private_file(path: Path) -> None:
    """Create an empty file readable only by its owner, if it does not exist yet (never through
    a symbolic link: that fails with ELOOP)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    os.close(fd)
