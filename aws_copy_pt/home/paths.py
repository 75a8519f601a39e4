"""Where aws-copy-pt keeps its data, and the permission rules for it (like ssh's).

Precedence: ``--home DIR`` > ``AWS_COPY_PT_HOME`` > ``$XDG_DATA_HOME/aws-copy-pt`` >
``~/.local/share/aws-copy-pt``. The home is created 0700 and the database 0600; if either is
readable by group or others we refuse to run and print the exact ``chmod`` that fixes it, because
the database holds credentials.
"""

from __future__ import annotations

import os
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
    """Create the home (0700) if missing; refuse a home or database others can read."""
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
    _refuse_loose(home.path, 0o700)
    if home.db_path.exists():
        _refuse_loose(home.db_path, 0o600)


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
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(text)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def create_private_file(path: Path) -> None:
    """Create an empty file readable only by its owner, if it does not exist yet."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
