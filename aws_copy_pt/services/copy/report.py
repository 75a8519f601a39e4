"""What the copy engine tells its caller (progress while it runs, a report when it returns) and
records in the transfer's history when a run ends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from aws_copy_pt.core.copy_plan import outcome_state
from aws_copy_pt.core.states import ObjectState, TransferState
from aws_copy_pt.db.models import Event, ObjectCopy, Transfer
from aws_copy_pt.services.events import move_transfer, record_event
from aws_copy_pt.services.watch.skipped import skipped_count


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
    refused: bool = False  # a conflict refused by --on-conflict fail, not an S3 failure


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
    # What proved the objects copied (core.checksums.proof): "crc32c from source", "size only"...
    verified_by: Counter[str] = field(default_factory=Counter)
    streamed: int = 0  # objects whose bytes went through this machine (the stream route)
    route: str | None = None  # the transfer's route (core.route): server-side | stream
    overwritten: int = 0
    staging_deleted: int = 0
    staging_kept: int = 0  # replaced after their copy: kept, their rows failed for a retry
    staging_left: int = 0  # still owed a delete when the run ended (why: `transfers show`)
    staging_problem: str | None = None  # one of them, and why ("key: reason")
    refused: int = 0  # objects refused by --on-conflict fail in this run
    elapsed: float = 0.0
    stopped: bool = False  # the stop event ended the run
    cancelled: bool = False  # `transfers cancel` ended the run: nothing more copied or deleted
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
            "streamed": self.streamed,
            "route": self.route,
            "overwritten": self.overwritten,
            "staging_deleted": self.staging_deleted,
            "staging_kept": self.staging_kept,
            "staging_left": self.staging_left,
            "refused": self.refused,
            "elapsed_seconds": round(self.elapsed, 3),
            "stopped": self.stopped,
            "cancelled": self.cancelled,
            "error": self.error,
            "error_hint": self.error_hint,
            "failures": [
                {"key": f.key, "error": f.error, "refused": f.refused} for f in self.failures
            ],
            "batch": {
                "job_id": self.batch_job_id,
                "status": self.batch_status,
                "objects_held": self.held_by_batch,
            }
            if self.batch_job_id or self.held_by_batch
            else None,
        }


@dataclass(frozen=True)
class CopyPhase:
    """A transfer's latest copy phase: bytes verified, and the seconds from its first object
    copied to its last one verified (not the transfer's age, nor the Globus wait)."""

    bytes: int
    seconds: float

    @property
    def bytes_per_second(self) -> int | None:
        return int(self.bytes / self.seconds) if self.seconds > 0 else None


# A copy phase begins when the transfer enters LISTING or COPYING from another state: the Globus
# task finished (WAITING -> LISTING), a retry (PARTIAL -> COPYING), a copy of what a failed task
# left (FAILED -> LISTING). LISTING -> COPYING continues the same phase.
COPY_PHASE_STATES = frozenset({TransferState.LISTING, TransferState.COPYING})


def copy_phases(session: Session, transfer_ids: list[int]) -> dict[int, CopyPhase]:
    """The latest copy phase of each transfer that verified objects in it.

    Derived from what is recorded anyway: the state events give the phase's start, each
    object's ``started_at``/``finished_at`` its copy and verification.
    """
    if not transfer_ids:
        return {}
    starts = (
        select(Event.transfer_id, func.max(Event.at).label("at"))
        .where(Event.kind == "state", Event.to_state.in_([s.value for s in COPY_PHASE_STATES]))
        .where(or_(Event.from_state.is_(None), Event.from_state != TransferState.LISTING.value))
        .where(Event.transfer_id.in_(transfer_ids))
        .group_by(Event.transfer_id)
        .subquery()
    )
    rows = session.execute(
        select(
            ObjectCopy.transfer_id,
            func.sum(ObjectCopy.size),
            func.min(ObjectCopy.started_at),
            func.max(ObjectCopy.finished_at),
        )
        .outerjoin(starts, starts.c.transfer_id == ObjectCopy.transfer_id)
        .where(ObjectCopy.transfer_id.in_(transfer_ids))
        .where(ObjectCopy.state == ObjectState.VERIFIED.value, ObjectCopy.started_at.is_not(None))
        .where(or_(starts.c.at.is_(None), ObjectCopy.started_at >= starts.c.at))
        .group_by(ObjectCopy.transfer_id)
    )
    return {
        transfer_id: CopyPhase(int(size or 0), (last - first).total_seconds())
        for transfer_id, size, first, last in rows
        if first is not None and last is not None
    }


def stored_copy_phase(transfer: Transfer) -> CopyPhase | None:
    """The phase as the last copy run of ``transfer`` stored it."""
    if transfer.copy_bytes is None or transfer.copy_seconds is None:
        return None
    return CopyPhase(transfer.copy_bytes, transfer.copy_seconds)


def record_outcome(
    session: Session, transfer: Transfer, report: CopyReport, *, listing_complete: bool | None
) -> None:
    """Events, ``last_error`` and the new state of ``transfer`` after the run ``report``.

    ``listing_complete`` is None for a transfer that was listed before the run (COPYING);
    otherwise the run copied while listing (LISTING), and it tells whether the listing ended.
    """
    phase = copy_phases(session, [transfer.id]).get(transfer.id)
    transfer.copy_bytes = phase.bytes if phase else None
    transfer.copy_seconds = phase.seconds if phase else None
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
    elif report.staging_left:
        transfer.last_error = (
            f"{report.staging_left} staging object(s) could not be deleted, e.g. "
            f"{report.staging_problem}; `aws-copy-pt transfers retry {transfer.id}` tries again"
        )
    elif report.failed == 0:
        transfer.last_error = None
    if report.held_by_batch:
        return  # a batch job still copies some objects: the transfer stays COPYING
    left_out = skipped_count(session, transfer.id)  # files Globus skipped: never DONE
    if left_out and transfer.last_error is None:
        transfer.last_error = (
            f"Globus skipped {left_out} file(s) of the task: `aws-copy-pt transfers show "
            f"{transfer.id}` lists them; send them again with Globus"
        )
    target = outcome_state(
        verified=report.verified,
        skipped=report.skipped,
        failed=report.failed,
        remaining=report.remaining,
        ended_early=report.error is not None,
        owed=report.staging_left,
        left_out=left_out,
    )
    if target is None:
        left = f"stopped on request with {report.remaining} object(s) left; {summary}"
        record_event(session, transfer, "copy", left)
        return
    reasons = {
        TransferState.DONE: f"all {report.objects_total} object(s) done: {summary}",
        TransferState.FAILED: f"no object could be copied: {summary}",
        TransferState.PARTIAL: f"some objects failed: {summary}"
        if report.failed or report.remaining
        else f"Globus skipped {left_out} file(s) of the task: {summary}",
    }
    reason = reasons[target]
    if report.failed == 0 and report.staging_left:
        reason = f"{report.staging_left} staging object(s) could not be deleted: {summary}"
    if report.error is not None:
        reason += f"; ended early: {report.error}"
    move_transfer(session, transfer, target, reason)


def record_cancelled(session: Session, transfer: Transfer, report: CopyReport) -> None:
    """The run noticed that ``transfer`` was cancelled (by another process): say where it
    stopped; the state stays CANCELLED."""
    report.state = TransferState.CANCELLED.value
    report.cancelled = True
    record_event(session, transfer, "copy", cancelled_line(report))


def cancelled_line(report: CopyReport) -> str:
    return (
        f"Transfer {report.transfer_id} was cancelled; stopped after {report.copied} "
        "object(s) copied in this pass; nothing more copied or deleted."
    )
