"""What a streamed copy keeps while it runs: the parts it finished (in the database, for a
resume after a crash) and the bytes it holds (a budget, so memory does not grow with object
size or object count)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import ObjectPart


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str
    checksums: dict[str, str] = field(default_factory=dict)  # "CRC32C" -> base64, "MD5" -> hex


class PartBook:
    """The finished parts of streamed multipart uploads, one row each, written as each part is
    uploaded (called from part threads: every call is its own short transaction)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, object_id: int, upload_id: str, part: StoredPart) -> None:
        with self._db.session() as session:
            session.merge(
                ObjectPart(
                    object_id=object_id,
                    part_number=part.number,
                    upload_id=upload_id,
                    size=part.size,
                    etag=part.etag,
                    checksums=dict(part.checksums),
                )
            )

    def load(self, object_id: int, upload_id: str) -> dict[int, StoredPart]:
        query = select(ObjectPart).where(
            ObjectPart.object_id == object_id, ObjectPart.upload_id == upload_id
        )
        with self._db.session() as session:
            return {
                row.part_number: StoredPart(
                    row.part_number, row.size, row.etag, dict(row.checksums or {})
                )
                for row in session.scalars(query)
            }

    def forget(self, object_id: int) -> None:
        with self._db.session() as session:
            session.execute(delete(ObjectPart).where(ObjectPart.object_id == object_id))


class ByteBudget:
    """Bytes that streamed copies may hold in memory at once, shared by every object of a run,
    and the buffers that hold them.

    ``take`` blocks until the bytes fit; one request larger than the whole budget (a part of an
    object over 10,000 x the part size) goes alone, when nothing else is held.

    ``lend`` gives a buffer of exactly the size asked, a returned one when one of that size is
    free; buffers held plus buffers kept never exceed the budget. Reused, part buffers are not
    left in malloc's per-thread heaps: a 1 GiB copy with the 128 MiB budget peaked at 235 MiB in
    3 of 7 runs when each part allocated its own buffer, at 220 MiB in 6 of 6 with reuse.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0
        self._changed = threading.Condition()
        self._free: dict[int, list[bytearray]] = {}
        self._free_bytes = 0

    def take(self, size: int, stop: Any = None) -> bool:
        """Reserve ``size`` bytes; False when ``stop`` (anything with ``is_set``) was set while
        waiting."""
        with self._changed:
            while True:
                # Asked to stop while waiting: not even when room was made at that moment (a
                # stopped copy sends nothing more).
                if stop is not None and stop.is_set():
                    return False
                if not self.held or self.held + size <= self.limit:
                    break
                self._changed.wait(0.2)
            self.held += size
            self.peak = max(self.peak, self.held)
            return True

    def give(self, size: int) -> None:
        with self._changed:
            self.held -= size
            self._changed.notify_all()

    @property
    def kept(self) -> int:
        """Bytes of free buffers kept for reuse."""
        return self._free_bytes

    def lend(self, size: int) -> bytearray:
        """A buffer of ``size`` bytes, whose bytes were taken; its content is undefined."""
        with self._changed:
            free = self._free.get(size)
            if free:
                self._free_bytes -= size
                return free.pop()
            # Buffers held plus buffers kept never exceed the budget: make room first.
            while self._free and self._free_bytes + self.held > self.limit:
                self._free_bytes -= self._drop_one()
        return bytearray(size)

    def recycle(self, buffer: bytearray) -> None:
        """A buffer from :meth:`lend` that nothing refers to any more (call before
        :meth:`give` of its bytes)."""
        size = len(buffer)
        with self._changed:
            if 0 < size <= self.limit:  # one larger than the budget went alone: let it go
                self._free.setdefault(size, []).append(buffer)
                self._free_bytes += size

    def _drop_one(self) -> int:
        """Forget one free buffer, of the size with the most free bytes; its size."""
        size = max(self._free, key=lambda s: s * len(self._free[s]))
        bucket = self._free[size]
        bucket.pop()
        if not bucket:
            del self._free[size]
        return size
