"""Seeing a ``transfers cancel`` made by another process while a pass copies.

The copy engine asks between batches, before every staging delete (``force``), and every
:data:`CHECK_SECONDS` while copies are out. Once the cancel is seen, ``halt`` is set: workers
take no new object (copies in flight finish), and the engine sends no more deletes. An event
records the moment, so the transfer's history shows where the pass stopped.
"""

from __future__ import annotations

import logging
import threading
import time

from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Transfer
from aws_copy_pt.services.copy.rows import transfer_state
from aws_copy_pt.services.events import record_event

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.25  # one indexed read of the transfer's state: cheap


class CancelWatch:
    def __init__(self, db: Database, transfer_id: int, halt: threading.Event) -> None:
        self._db = db
        self._transfer_id = transfer_id
        self._halt = halt
        self._checked = time.monotonic()
        self.cancelled = False

    def seen(self, *, force: bool = False) -> bool:
        """Whether the transfer was cancelled; asks the database at most every few tenths of
        a second unless ``force``."""
        now = time.monotonic()
        if self.cancelled or (not force and now - self._checked < CHECK_SECONDS):
            return self.cancelled
        self._checked = now
        if transfer_state(self._db, self._transfer_id) != TransferState.CANCELLED:
            return False
        self.cancelled = True
        self._halt.set()
        log.info("transfer %s was cancelled: stopping this pass", self._transfer_id)
        with self._db.session() as session:
            transfer = session.get(Transfer, self._transfer_id)
            message = "cancel seen: no new object is copied, nothing more is deleted"
            record_event(session, transfer, "copy", message)
        return True
