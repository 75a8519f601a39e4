"""Reading and writing a transfer's object rows in bulk, for the copy engine.

A transfer can hold hundreds of thousands of rows: they are read in batches ordered by source
key (keyset paging on the ``(transfer_id, source_key)`` unique index: constant memory, and a
batch is a contiguous key range that one listing can cover) and written back with one
executemany per flush, never one transaction per object.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from aws_copy_pt.core.copy_plan import Checksum, ObjectFacts
from aws_copy_pt.core.states import ObjectState, check_object_transition
from aws_copy_pt.db.bulk import update_object_rows
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import ObjectCopy, Transfer

BATCH_SIZE = 1000
WORK_STATES = (ObjectState.PENDING, ObjectState.COPYING, ObjectState.COPIED)
# A `copying` row with a batch attempt is being copied by that S3 Batch Operations job
# (services.copy.batch): the local engine leaves it alone until the job's report is ingested.
_NOT_HELD = or_(ObjectCopy.batch_attempt.is_(None), ObjectCopy.state != ObjectState.COPYING.value)


@dataclass
class Row:
    """The columns of an object row the copy engine works with."""

    id: int
    source_key: str
    dest_key: str | None
    state: str
    size: int | None
    source_etag: str | None
    checksum_algorithm: str | None
    source_checksum: str | None
    dest_etag: str | None
    upload_id: str | None
    part_size: int | None
    attempts: int
    source_version_id: str | None = None  # the staging version copied (versioned buckets)

    @property
    def source_facts(self) -> ObjectFacts | None:
        """What the row already knows about its source; None when the size or ETag is missing."""
        if self.size is None or self.source_etag is None:
            return None
        checksum = None
        if self.checksum_algorithm and self.source_checksum:
            checksum = Checksum(self.checksum_algorithm, self.source_checksum)
        algorithms = (self.checksum_algorithm,) if self.checksum_algorithm else ()
        return ObjectFacts(self.size, self.source_etag, checksum, algorithms)


_COLUMNS = (
    ObjectCopy.id,
    ObjectCopy.source_key,
    ObjectCopy.dest_key,
    ObjectCopy.state,
    ObjectCopy.size,
    ObjectCopy.source_etag,
    ObjectCopy.checksum_algorithm,
    ObjectCopy.source_checksum,
    ObjectCopy.dest_etag,
    ObjectCopy.upload_id,
    ObjectCopy.part_size,
    ObjectCopy.attempts,
    ObjectCopy.source_version_id,
)


class Arrivals:
    """Pages of rows a listing thread commits while the engine already copies (direct copies).

    The listing calls :meth:`committed` after each page and :meth:`finish` at the end; the
    engine's :func:`batches` waits here for more rows instead of ending.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.pages = 0
        self.rows = 0  # rows listed so far (for progress totals)
        self.bytes = 0
        self.finished = False
        self.complete = False  # finished, and the whole source was listed
        self.error: BaseException | None = None

    def committed(self, rows: int, size: int) -> None:
        with self._changed:
            self.pages += 1
            self.rows += rows
            self.bytes += size
            self._changed.notify_all()

    def finish(self, *, complete: bool, error: BaseException | None = None) -> None:
        with self._changed:
            self.finished, self.complete, self.error = True, complete, error
            self._changed.notify_all()

    def wait(self, pages_seen: int, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.pages != pages_seen or self.finished, timeout)


def batches(
    db: Database,
    transfer_id: int,
    *,
    arrivals: Arrivals | None = None,
    size: int = BATCH_SIZE,
) -> Iterator[list[Row]]:
    """Rows still to work on (pending, copying, copied), ``size`` at a time, in source-key order;
    each read is its own short transaction, so writes in between are never blocked for long.

    With ``arrivals`` an empty list means "nothing yet, more rows are coming".
    """
    after: str | None = None
    wanted = [state.value for state in WORK_STATES]
    while True:
        pages_seen = arrivals.pages if arrivals else 0
        listing_over = arrivals.finished if arrivals else True  # read before the query
        query = select(*_COLUMNS).where(
            ObjectCopy.transfer_id == transfer_id, ObjectCopy.state.in_(wanted), _NOT_HELD
        )
        if after is not None:
            query = query.where(ObjectCopy.source_key > after)
        with db.session() as session:
            rows = [
                Row(*tuple(values))
                for values in session.execute(query.order_by(ObjectCopy.source_key).limit(size))
            ]
        if rows:
            yield rows
            after = rows[-1].source_key
        elif listing_over:
            return
        else:
            assert arrivals is not None
            arrivals.wait(pages_seen, timeout=0.1)
            yield []


