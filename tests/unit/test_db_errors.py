"""SQLite failures are classified by SQLite's result code (db.errors), not by message text.

Each failure here is a real one, provoked in a real SQLite database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aws_copy_pt.db.errors import SqliteTrouble, as_user_error, is_storage_trouble, trouble_of
from aws_copy_pt.errors import ConfigError, ExitCode


def _raised(action: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:
        action()
    return caught.value


def _full(tmp_path: Path) -> BaseException:
    conn = sqlite3.connect(tmp_path / "small.db")
    conn.execute("PRAGMA max_page_count = 2")
    conn.execute("CREATE TABLE t (x BLOB)")
    return _raised(lambda: conn.execute("INSERT INTO t VALUES (zeroblob(100000))"))


def _locked_by_another_connection(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_a_full_database_is_full(tmp_path: Path) -> None:
    assert trouble_of(_full(tmp_path)) is SqliteTrouble.FULL


def test_a_lock_held_by_another_connection_is_busy(tmp_path: Path) -> None:
    holder = _locked_by_another_connection(tmp_path)
    waiter = sqlite3.connect(tmp_path / "busy.db", timeout=0)
    try:
        assert trouble_of(_raised(lambda: waiter.execute("INSERT INTO t VALUES (1)"))) is (
            SqliteTrouble.BUSY
        )
    finally:
        holder.close()
        waiter.close()


def test_sqlalchemys_wrapper_is_looked_through(tmp_path: Path) -> None:
    holder = _locked_by_another_connection(tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path / 'busy.db'}", connect_args={"timeout": 0})
    try:
        with engine.begin() as connection:
            error = _raised(lambda: connection.execute(text("INSERT INTO t VALUES (1)")))
        assert not isinstance(error, sqlite3.Error)
        assert trouble_of(error) is SqliteTrouble.BUSY
    finally:
        holder.close()
        engine.dispose()


def test_a_file_that_is_not_a_database_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages of a database " * 200)
    conn = sqlite3.connect(path)
    try:
        assert trouble_of(_raised(lambda: conn.execute("SELECT * FROM t"))) is (
            SqliteTrouble.DAMAGED
        )
    finally:
        conn.close()


def test_a_database_that_cannot_be_opened_is_storage_trouble(tmp_path: Path) -> None:
    error = _raised(lambda: sqlite3.connect(tmp_path / "no-such-dir" / "a.db"))
    assert trouble_of(error) is SqliteTrouble.STORAGE
    assert is_storage_trouble(error)


def test_an_ordinary_sql_error_is_no_trouble_of_these_kinds(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "a.db")
    assert trouble_of(_raised(lambda: conn.execute("SELECT * FROM nowhere"))) is None
    conn.close()


def test_the_message_text_alone_classifies_nothing() -> None:
    written_by_hand = sqlite3.OperationalError("database or disk is full")
    assert trouble_of(written_by_hand) is None
    assert trouble_of(RuntimeError("database is locked")) is None


def test_the_code_classifies_whatever_the_message_says(tmp_path: Path) -> None:
    error = _full(tmp_path)
    assert isinstance(error, sqlite3.Error)
    reworded = sqlite3.OperationalError("la base de données ou le disque est plein")
    reworded.sqlite_errorcode = error.sqlite_errorcode
    reworded.sqlite_errorname = error.sqlite_errorname
    assert trouble_of(reworded) is SqliteTrouble.FULL


def test_a_full_disk_tells_the_user_to_free_space(tmp_path: Path) -> None:
    user_error = as_user_error(_full(tmp_path))
    assert isinstance(user_error, ConfigError)
    assert user_error.exit_code == ExitCode.CONFIG
    assert (
        user_error.message == "the disk holding the aws-copy-pt home is full; nothing was changed"
    )
    assert user_error.hint is not None and "free some space" in user_error.hint


def test_a_busy_database_names_the_daemon_as_a_likely_holder(tmp_path: Path) -> None:
    holder = _locked_by_another_connection(tmp_path)
    waiter = sqlite3.connect(tmp_path / "busy.db", timeout=0)
    try:
        user_error = as_user_error(_raised(lambda: waiter.execute("INSERT INTO t VALUES (1)")))
    finally:
        holder.close()
        waiter.close()
    assert user_error is not None
    assert user_error.message == "the database stayed locked by another aws-copy-pt process"
    assert user_error.hint is not None and "aws-copy-pt daemon status" in user_error.hint
