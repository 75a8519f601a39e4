"""Savepoints that nest: SQLite's write transaction opened before the first savepoint.

pysqlite defers BEGIN to the first INSERT/UPDATE/DELETE, so a savepoint taken earlier is the
outermost transaction itself and *commits* when released. :func:`begin_writing` opens the
transaction first; ``session.begin_nested()`` then rolls back only its own part.
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def begin_writing(session: Session) -> None:
    """Start the write transaction now (a no-op when one is already open)."""
    connection = session.connection()
    if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")
