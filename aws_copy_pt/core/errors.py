"""One exception hierarchy for everything a user can be told (imported as ``aws_copy_pt.errors``).

Core logic, services and adapters raise these; only the CLI boundary (``cli.main``) turns them
into a line on stderr and an exit status. Every error carries what happened (``message``) and,
where we know it, what to do next (``hint``). Messages must never contain secrets.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status the command-line tool uses, named once."""

    OK = 0
    FAILURE = 1  # an unexpected or unclassified failure
    USAGE = 2  # bad command-line input (also click's own usage errors)
    WORK_REMAINS = 3  # batch pass finished, transfers still in progress
    PARTIAL = 4  # some objects or transfers failed; the rest succeeded
    NEEDS_LOGIN = 5  # Globus tokens missing, expired or revoked: run `aws-copy-pt login`
    CONFIG = 6  # local set-up problem: home permissions, foreign database, unregistered names
    REMOTE = 7  # S3 or Globus refused or could not be reached
    LOCKED = 8  # another aws-copy-pt process holds this home
    GLOBUS_INACTIVE = 9  # a Globus task is suspended: renew a collection's credentials at Globus
    NOT_RUNNING = 10  # `daemon status`: no daemon is running for this home
    INTERRUPTED = 130  # Ctrl-C / SIGINT


# What each exit status tells a person or a wrapper script; README's exit code table is generated
# from it (``python -m aws_copy_pt.cli.docs``).
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success; for ``run --once``: every transfer is finished",
    ExitCode.FAILURE: "unexpected failure (rerun with ``--debug`` and report it)",
    ExitCode.USAGE: "bad command-line input (a mistyped command gets a suggestion)",
    ExitCode.WORK_REMAINS: "a batch pass finished and transfers are still in progress",
    ExitCode.PARTIAL: (
        "some objects or transfers failed, or were refused (``--on-conflict fail``), or staging "
        "objects changed after their copy or could not be deleted; the rest succeeded"
    ),
    ExitCode.NEEDS_LOGIN: "Globus login needed: run ``aws-copy-pt login`` in a terminal",
    ExitCode.CONFIG: (
        "local set-up problem (home permissions, owner, links or read-only; foreign or "
        "unversioned database; unregistered name; an AWS profile that is not defined or holds "
        "no keys; a kept demo home whose servers have stopped)"
    ),
    ExitCode.REMOTE: "S3 or Globus refused the request or could not be reached",
    ExitCode.LOCKED: "another aws-copy-pt process is using the same home",
    ExitCode.GLOBUS_INACTIVE: (
        "a Globus task is suspended (``GLOBUS_INACTIVE``): renew the named collection's "
        "credentials in the Globus web app; watching resumes by itself"
    ),
    ExitCode.NOT_RUNNING: "``daemon status``: no daemon is running for this home",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); nothing half-written is kept",
}


class AwsCopyPtError(Exception):
    """Base error: a user-facing message, an optional next step, and an exit status."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class UsageError(AwsCopyPtError):
    """The user's input is malformed or contradictory."""

    exit_code = ExitCode.USAGE


class ConfigError(AwsCopyPtError):
    """Local set-up is wrong: permissions, database, missing registrations."""

    exit_code = ExitCode.CONFIG


class NotFoundError(ConfigError):
    """A named credential, bucket, collection or transfer is not registered."""


class HomePermissionError(ConfigError):
    """The home directory or database is readable by other users."""


class DatabaseError(ConfigError):
    """The database file is not ours, is damaged, or cannot be migrated."""


class RemoteError(AwsCopyPtError):
    """A remote service (S3, Globus) refused the request or could not be reached."""

    exit_code = ExitCode.REMOTE


class ConflictRefused(AwsCopyPtError):
    """A destination object was not overwritten, as ``--on-conflict fail`` asks. Not a remote
    failure (it does not go away by itself): the transfer needs a person, as PARTIAL does."""

    exit_code = ExitCode.PARTIAL


class NeedsLoginError(AwsCopyPtError):
    """Globus credentials are missing, expired or revoked."""

    exit_code = ExitCode.NEEDS_LOGIN

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "run `aws-copy-pt login` in a terminal")


class LockedError(AwsCopyPtError):
    """Another aws-copy-pt process is working in the same home."""

    exit_code = ExitCode.LOCKED

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        holder_role: str | None = None,
        held_for: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.holder_role = holder_role  # what the holder runs, e.g. "daemon", "run --once"
        self.held_for = held_for  # seconds since it took the lock, when known


class ConsentRequiredError(NeedsLoginError):
    """A Globus collection needs a data_access consent the stored login does not carry."""

    def __init__(self, message: str, *, collection_ids: tuple[str, ...] = ()) -> None:
        flags = " ".join(f"--data-access {cid}" for cid in collection_ids)
        command = f"aws-copy-pt login {flags}".strip()
        super().__init__(message, hint=f"run `{command}` in a terminal to grant it")
        self.collection_ids = collection_ids
