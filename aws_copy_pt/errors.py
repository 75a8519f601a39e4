"""One exception hierarchy for everything a user can be told, and the exit codes: import them
from here.

They are defined in ``core.errors`` (plain definitions, so ``core/``'s pure logic can raise them
without importing anything outside ``core/``); this module is where the rest of aws-copy-pt
and its tests take them from.
"""

from __future__ import annotations

from aws_copy_pt.core.errors import (
    EXIT_CODE_MEANINGS,
    AwsCopyPtError,
    ConfigError,
    ConflictRefused,
    ConsentRequiredError,
    DatabaseError,
    ExitCode,
    HomePermissionError,
    LockedError,
    NeedsLoginError,
    NotFoundError,
    RemoteError,
    UsageError,
)

__all__ = [
    "EXIT_CODE_MEANINGS",
    "AwsCopyPtError",
    "ConfigError",
    "ConflictRefused",
    "ConsentRequiredError",
    "DatabaseError",
    "ExitCode",
    "HomePermissionError",
    "LockedError",
    "NeedsLoginError",
    "NotFoundError",
    "RemoteError",
    "UsageError",
]
