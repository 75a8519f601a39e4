"""Bulk writes of object rows: plain DB-API executemany, bypassing the ORM.

At tens of thousands of rows a minute, SQLAlchemy's per-row parameter processing costs more
than SQLite's work, so the copy pipeline writes its rows here. Values are stored exactly as the
models store them: times as ``models.UTCDateTime`` does (:data:`TIME_FORMAT`, the only copy of
that format), the rest as sqlite3 binds it. A test reads what is written here back through the
ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from aws_copy_pt.core.states import ObjectState
from aws_copy_pt.db.models import ObjectCopy, UTCDateTime

# How SQLAlchemy's SQLite dialect stores a DateTime (naive, UTC after UTCDateTime's conversion).
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

NewRow = tuple[int, str, str, int | None, str | None, str | None]
"""A pending object row: transfer_id, source_key, dest_key, size, source_etag,
checksum_algorithm."""

_INSERT_PENDING = (
    "INSERT INTO object_copies (transfer_id, source_key, dest_key, size, source_etag, "  # noqa: S608
    "checksum_algorithm, state, attempts, staging_deleted) "
    f"VALUES (?, ?, ?, ?, ?, ?, '{ObjectState.PENDING.value}', 0, 0) ON CONFLICT DO NOTHING"
)

_COLUMNS = frozenset(column.name for column in ObjectCopy.__table__.columns)
_TIME_COLUMNS = frozenset(
    column.name for column in ObjectCopy.__table__.columns if isinstance(column.type, UTCDateTime)
)


def stored_time(value: datetime | None) -> str | None:
    """A timezone-aware datetime as the models store it: naive UTC text."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def insert_pending(session: Session, rows: Sequence[NewRow]) -> None:
    """New pending rows in one executemany; a row already recorded (a page listed twice after a
    crash) is left as it is."""
    if rows:
        session.connection().exec_driver_sql(_INSERT_PENDING, list(rows))


def update_object_rows(session: Session, changes: Mapping[int, Mapping[str, Any]]) -> None:
    """Write ``changes`` (row id -> new column values) with one executemany per set of columns.

    Rows that change the same columns (in the same order: rows of one kind of change share it)
    share a statement. Datetimes in time columns are stored as :func:`stored_time` stores them.
    """
    for columns, rows in _by_columns(changes).items():
        session.connection().exec_driver_sql(_update_sql(columns), rows)


def _by_columns(
    changes: Mapping[int, Mapping[str, Any]],
) -> dict[tuple[str, ...], list[tuple[Any, ...]]]:
    """Rows grouped by the columns they change, each as its values followed by its id."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row_id, record in changes.items():
        columns = tuple(record)
        group = groups.get(columns)
        if group is None:
            group = groups[columns] = []
        group.append((*record.values(), row_id))
    for columns, rows in groups.items():
        times = [index for index, name in enumerate(columns) if name in _TIME_COLUMNS]
        if times:
            groups[columns] = [_with_times_stored(row, times) for row in rows]
    return groups


def _with_times_stored(row: tuple[Any, ...], times: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for index in times:
        values[index] = stored_time(values[index])
    return tuple(values)


@functools.cache
def _update_sql(columns: tuple[str, ...]) -> str:
    unknown = set(columns) - _COLUMNS
    if unknown:
        raise ValueError(f"object_copies has no column {', '.join(sorted(unknown))}")
    assignments = ", ".join(f"{name} = ?" for name in columns)
    return f"UPDATE object_copies SET {assignments} WHERE id = ?"  # noqa: S608 (names checked)
