"""What the copy engine tells its caller (progress while it runs, a report when it returns) and
records in the transfer's history when a run ends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from aws_copy_pt.core.copy_plan import outcome_state
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.models import Transfer
from aws_copy_pt.services.events import move_transfer, record_event


@dataclass(frozen=True)
class CopyProgress:
    """Where a copy stands; handed to the ``progress`` callback, never printed by the engine."""

    transfer_id: int
    objects_total: int
    objects_done: int  # verified + skipped + failed, including earlier runs
    objects_handled: int  # objects_done plus those copied and awaiting their size check
    verified: int
    skipped: int
    failed: int
    bytes_total: int  # known sizes (rows of a Globus transfer learn theirs while copying)
    bytes_done: int  # bytes of verified and skipped objects
    objects_copied: int  # copied by this run
    bytes_copied: int  # copied by this run
    elapsed: float  # seconds since this run started

    @property
    def objects_per_second(self) -> float:
        return self.objects_copied / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def bytes_per_second(self) -> float:
        return self.bytes_copied / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.objects_per_second
        return (self.objects_total - self.objects_done) / rate if rate > 0 else None


ProgressCallback = Callable[[CopyProgress], None]


@dataclass(frozen=True)
class ObjectFailure:
    key: str
    error: str


@dataclass
class CopyReport:
    """What one run of the engine did, and the state it left the transfer in."""

    transfer_id: int
    state: str
    objects_total: int = 0
    verified: int = 0
    skipped: int = 0
    failed: int = 0
    remaining: int = 0  # still pending/copying/copied: stopped, or stopped early
    bytes_total: int = 0
    bytes_copied: int = 0
    single_copies: int = 0
    multipart_copies: int = 0
    verified_by: Counter[str] = field(default_factory=Counter)  # checksum / etag / size
    overwritten: int = 0
    staging_deleted: int = 0
    elapsed: float = 0.0
    stopped: bool = False  # the stop event ended the run
    error: str | None = None  # the failure every object hit, which ended the run early
    error_hint: str | None = None
    failures: list[ObjectFailure] = field(default_factory=list)  # the first few of this run
    held_by_batch: int = 0  # rows an S3 Batch Operations job is copying (services.copy.batch)
    batch_job_id: str | None = None
    batch_status: str | None = None  # the job's S3 status, as last seen

    @property
    def copied(self) -> int:
        return self.single_copies + self.multipart_copies

    def as_dict(self) -> dict[str, Any]:
        """Plain values for ``--json``."""
        return {
            "transfer_id": self.transfer_id,
            "state": self.state,
            "objects_total": self.objects_total,
            "verified": self.verified,
            "skipped": self.skipped,
            "failed": self.failed,
            "remaining": self.remaining,
            "bytes_total": self.bytes_total,
            "bytes_copied": self.bytes_copied,
            "single_copies": self.single_copies,
            "multipart_copies": self.multipart_copies,
            "verified_by": dict(self.verified_by),
            "overwritten": self.overwritten,
            "staging_deleted": self.staging_deleted,
            "elapsed_seconds": round(self.elapsed, 3),
            "stopped": self.stopped,
            "error": self.error,
            "error_hint": self.error_hint,
            "failures": [{"key": f.key, "error": f.error} for f in self.failures],
            "batch": {
                "job_id": self.batch_job_id,
                "status": self.batch_status,
                "objects_held": self.held_by_batch,
            }
            if self.batch_job_id or self.held_by_batch
            else None,
        }


def record_outcome(
    session: Session, transfer: Transfer, report: CopyReport, *, listing_complete: bool | None
) -> None:
    """Events, ``last_error`` and the new state of ``transfer`` after the run ``report``.

    ``listing_complete`` is None for a transfer that was listed before the run (COPYING);
    otherwise the run copied while listing (LISTING), and it tells whether the listing ended.
    """
    if transfer.state == TransferState.LISTING:
        if not listing_complete:
            message = f"listing stopped early ({report.verified} verified so far): run it again"
            record_event(session, transfer, "copy", message)
            return
        if report.objects_total == 0:
            move_transfer(session, transfer, TransferState.DONE, "the source holds no object")
            return
        move_transfer(
            session, transfer, TransferState.COPYING, f"{report.objects_total} object(s) listed"
        )
    if report.overwritten:
        message = (
            f"overwrote {report.overwritten} destination object(s) that differed "
            "(--on-conflict overwrite)"
        )
        record_event(session, transfer, "conflict", message)
    summary = f"{report.verified} verified, {report.skipped} skipped, {report.failed} failed"
    if report.error is not None:
        transfer.last_error = report.error
    elif report.failures:
        first = report.failures[0]
        transfer.last_error = f"{report.failed} object(s) failed, e.g. {first.key}: {first.error}"
    elif report.failed == 0:
        transfer.last_error = None
    if report.held_by_batch:
        return  # a batch job still copies some objects: the transfer stays COPYING
    target = outcome_state(
        verified=report.verified,
        skipped=report.skipped,
        failed=report.failed,
        remaining=report.remaining,
        ended_early=report.error is not None,
    )
    if target is None:
        left = f"stopped on request with {report.remaining} object(s) left; {summary}"
        record_event(session, transfer, "copy", left)
        return
    reasons = {
        "DONE": f"all {report.objects_total} object(s) done: {summary}",
        "FAILED": f"no object could be copied: {summary}",
        "PARTIAL": f"some objects failed: {summary}",
    }
    reason = reasons[target.value]
    if report.error is not None:
        reason += f"; ended early: {report.error}"
    move_transfer(session, transfer, target, reason)
