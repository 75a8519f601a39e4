"""Bulk writes of object rows (db.bulk) store values exactly as the ORM would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from aws_copy_pt.core.states import ObjectState, TransferState
from aws_copy_pt.db import bulk
from aws_copy_pt.db.engine import Database, open_database
from aws_copy_pt.db.models import AwsCredential, Bucket, ObjectCopy, Transfer
from aws_copy_pt.home.paths import Home

A_TIME = datetime(2025, 3, 9, 17, 4, 5, 123456, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(Home(tmp_path / "home"))
    yield database
    database.close()


@pytest.fixture
def transfer_id(db: Database) -> int:
    with db.session() as session:
        credential = AwsCredential(name="lab", kind="profile", profile="lab")
        transfer = Transfer(
            kind="direct",
            state=TransferState.COPYING,
            source_bucket=Bucket(name="staging", credential=credential),
            dest_bucket=Bucket(name="destination", credential=credential),
        )
        session.add(transfer)
        session.flush()
        return transfer.id


def _insert(db: Database, transfer_id: int, *keys: str) -> dict[str, int]:
    with db.session() as session:
        bulk.insert_pending(
            session, [(transfer_id, key, f"d/{key}", 3, "etag", None) for key in keys]
        )
    with db.session() as session:
        return {o.source_key: o.id for o in session.query(ObjectCopy).order_by(ObjectCopy.id)}


def _raw(db: Database, row_id: int, column: str) -> object:
    with db.engine.connect() as connection:
        query = f"SELECT {column} FROM object_copies WHERE id = ?"
        return connection.exec_driver_sql(query, (row_id,)).scalar()


def test_a_time_written_in_bulk_reads_back_through_the_orm_unchanged(
    db: Database, transfer_id: int
) -> None:
    ids = _insert(db, transfer_id, "a")
    with db.session() as session:
        bulk.update_object_rows(session, {ids["a"]: {"started_at": A_TIME}})

    with db.session() as session:
        row = session.get(ObjectCopy, ids["a"])
        assert row is not None
        assert row.started_at == A_TIME
        assert row.started_at.tzinfo is not None


def test_a_time_in_another_zone_is_stored_as_the_same_instant(
    db: Database, transfer_id: int
) -> None:
    ids = _insert(db, transfer_id, "a")
    in_berlin = A_TIME.astimezone(timezone(timedelta(hours=1)))
    with db.session() as session:
        bulk.update_object_rows(session, {ids["a"]: {"finished_at": in_berlin}})

    with db.session() as session:
        row = session.get(ObjectCopy, ids["a"])
        assert row is not None and row.finished_at == A_TIME


def test_bulk_stores_a_time_as_the_same_text_the_orm_stores(db: Database, transfer_id: int) -> None:
    ids = _insert(db, transfer_id, "by-orm", "in-bulk")
    with db.session() as session:
        row = session.get(ObjectCopy, ids["by-orm"])
        assert row is not None
        row.started_at = A_TIME
    with db.session() as session:
        bulk.update_object_rows(session, {ids["in-bulk"]: {"started_at": A_TIME}})

    assert _raw(db, ids["in-bulk"], "started_at") == _raw(db, ids["by-orm"], "started_at")
    assert _raw(db, ids["in-bulk"], "started_at") == bulk.stored_time(A_TIME)


def test_a_naive_time_is_refused_as_the_orm_refuses_it() -> None:
    with pytest.raises(ValueError, match="naive"):
        bulk.stored_time(datetime(2025, 3, 9, 17, 4, 5))


def test_inserted_rows_are_pending_and_a_row_listed_twice_is_kept_as_it_was(
    db: Database, transfer_id: int
) -> None:
    ids = _insert(db, transfer_id, "a", "b")
    with db.session() as session:
        bulk.update_object_rows(session, {ids["a"]: {"state": ObjectState.COPYING, "attempts": 1}})

    again = _insert(db, transfer_id, "a")

    assert again == ids
    with db.session() as session:
        rows = {o.source_key: o for o in session.query(ObjectCopy)}
        assert (rows["a"].state, rows["a"].attempts) == (ObjectState.COPYING, 1)
        assert (rows["b"].state, rows["b"].dest_key, rows["b"].size) == (
            ObjectState.PENDING,
            "d/b",
            3,
        )


def test_rows_changing_different_columns_are_each_written(db: Database, transfer_id: int) -> None:
    ids = _insert(db, transfer_id, "a", "b")
    with db.session() as session:
        bulk.update_object_rows(
            session,
            {ids["a"]: {"dest_etag": "x"}, ids["b"]: {"last_error": "gone", "attempts": 2}},
        )

    with db.session() as session:
        a, b = session.get(ObjectCopy, ids["a"]), session.get(ObjectCopy, ids["b"])
        assert a is not None and b is not None
        assert (a.dest_etag, a.last_error) == ("x", None)
        assert (b.dest_etag, b.last_error, b.attempts) == (None, "gone", 2)


def test_an_unknown_column_is_refused_before_any_sql_is_built(
    db: Database, transfer_id: int
) -> None:
    ids = _insert(db, transfer_id, "a")
    with db.session() as session, pytest.raises(ValueError, match="no column colour"):
        bulk.update_object_rows(session, {ids["a"]: {"colour": "red"}})
