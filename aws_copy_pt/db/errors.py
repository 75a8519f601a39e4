"""What an SQLite failure means, read from SQLite's result code, never from its message text.

Python's sqlite3 exceptions carry SQLite's (extended) result code and its name
(``sqlite_errorcode``, ``sqlite_errorname``); SQLAlchemy wraps them (``.orig``). The primary
code (the low byte) says what kind of trouble it was, whatever the wording or the language.
"""

from __future__ import annotations

import sqlite3
from enum import Enum

from aws_copy_pt.errors import ConfigError


class SqliteTrouble(Enum):
    """Kinds of SQLite failure that have a cause and fix a user can act on."""

    FULL = "full"  # SQLITE_FULL: no room left on the disk (or a size limit reached)
    BUSY = "busy"  # SQLITE_BUSY, SQLITE_LOCKED: another connection held the lock too long
    STORAGE = "storage"  # SQLITE_IOERR, SQLITE_CANTOPEN: the disk failed a read or a write
    DAMAGED = "damaged"  # SQLITE_CORRUPT, SQLITE_NOTADB: the file's contents are wrong


_BY_PRIMARY_CODE = {
    sqlite3.SQLITE_FULL: SqliteTrouble.FULL,
    sqlite3.SQLITE_BUSY: SqliteTrouble.BUSY,
    sqlite3.SQLITE_LOCKED: SqliteTrouble.BUSY,
    sqlite3.SQLITE_IOERR: SqliteTrouble.STORAGE,
    sqlite3.SQLITE_CANTOPEN: SqliteTrouble.STORAGE,
    sqlite3.SQLITE_CORRUPT: SqliteTrouble.DAMAGED,
    sqlite3.SQLITE_NOTADB: SqliteTrouble.DAMAGED,
}


def sqlite_error_in(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 exception ``exc`` is or wraps (SQLAlchemy's ``.orig``, a ``raise from``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.Error):
            return current
        wrapped = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError
        if isinstance(wrapped, BaseException):
            current = wrapped
        else:
            current = current.__cause__ or current.__context__
    return None


def trouble_of(exc: BaseException) -> SqliteTrouble | None:
    """What kind of SQLite trouble ``exc`` is; None when it is none (or none named here)."""
    error = sqlite_error_in(exc)
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None  # raised by Python's sqlite3 module itself, not by SQLite
    return _BY_PRIMARY_CODE.get(code & 0xFF)


def is_storage_trouble(exc: BaseException) -> bool:
    """Trouble with the disk under the database rather than with the file's contents."""
    return trouble_of(exc) in (SqliteTrouble.FULL, SqliteTrouble.STORAGE)


def as_user_error(exc: BaseException) -> ConfigError | None:
    """The user's version of a database failure whose cause and fix are known, else None."""
    trouble = trouble_of(exc)
    if trouble is SqliteTrouble.FULL:
        return ConfigError(
            "the disk holding the aws-copy-pt home is full; nothing was changed",
            hint="free some space, or move the home with --home DIR",
        )
    if trouble is SqliteTrouble.BUSY:
        return ConfigError(
            "the database stayed locked by another aws-copy-pt process",
            hint="retry in a moment; `aws-copy-pt daemon status` shows a running daemon",
        )
    return None