def owed_deletes(db: Database, transfer_id: int, *, size: int = BATCH_SIZE) -> Iterator[list[Row]]:
    """Rows whose staging object is owed a delete (recorded by an earlier pass that did not
    get to send it, or whose delete failed), ``size`` at a time in source-key order."""
    after: str | None = None
    while True:
        query = select(*_COLUMNS).where(
            ObjectCopy.transfer_id == transfer_id, ObjectCopy.delete_owed.is_(True)
        )
        if after is not None:
            query = query.where(ObjectCopy.source_key > after)
        with db.session() as session:
            found = session.execute(query.order_by(ObjectCopy.source_key).limit(size))
            rows = [Row(*tuple(values)) for values in found]
        if not rows:
            return
        yield rows
        after = rows[-1].source_key


def owed_count(db: Database, transfer_id: int) -> int:
    """Staging objects still owed a delete."""
    query = select(func.count(ObjectCopy.id)).where(
        ObjectCopy.transfer_id == transfer_id, ObjectCopy.delete_owed.is_(True)
    )
    with db.session() as session:
        return int(session.scalar(query) or 0)


def transfer_state(db: Database, transfer_id: int) -> str | None:
    """The transfer's state as stored now (another process may have cancelled it)."""
    with db.session() as session:
        state = session.scalar(select(Transfer.state).where(Transfer.id == transfer_id))
    return None if state is None else str(state)


@dataclass(frozen=True)
class Totals:
    """Objects and (known) bytes of a transfer, per state."""

    count: dict[str, int]
    size: dict[str, int]

    def objects(self, *states: ObjectState) -> int:
        return sum(self.count.get(state.value, 0) for state in states)

    def bytes(self, *states: ObjectState) -> int:
        return sum(self.size.get(state.value, 0) for state in states)

    @property
    def all_objects(self) -> int:
        return sum(self.count.values())

    @property
    def all_bytes(self) -> int:
        return sum(self.size.values())


def totals(db: Database, transfer_id: int) -> Totals:
    query = (
        select(
            ObjectCopy.state, func.count(ObjectCopy.id), func.coalesce(func.sum(ObjectCopy.size), 0)
        )
        .where(ObjectCopy.transfer_id == transfer_id)
        .group_by(ObjectCopy.state)
    )
    with db.session() as session:
        found = list(session.execute(query))
    return Totals({s: int(n or 0) for s, n, _ in found}, {s: int(b or 0) for s, _, b in found})


class RowWriter:
    """Collects row changes and writes them in one executemany per flush (``db.bulk``).

    Every state change is checked against the object lifecycle here, so an illegal move
    raises before anything is written. The engine calls :meth:`change` a few times per
    object, thousands of times a second, on its one coordinating thread: it is kept lean.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def change(self, row: Row, **values: Any) -> None:
        """Record new column values for ``row`` (and apply them to it)."""
        target = values.get("state")
        if target is not None and target != row.state:
            check_object_transition(row.state, target)
            if target in _FINISHED:
                values.setdefault("finished_at", datetime.now(UTC))
        attributes = vars(row)
        for name in values.keys() & _ROW_FIELDS:
            attributes[name] = values[name]
        pending = self._pending.get(row.id)
        if pending is None:
            self._pending[row.id] = values  # a fresh dict: **values copies the caller's
        else:
            pending.update(values)

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        with self._db.session() as session:
            update_object_rows(session, pending)


_ROW_FIELDS = frozenset(field.name for field in fields(Row))
_FINISHED = frozenset({ObjectState.VERIFIED, ObjectState.SKIPPED, ObjectState.FAILED})


def write_now(db: Database, row_id: int, **values: Any) -> None:
    """One immediate write (an UploadId must be stored before the first part is sent)."""
    with db.session() as session:
        session.execute(update(ObjectCopy).where(ObjectCopy.id == row_id).values(**values))
