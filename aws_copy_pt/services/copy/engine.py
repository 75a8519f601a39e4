"""The copy engine's loop: batches out to worker threads, results back into the database.

One :class:`CopyEngine` runs one pass over one transfer (``services.copy`` sets it up). It is
the only thread that writes rows (in bulk, through ``RowWriter``); workers copy
(``services.copy.worker``), plan and verify batches (``services.copy.plan``,
``services.copy.verify``), clean staging (``services.copy.cleanup``) and hand back results.

A ``transfers cancel`` from another process is seen (``services.copy.cancel``) between
batches, while copies are out and before every staging delete: the pass then takes no new
object, deletes nothing more, and leaves the transfer CANCELLED.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_copy_pt.core.copy_plan import CopyMethod, destination_key, relative_key
from aws_copy_pt.core.states import ObjectState, TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.errors import AwsCopyPtError, ConflictRefused
from aws_copy_pt.services.copy.cancel import CancelWatch
from aws_copy_pt.services.copy.cleanup import Cleaner, clean_staging
from aws_copy_pt.services.copy.flight import Flight
from aws_copy_pt.services.copy.plan import empty_destination, plan_batch
from aws_copy_pt.services.copy.pool import Outcome, WorkerPool
from aws_copy_pt.services.copy.report import (
    CopyProgress,
    CopyReport,
    ObjectFailure,
    ProgressCallback,
    record_cancelled,
    record_outcome,
)
from aws_copy_pt.services.copy.rows import (
    Arrivals,
    Row,
    RowWriter,
    batches,
    owed_count,
    owed_deletes,
    totals,
    write_now,
)
from aws_copy_pt.services.copy.verify import VerifyOutcome, verify_batch
from aws_copy_pt.services.copy.worker import Breaker, CopySpec, ObjectResult
from aws_copy_pt.services.events import locked_transfer

log = logging.getLogger(__name__)

FLUSH_ROWS = 500
FLUSH_SECONDS = 0.5
PROGRESS_SECONDS = 0.25
# This many failures that every object would hit, and no success yet: end the run.
SYSTEMIC_FAILURES_TO_STOP = 8
MAX_REPORTED_FAILURES = 20
UNFINISHED = (ObjectState.PENDING, ObjectState.COPYING, ObjectState.COPIED)


@dataclass
class _Batch:
    """The rows of one batch still out, and those copied and awaiting the size check."""

    outstanding: int = 0
    copied: list[Row] = field(default_factory=list)


class CopyEngine:
    """One run over one transfer: dispatches batches, collects results, writes them."""

    def __init__(
        self,
        db: Database,
        transfer_id: int,
        prefixes: tuple[str, str],
        delete_staging: bool,
        progress: ProgressCallback | None,
    ) -> None:
        self.db = db
        self.transfer_id = transfer_id
        self.prefixes = prefixes
        self.delete_staging = delete_staging
        self.progress = progress
        self.halt = threading.Event()  # set by the breaker: no new object after a systemic failure
        self.breaker = Breaker(self.halt, SYSTEMIC_FAILURES_TO_STOP)
        self.writer = RowWriter(db)
        self.started = time.monotonic()
        self.before = totals(db, transfer_id)
        self.report = CopyReport(transfer_id, TransferState.COPYING.value)
        self.done: Counter[str] = Counter()  # final states reached by this run
        self.bytes_done = 0  # bytes verified or skipped by this run
        self.in_flight = 0
        self.arrivals: Arrivals | None = None
        self.last_flush = self.last_progress = time.monotonic()
        self.cancel = CancelWatch(db, transfer_id, self.halt)

    # --- the loop ------------------------------------------------------------------------------

    def run(
        self, spec: CopySpec, pool: WorkerPool, stop: threading.Event, arrivals: Arrivals | None
    ) -> None:
        self.spec, self.pool, self.stop, self.arrivals = spec, pool, stop, arrivals
        self.flight = Flight(pool, spec, pool.window)  # plain copies: no worker thread each
        self.cleaner = Cleaner(
            self.writer,
            self.report,
            send=self._send_deletes,
            cancelled=lambda: self.cancel.seen(force=True),
            fail=self._fail,
            source_bucket=spec.route.source_bucket,
        )
        try:
            if self.delete_staging:
                for owed in owed_deletes(self.db, self.transfer_id):
                    self.cleaner.pay_earlier(owed)  # debts of a pass killed before it paid
            self.empty_prefix = empty_destination(spec.route, self.prefixes[1])
            for rows in batches(self.db, self.transfer_id, arrivals=arrivals):
                self._check_stop()
                if self.cancel.seen(force=True) or self.stop.is_set() or self.halt.is_set():
                    break
                if not rows:  # the listing has not delivered more yet
                    self._poll()
                    continue
                before = self.in_flight
                self._dispatch(rows)
                # At most two batches in flight: bounded memory. Counted in calls, so a batch
                # that is only verified (one call: copied by a batch job) counts as a batch too.
                self._drain(keep=self.in_flight - before)
            self._drain(keep=0)
            self.cleaner.send()
            self._drain(keep=0)
        except AwsCopyPtError as error:  # a failure every object would hit (e.g. rejected keys)
            spec.route.name_credential(error)
            raise
        self.writer.flush()

    def _dispatch(self, rows: list[Row]) -> None:
        source_prefix, dest_prefix = self.prefixes
        for row in rows:
            if row.dest_key is None:
                key = destination_key(dest_prefix, relative_key(source_prefix, row.source_key))
                self.writer.change(row, dest_key=key)
            if row.state == ObjectState.COPYING:  # interrupted by a crash or a stop: plan again
                self.writer.change(row, state=ObjectState.PENDING)
        plan = plan_batch(self.spec.route, rows, self.spec.conflict, empty_prefix=self.empty_prefix)
        for row, facts in plan.filled:
            algorithm = facts.algorithms[0] if facts.algorithms else None
            self.writer.change(
                row, size=facts.size, source_etag=facts.etag, checksum_algorithm=algorithm
            )
        for row in plan.skipped:
            self._skip(row)
        for row, message in plan.failed:
            self._fail(row, message)
        for row, message in plan.refused:
            self._fail(row, message, refused=True)
        batch = _Batch(copied=list(plan.to_verify))
        started = datetime.now(UTC)
        for row, _ in plan.tasks:
            self.writer.change(
                row,
                state=ObjectState.COPYING,
                attempts=row.attempts + 1,
                started_at=started,
                last_error=None,
            )
        self.writer.flush()  # rows are `copying` in the database before any request is sent
        batch.outstanding += len(plan.tasks)
        self.in_flight += len(plan.tasks)
        self.flight.send([((batch, row), task) for row, task in plan.tasks])
        self._settle(batch)

    def _submit(
        self,
        batch: _Batch | None,
        row: Row | None,
        work: Callable[..., Any],
        *args: Any,
        urgent: bool = False,
    ) -> None:
        self.pool.submit((batch, row), work, *args, urgent=urgent)
        self.in_flight += 1

    def _drain(self, keep: int) -> None:
        """Handle results until at most ``keep`` calls are in flight."""
        while self.in_flight > keep:
            outcome = self.pool.next_outcome(timeout=0.2)
            self._check_stop()
            self.cancel.seen()
            if outcome is not None:
                self._handle(outcome)

    def _poll(self) -> None:
        """Handle the results already there, without waiting."""
        while (outcome := self.pool.next_outcome(timeout=0)) is not None:
            self._handle(outcome)
        self._tick()

    def _handle(self, outcome: Outcome) -> None:
        (batch, row), result, error = outcome
        self.in_flight -= 1
        if error is not None:
            raise error
        if batch is None:
            self.cleaner.settle(result, self.transfer_id)
        elif row is None:
            self._on_verified(result)
        else:
            self._on_object(batch, row, result)
        self._tick()

    def _check_stop(self) -> None:
        if self.stop.is_set() and not self.report.stopped:
            log.info("transfer %s: stop requested; finishing copies in flight", self.transfer_id)
            self.report.stopped = True

    # --- results -------------------------------------------------------------------------------

    def _on_object(self, batch: _Batch, row: Row, result: ObjectResult) -> None:
        batch.outstanding -= 1
        self._learn_source(row, result)
        if result.state is ObjectState.COPIED:
            self._copied(batch, row, result)
        elif result.state is ObjectState.SKIPPED:
            self.writer.change(row, state=ObjectState.PENDING, attempts=row.attempts - 1)
            self._skip(row)
        elif result.state is ObjectState.FAILED:
            assert result.error is not None
            self.writer.change(row, upload_id=result.upload_id)
            self._fail(row, str(result.error), refused=isinstance(result.error, ConflictRefused))
        elif result.state is ObjectState.PENDING:  # never started: the run was halted
            self.writer.change(row, state=ObjectState.PENDING, attempts=row.attempts - 1)
        # COPYING: a multipart copy stopped midway; its stored upload resumes next time
        self._settle(batch)

    def _learn_source(self, row: Row, result: ObjectResult) -> None:
        source = result.source
        if source is None:
            return
        if row.size is None or row.source_etag is None:
            self.writer.change(row, size=source.size, source_etag=source.etag)
        if source.checksum is not None:
            self.writer.change(
                row,
                checksum_algorithm=source.checksum.algorithm,
                source_checksum=source.checksum.value,
            )

    def _copied(self, batch: _Batch, row: Row, result: ObjectResult) -> None:
        report = self.report
        report.bytes_copied += row.size or 0
        if result.method is CopyMethod.MULTIPART:
            report.multipart_copies += 1
        else:
            report.single_copies += 1
        if result.proof is not None:
            report.verified_by[result.proof] += 1
        report.streamed += result.streamed
        report.overwritten += result.overwrote
        self.writer.change(
            row,
            state=ObjectState.COPIED,
            dest_etag=result.dest_etag,
            dest_checksum=result.dest_checksum,
            checksum_algorithm=result.algorithm,
            source_version_id=result.source_version,
            upload_id=None,
            verified_by=result.proof,  # what proves it once the listing confirms it
        )
        batch.copied.append(row)

    def _settle(self, batch: _Batch) -> None:
        """All copies of a batch are back: check the destination's sizes in one listing."""
        if batch.outstanding or not batch.copied:
            return
        rows, batch.copied = batch.copied, []
        self.writer.flush()  # `copied` is on disk before anything can make it `verified`
        # Ahead of the next batch's queued copies: else the check of every batch but the last
        # would wait for the next batch's copies, and all of them would end up in the tail.
        self._submit(batch, None, verify_batch, self.spec.route, rows, urgent=True)

    def _on_verified(self, outcome: VerifyOutcome) -> None:
        for row in outcome.verified:
            self.writer.change(row, state=ObjectState.VERIFIED, last_error=None)
            self.done[ObjectState.VERIFIED] += 1
            self.bytes_done += row.size or 0
            if self.delete_staging:
                self.cleaner.owe(row)
        for row, message in outcome.failed:
            self._fail(row, message)
        self.cleaner.send()

    def _send_deletes(self, rows: list[Row]) -> None:
        self._submit(None, None, clean_staging, self.spec.route, rows, urgent=True)

    def _skip(self, row: Row) -> None:
        self.writer.change(row, state=ObjectState.SKIPPED, last_error=None)
        self.done[ObjectState.SKIPPED] += 1
        self.bytes_done += row.size or 0
        if self.delete_staging:
            # Identical in the destination (often: copied by a run that was killed before it
            # recorded the copy), so its staging object is as safe to delete as a verified one.
            self.cleaner.owe(row)

    def _fail(self, row: Row, message: str, *, refused: bool = False) -> None:
        self.writer.change(row, state=ObjectState.FAILED, last_error=message, verified_by=None)
        self.done[ObjectState.FAILED] += 1
        self.report.refused += refused
        if len(self.report.failures) < MAX_REPORTED_FAILURES:
            self.report.failures.append(ObjectFailure(row.source_key, message, refused))

    def remember_upload(self, row_id: int, upload_id: str | None, part_size: int | None) -> None:
        """Store a multipart UploadId at once (a worker calls this before the first part)."""
        write_now(self.db, row_id, upload_id=upload_id, part_size=part_size)

    # --- writing and reporting -------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        if len(self.writer) >= FLUSH_ROWS or now - self.last_flush >= FLUSH_SECONDS:
            self.writer.flush()
            self.last_flush = now
        if self.progress is not None and now - self.last_progress >= PROGRESS_SECONDS:
            self.progress(self._snapshot())
            self.last_progress = now

    def _snapshot(self) -> CopyProgress:
        before, done = self.before, self.done
        verified = before.objects(ObjectState.VERIFIED) + done[ObjectState.VERIFIED]
        skipped = before.objects(ObjectState.SKIPPED) + done[ObjectState.SKIPPED]
        failed = before.objects(ObjectState.FAILED) + done[ObjectState.FAILED]
        bytes_before = before.bytes(ObjectState.VERIFIED, ObjectState.SKIPPED)
        return CopyProgress(
            transfer_id=self.transfer_id,
            objects_total=before.all_objects + (self.arrivals.rows if self.arrivals else 0),
            objects_done=verified + skipped + failed,
            objects_handled=before.objects(
                ObjectState.VERIFIED, ObjectState.SKIPPED, ObjectState.FAILED
            )
            + self.report.copied
            + done[ObjectState.SKIPPED]
            + done[ObjectState.FAILED],
            verified=verified,
            skipped=skipped,
            failed=failed,
            bytes_total=max(
                before.all_bytes + (self.arrivals.bytes if self.arrivals else 0),
                bytes_before + self.bytes_done,
            ),
            bytes_done=bytes_before + self.bytes_done,
            objects_copied=self.report.copied,
            bytes_copied=self.report.bytes_copied,
            elapsed=time.monotonic() - self.started,
        )

    def finish(self, *, listing_complete: bool | None) -> CopyReport:
        self.writer.flush()
        end = totals(self.db, self.transfer_id)
        report = self.report
        tripped = self.breaker.tripped_by
        if tripped is not None:
            log.info("transfer %s: ended the run early: %s", self.transfer_id, tripped)
            self.spec.route.name_credential(tripped)
            report.error, report.error_hint = tripped.message, tripped.hint
        report.elapsed = time.monotonic() - self.started
        report.objects_total, report.bytes_total = end.all_objects, end.all_bytes
        report.verified = end.objects(ObjectState.VERIFIED)
        report.skipped = end.objects(ObjectState.SKIPPED)
        report.failed = end.objects(ObjectState.FAILED)
        report.remaining = end.objects(*UNFINISHED)
        if self.delete_staging:
            report.staging_left = owed_count(self.db, self.transfer_id)
            report.staging_problem = next(
                (f"{key}: {why}" for key, why in self.cleaner.problems.items()), "see its history"
            )
        with self.db.session() as session:
            transfer = locked_transfer(session, self.transfer_id)  # a cancel cannot slip in now
            transfer.objects_total, transfer.bytes_total = end.all_objects, end.all_bytes
            if transfer.state == TransferState.CANCELLED:
                record_cancelled(session, transfer, report)
            else:
                record_outcome(session, transfer, report, listing_complete=listing_complete)
            report.state = transfer.state
        if self.progress is not None:
            self.progress(self._snapshot())
        return report
