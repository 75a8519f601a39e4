"""Cleaning staging: the deletes owed for verified and skipped rows, each bound to what was
verified.

With ``delete_staging``, a row owes its staging object a delete once it is verified, or skipped
because the destination already holds it. The debt is written to the database
(``delete_owed``) before the delete request goes out, so a pass killed in between leaves it
recorded, and the next pass pays it first (``owed_deletes``). Each delete is bound to the row's
verified ETag, or to the version copied (``s3.deletes``): an object replaced since is kept, its
row fails with "changed after it was copied; kept", and ``transfers retry`` copies the newer
version. A delete that fails otherwise stays owed, with the reason (``staging_note``), for
``transfers show`` and the next pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import ObjectCopy
from aws_copy_pt.s3.copier import CopyRoute
from aws_copy_pt.s3.deletes import CHANGED, BoundDelete, delete_staging
from aws_copy_pt.s3.multipart import abort
from aws_copy_pt.services.copy.report import CopyReport
from aws_copy_pt.services.copy.rows import Row, RowWriter

CLEAN_BATCH = 1000  # staging objects per delete request
NOT_SENT = "not deleted: the transfer was cancelled first"


@dataclass
class CleanOutcome:
    deleted: list[Row] = field(default_factory=list)
    changed: list[Row] = field(default_factory=list)
    errors: list[tuple[Row, str]] = field(default_factory=list)


def clean_staging(route: CopyRoute, rows: list[Row]) -> CleanOutcome:
    """Delete the staging objects of ``rows`` (on a worker thread), bound to what was verified."""
    items = [BoundDelete(r.source_key, r.source_etag, r.source_version_id) for r in rows]
    result = delete_staging(route, items)
    by_key = {row.source_key: row for row in rows}
    return CleanOutcome(
        deleted=[by_key[key] for key in result.deleted if key in by_key],
        changed=[by_key[key] for key in result.changed if key in by_key],
        errors=[(by_key[key], why) for key, why in result.errors.items() if key in by_key],
    )


def changed_message(bucket: str, row: Row, transfer_id: int) -> str:
    return (
        f"s3://{bucket}/{row.source_key} {CHANGED} (the destination holds the version copied, "
        f"ETag {row.source_etag}); `aws-copy-pt transfers retry {transfer_id}` copies the "
        "newer version"
    )


class Cleaner:
    """The copy engine's side of the clean-up: records debts, sends them (unless the transfer
    was cancelled meanwhile) and writes what came back."""

    def __init__(
        self,
        writer: RowWriter,
        report: CopyReport,
        *,
        send: Callable[[list[Row]], None],
        cancelled: Callable[[], bool],
        fail: Callable[[Row, str], None],
        source_bucket: str,
    ) -> None:
        self._writer = writer
        self._report = report
        self._send = send
        self._cancelled = cancelled
        self._fail = fail
        self._bucket = source_bucket
        self._queue: list[Row] = []
        self.problems: dict[str, str] = {}  # key -> why a delete failed in this pass

    def owe(self, row: Row) -> None:
        """Record that ``row``'s staging object must go (written before any delete is sent)."""
        self._writer.change(row, delete_owed=True, staging_note=None)
        self._queue.append(row)
        if len(self._queue) >= CLEAN_BATCH:
            self.send()

    def send(self) -> None:
        """Send the deletes queued so far, once their debts are on disk."""
        rows, self._queue = self._queue, []
        if not rows:
            return
        self._writer.flush()
        if self._cancelled():  # a cancelled transfer deletes nothing more: say why they stay
            for row in rows:
                self._writer.change(row, staging_note=NOT_SENT)
            return
        for start in range(0, len(rows), CLEAN_BATCH):
            self._send(rows[start : start + CLEAN_BATCH])

    def pay_earlier(self, rows: list[Row]) -> None:
        """Deletes an earlier pass recorded but did not finish (already owed on disk)."""
        self._queue.extend(rows)
        self.send()

    def settle(self, outcome: CleanOutcome, transfer_id: int) -> None:
        """Write what the deletes did."""
        for row in outcome.deleted:
            self._writer.change(row, staging_deleted=True, delete_owed=False, staging_note=None)
        self._report.staging_deleted += len(outcome.deleted)
        for row in outcome.changed:
            self._writer.change(row, delete_owed=False, staging_note=CHANGED)
            self._fail(row, changed_message(self._bucket, row, transfer_id))
        self._report.staging_kept += len(outcome.changed)
        for row, why in outcome.errors:
            self._writer.change(row, staging_note=why)
            self.problems[row.source_key] = why


def abort_uploads(db: Database, route: CopyRoute, transfer_id: int) -> None:
    """Abort the multipart uploads a cancelled transfer left open (nothing will resume them,
    and their parts are billed until aborted)."""
    query = select(ObjectCopy.id, ObjectCopy.dest_key, ObjectCopy.upload_id).where(
        ObjectCopy.transfer_id == transfer_id, ObjectCopy.upload_id.is_not(None)
    )
    with db.session() as session:
        open_uploads = list(session.execute(query))
    for row_id, dest_key, upload_id in open_uploads:
        left = abort(route, str(dest_key), str(upload_id))
        with db.session() as session:
            change = update(ObjectCopy).where(ObjectCopy.id == row_id).values(upload_id=left)
            session.execute(change)
