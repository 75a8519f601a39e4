"""The bad-input table, second half: a home or a database that is not what it should be, a full
disk, a terminal that is not there. Each row runs through the CLI on a home of its own.

A full disk is a real one: a 1 MiB tmpfs mounted in a private mount namespace
(``unshare --mount --map-root-user``: works as root and, where the kernel allows user
namespaces, as anyone; the row is skipped elsewhere). A file-size limit (``RLIMIT_FSIZE``) stands
in for an exceeded quota: SQLite sees both as an I/O error, not as a full disk.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from aws_copy_pt.db import engine as db_engine
from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliResult, installed_script, isolated_env
from tests.reliability.bad_input import (
    Bench,
    Case,
    Table,
    Trial,
    file_state,
    fingerprint,
    judge,
)
from tests.reliability.figures import Figures

DB = "aws-copy-pt.db"
TABLE = Table()


def _unchanged(path: Path) -> Callable[[], list[str]]:
    before = file_state(path)
    return lambda: [] if file_state(path) == before else [f"{path.name} was changed"]


def _status(home: Path) -> tuple[str, ...]:
    return ("--home", str(home), "status")


@TABLE.row("loose database permissions", ExitCode.CONFIG, "are too open", "chmod 600")
def _loose_db(bench: Bench) -> Trial:
    home = bench.fresh_home()
    (home / DB).chmod(0o644)
    return Trial(_status(home), home=home, keeps=_unchanged(home / DB))


@TABLE.row("loose home permissions", ExitCode.CONFIG, "are too open", "chmod 700")
def _loose_home(bench: Bench) -> Trial:
    home = bench.fresh_home()
    home.chmod(0o755)
    return Trial(_status(home), home=home, keeps=_unchanged(home / DB))


@TABLE.row(
    "foreign SQLite file as the database",
    ExitCode.CONFIG,
    "belongs to another program",
    "move it away",
)
def _foreign_db(bench: Bench) -> Trial:
    home = bench.tmp / "foreign"
    home.mkdir(mode=0o700)
    conn = sqlite3.connect(home / DB)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    (home / DB).chmod(0o600)
    return Trial(_status(home), home=home, keeps=_unchanged(home / DB))


@TABLE.row("not an SQLite file", ExitCode.CONFIG, "is not an SQLite database", "move it away")
def _text_db(bench: Bench) -> Trial:
    home = bench.tmp / "text"
    home.mkdir(mode=0o700)
    (home / DB).write_text("my notes, not a database\n")
    (home / DB).chmod(0o600)
    return Trial(_status(home), home=home, keeps=_unchanged(home / DB))


@TABLE.row(
    "home path is a file",
    ExitCode.CONFIG,
    "cannot create the aws-copy-pt home",
    "--home",
)
def _home_is_file(bench: Bench) -> Trial:
    home = bench.tmp / "a-file"
    home.write_text("not a directory")
    return Trial(_status(home), home=home, keeps=_unchanged(home))


NEXT_REVISION = '''"""A later release's migration."""
import sqlalchemy as sa
from alembic import op

revision = "9999_next_release"
down_revision = "{head}"


