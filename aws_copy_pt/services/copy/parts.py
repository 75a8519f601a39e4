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
    """Bytes that streamed copies may hold in memory at once, shared by every object of a run.

    ``take`` blocks until the bytes fit; one request larger than the whole budget (a part of an
    object over 10,000 x the part size) goes alone, when nothing else is held.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0
        self._changed = threading.Condition()

    def take(self, size: int, stop: Any = None) -> bool:
        """Reserve ``size`` bytes; False when ``stop`` (anything with ``is_set``) was set while
        waiting."""
        with self._changed:
            while self.held and self.held + size > self.limit:
                if stop is not None and stop.is_set():
                    return False
                self._changed.wait(0.2)
            self.held += size
            self.peak = max(self.peak, self.held)
            return True

    def give(self, size: int) -> None:
        with self._changed:
            self.held -= size
            self._changed.notify_all()