def upgrade() -> None:
    op.create_table("later_things", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("later_things")
'''


@TABLE.row(
    "database from an older release",
    ExitCode.OK,
    "Upgraded the database schema",
    "the previous copy is",
)
def _older_schema(bench: Bench) -> Trial:
    # There is one revision so far, so no database of an older schema exists: this row plays
    # the next release instead - today's migrations plus one more - and opens today's database
    # with it, which is exactly what users will do.
    home = bench.fresh_home()
    bench.cli("--home", str(home), "aws", "add", "lab", "--profile", "lab-admin", "--no-check").ok()
    before = fingerprint(home / DB)
    head = ScriptDirectory.from_config(db_engine.alembic_config()).get_current_head()
    later = bench.tmp / "next-release-migrations"
    shutil.copytree(db_engine.migrations_dir(), later)
    (later / "versions" / "9999_next_release.py").write_text(NEXT_REVISION.format(head=head))
    bench.monkeypatch.setattr(db_engine, "migrations_dir", lambda: later)

    def keeps() -> list[str]:
        backups = list(home.glob(f"{DB}.bak-*"))
        if len(backups) != 1 or fingerprint(backups[0]) != before:
            return [f"no faithful backup of the old database: {backups}"]
        conn = sqlite3.connect(home / DB)
        try:
            names = conn.execute("SELECT name FROM aws_credentials").fetchall()
            version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            conn.close()
        return (
            []
            if (names, version) == ([("lab",)], [("9999_next_release",)])
            else [f"upgraded database holds {names} at {version}"]
        )

    return Trial(("--home", str(home), "aws", "list"), home=home, keeps=keeps)


@TABLE.row(
    "database from a newer release",
    ExitCode.CONFIG,
    "written by a newer aws-copy-pt",
    "upgrade aws-copy-pt",
)
def _newer_schema(bench: Bench) -> Trial:
    home = bench.fresh_home()
    conn = sqlite3.connect(home / DB)
    conn.execute("UPDATE alembic_version SET version_num = 'from-a-later-release'")
    conn.commit()
    conn.close()
    return Trial(_status(home), home=home, keeps=_unchanged(home / DB))


# --- a home that is not safe to use (counted as home refusals) -------------------------------

HOME_TABLE = Table()


def as_home_case(figures: Figures, clear: bool) -> None:
    figures.home_cases += 1
    figures.home_refusals += clear


def _untouched(home: Path) -> Callable[[], list[str]]:
    """Nothing in ``home`` was created, removed or changed (links are not followed)."""

    def state() -> dict[str, tuple[int, int, str]]:
        found = {}
        for path in home.iterdir():
            info = path.lstat()
            content = "" if not path.is_file() or path.is_symlink() else file_state(path)[0]
            found[path.name] = (info.st_mode, info.st_uid, content)
        return found

    before = state()
    return lambda: [] if state() == before else [f"the home changed: {before} -> {state()}"]


@HOME_TABLE.row(
    "database is a symbolic link", ExitCode.CONFIG, "is a symbolic link", "put the file itself"
)
def _db_link(bench: Bench) -> Trial:
    home = bench.fresh_home()
    elsewhere = bench.tmp / "elsewhere.db"
    (home / DB).rename(elsewhere)
    (home / DB).symlink_to(elsewhere)
    kept = _untouched(home)
    target = _unchanged(elsewhere)
    return Trial(_status(home), home=home, keeps=lambda: kept() + target())


@HOME_TABLE.row(
    "database is a dangling symbolic link",
    ExitCode.CONFIG,
    "is a symbolic link",
    "point --home (or AWS_COPY_PT_HOME) at that directory",
)
def _db_dangling_link(bench: Bench) -> Trial:
    home = bench.tmp / "dangling"
    home.mkdir(mode=0o700)
    outside = bench.tmp / "outside" / "created-by-mistake.db"
    outside.parent.mkdir()
    (home / DB).symlink_to(outside)
    kept = _untouched(home)

    def keeps() -> list[str]:
        return kept() + ([f"{outside} was created"] if outside.exists() else [])

    return Trial(_status(home), home=home, keeps=keeps)


@HOME_TABLE.row("lock file is a symbolic link", ExitCode.CONFIG, "is a symbolic link", "--home")
def _lock_link(bench: Bench) -> Trial:
    home = bench.fresh_home()
    (home / "aws-copy-pt.lock").symlink_to(bench.tmp / "someone-elses.lock")
    kept = _untouched(home)
    return Trial(("--home", str(home), "run", "--once"), home=home, keeps=kept)


NOBODY = 65534


def _as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")


@HOME_TABLE.row(
    "home of another user (run as root)",
    ExitCode.CONFIG,
    "belongs to",
    "or use a home of your own with --home DIR",
)
def _foreign_home(bench: Bench) -> Trial:
    _as_root()
    home = bench.fresh_home()
    for path in (home, *home.iterdir()):
        os.chown(path, NOBODY, NOBODY)
    kept = _untouched(home)
    return Trial(("--home", str(home), "run", "--once"), home=home, keeps=kept)


@HOME_TABLE.row("lock file left by another user", ExitCode.CONFIG, "belongs to", "chown")
def _foreign_lock(bench: Bench) -> Trial:
    _as_root()
    home = bench.fresh_home()
    lock = home / "aws-copy-pt.lock"
    lock.write_text("")
    lock.chmod(0o600)
    os.chown(lock, NOBODY, NOBODY)
    kept = _untouched(home)
    return Trial(("--home", str(home), "run", "--once"), home=home, keeps=kept)


_READ_ONLY = r"""
set -e
mnt="$1"; src="$2"; shift 2
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$mnt"
cp -a "$src/." "$mnt/"
mount -o remount,ro "$mnt"
set +e
AWS_COPY_PT_HOME="$mnt" "$@"
"""


@HOME_TABLE.row(
    "home on a read-only file system",
    ExitCode.CONFIG,
    "is on a read-only file system",
    "remount it read-write",
    must_not=("full", "quota"),
)
def _read_only_home(bench: Bench) -> Trial:
    if not _private_mounts():
        pytest.skip("a read-only mount needs a private mount namespace (root or user namespaces)")
    home = bench.fresh_home()
    mount_point = bench.tmp / "ro"
    mount_point.mkdir(mode=0o700)

    def run(args: Sequence[str]) -> CliResult:
        command = ["unshare", "--mount", "--map-root-user", "sh", "-c", _READ_ONLY, "sh"]
        done = subprocess.run(
            [*command, str(mount_point), str(home), installed_script(), *args],
            env=isolated_env(home),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return CliResult(args, done.returncode, done.stdout, done.stderr)

    return Trial(("status",), home=home, run=run)


@HOME_TABLE.row(
    "home read-only by its mode",
    ExitCode.CONFIG,
    "is read-only for you (mode 0500)",
    "chmod 700",
    must_not=("full", "quota"),
)
def _read_only_mode(bench: Bench) -> Trial:
    if os.geteuid() == 0:
        pytest.skip("root writes whatever the mode says")
    home = bench.fresh_home()
    home.chmod(0o500)
    kept = _untouched(home)

    def keeps() -> list[str]:
        problems = kept()
        home.chmod(0o700)
        return problems

    return Trial(_status(home), home=home, keeps=keeps)


@HOME_TABLE.row(
    "tables present but no schema version",
    ExitCode.CONFIG,
    "no record of their schema version",
    "move it away to start afresh",
    must_not=("already exists",),
)
def _no_schema_version(bench: Bench) -> Trial:
    home = bench.fresh_home()
    bench.cli("--home", str(home), "aws", "add", "lab", "--profile", "lab-admin", "--no-check").ok()
    conn = sqlite3.connect(home / DB)
    conn.execute("DROP TABLE alembic_version")
    conn.commit()
    conn.close()
    return Trial(_status(home), home=home, keeps=_unchanged(home / DB))


# --- full disks and quotas -------------------------------------------------------------------

_IN_A_TMPFS = r"""
set -e
mnt="$1"; src="$2"; out="$3"; free_kb="$4"; shift 4
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$mnt"
cp -a "$src/." "$mnt/"
avail=$(df -k "$mnt" | awk 'NR == 2 {print $4}')
dd if=/dev/zero of="$mnt/filler" bs=1k count=$((avail - free_kb)) 2>/dev/null || true
set +e
AWS_COPY_PT_HOME="$mnt" "$@"
code=$?
cp "$mnt"/aws-copy-pt.db* "$out"/
exit $code
"""


@functools.cache
def _private_mounts() -> bool:
    probe = ["unshare", "--mount", "--map-root-user", "true"]
    return (
        shutil.which("unshare") is not None and subprocess.run(probe, check=False).returncode == 0
    )


def _on_a_full_disk(bench: Bench, home: Path, free_kb: int) -> Trial:
    """Run the row's command with ``home`` copied onto a tmpfs that has ``free_kb`` left."""
    if not _private_mounts():
        pytest.skip("a full disk needs a private tmpfs mount (root or user namespaces)")
    mount_point, after = bench.tmp / "mnt", bench.tmp / "after"
    mount_point.mkdir(mode=0o700)
    after.mkdir()
    before = fingerprint(home / DB)

    def run(args: Sequence[str]) -> CliResult:
        command = [
            "unshare",
            "--mount",
            "--map-root-user",
            "sh",
            "-c",
            _IN_A_TMPFS,
            "sh",
            str(mount_point),
            str(home),
            str(after),
            str(free_kb),
            installed_script(),
            *args,
        ]
        done = subprocess.run(
            command,
            env=isolated_env(home),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return CliResult(args, done.returncode, done.stdout, done.stderr)

    def keeps() -> list[str]:
        return [] if fingerprint(after / DB) == before else ["the database changed"]

    big_write = ("notify", "add", "ops", "--webhook", "https://example.org/" + "x" * 60_000)
    return Trial(big_write, home=home, keeps=keeps, run=run)


@TABLE.row(
    "disk full on the home",
    ExitCode.CONFIG,
    "full",
    "free some space",
    must_not=("restore it from a backup",),
)
def _disk_full(bench: Bench) -> Trial:
    return _on_a_full_disk(bench, bench.fresh_home(), free_kb=0)


@TABLE.row(
    "disk nearly full: the write does not fit",
    ExitCode.CONFIG,
    "the disk holding the aws-copy-pt home is full; nothing was changed",
    "free some space",
)
def _disk_nearly_full(bench: Bench) -> Trial:
    return _on_a_full_disk(bench, bench.fresh_home(), free_kb=40)


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG), not the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


@TABLE.row(
    "file-size limit or quota reached",
    ExitCode.CONFIG,
    "I/O error",
    must_not=("restore it from a backup", "cannot be read as an SQLite database"),
)
def _quota(bench: Bench) -> Trial:
    home = bench.fresh_home()
    before = fingerprint(home / DB)
    return Trial(
        ("aws", "add", "lab", "--profile", "lab-admin", "--no-check"),
        home=home,
        keeps=lambda: [] if fingerprint(home / DB) == before else ["the database changed"],
        run=bench.script(home, preexec_fn=_file_size_limit),
    )


# --- no terminal, no command ------------------------------------------------------------------


@TABLE.row(
    "wizard without a terminal",
    ExitCode.USAGE,
    "no terminal to ask questions on",
    "aws-copy-pt --help",
)
def _wizard_no_tty(bench: Bench) -> Trial:
    home = bench.fresh_home()
    return Trial(("--home", str(home)), home=home)


@TABLE.row(
    "login without a Globus client id",
    ExitCode.CONFIG,
    "no Globus client id is configured",
    "login --client-id",
)
def _login_no_client(bench: Bench) -> Trial:
    home = bench.fresh_home()
    return Trial(("--home", str(home), "login"), home=home)


@TABLE.row("unknown command", ExitCode.USAGE, "No such command 'frobnicate'", "--help")
def _unknown_command(bench: Bench) -> Trial:
    home = bench.fresh_home()
    return Trial(("--home", str(home), "frobnicate"), home=home)


@TABLE.row("poll interval out of range", ExitCode.USAGE, "is not in the range", "--help")
def _poll_range(bench: Bench) -> Trial:
    home = bench.fresh_home()
    return Trial(("--home", str(home), "daemon", "--min-poll", "0"), home=home)


@pytest.mark.parametrize("case", TABLE.cases, ids=TABLE.ids)
def test_bad_home_input_is_refused_clearly_and_loses_nothing(
    case: Case, home_bench: Bench, figures: Figures
) -> None:
    judge(case, home_bench, figures)


@pytest.mark.parametrize("case", HOME_TABLE.cases, ids=HOME_TABLE.ids)
def test_an_unsafe_home_is_refused_clearly_and_nothing_is_created_or_changed(
    case: Case, home_bench: Bench, figures: Figures
) -> None:
    judge(case, home_bench, figures, as_home_case)
