"""A transfer's batch job records (``batch_jobs``) and the rows a job holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aws_copy_pt.core.batch_engine import ACTIVE_PHASES, Phase, check_phase_transition
from aws_copy_pt.core.states import ObjectState
from aws_copy_pt.db.models import BatchJob, ObjectCopy, Transfer
from aws_copy_pt.s3.control import JobFailure
from aws_copy_pt.services.events import record_event

EVENT_KIND = "batch"


def latest_job(session: Session, transfer_id: int) -> BatchJob | None:
    return session.scalar(
        select(BatchJob)
        .where(BatchJob.transfer_id == transfer_id)
        .order_by(BatchJob.attempt.desc())
        .limit(1)
    )


def active_job(session: Session, transfer_id: int) -> BatchJob | None:
    job = latest_job(session, transfer_id)
    return job if job is not None and job.phase in ACTIVE_PHASES else None


def move(session: Session, job: BatchJob, phase: Phase, message: str) -> None:
    """Move a job to its next phase, with an event in the transfer's history."""
    check_phase_transition(job.phase, phase)
    job.phase = phase.value
    if phase not in ACTIVE_PHASES:
        job.finished_at = datetime.now(UTC)
    transfer = session.get(Transfer, job.transfer_id)
    record_event(session, transfer, EVENT_KIND, message)


@dataclass(frozen=True)
class Held:
    objects: int
    bytes: int


def held_by(session: Session, transfer_id: int, attempt: int | None = None) -> Held:
    """Rows a batch job holds (``copying`` with an attempt): of ``attempt``, or of any."""
    query = select(func.count(ObjectCopy.id), func.coalesce(func.sum(ObjectCopy.size), 0)).where(
        ObjectCopy.transfer_id == transfer_id,
        ObjectCopy.state == ObjectState.COPYING.value,
    )
    if attempt is None:
        query = query.where(ObjectCopy.batch_attempt.is_not(None))
    else:
        query = query.where(ObjectCopy.batch_attempt == attempt)
    count, size = session.execute(query).one()
    return Held(int(count or 0), int(size or 0))


def local_work(session: Session, transfer_id: int) -> bool:
    """Does the local engine have rows to copy or verify (pending, copied, or copying without
    a job: interrupted local copies)?"""
    waiting = select(ObjectCopy.id).where(
        ObjectCopy.transfer_id == transfer_id,
        ObjectCopy.state.in_([ObjectState.PENDING.value, ObjectState.COPIED.value]),
    )
    interrupted = select(ObjectCopy.id).where(
        ObjectCopy.transfer_id == transfer_id,
        ObjectCopy.state == ObjectState.COPYING.value,
        ObjectCopy.batch_attempt.is_(None),
    )
    return any(session.scalar(query.limit(1)) is not None for query in (waiting, interrupted))


def retried_rows(session: Session, transfer_id: int, attempt: int) -> int:
    """Rows of a failed attempt that `transfers retry` put back in line (for a new job)."""
    return int(
        session.scalar(
            select(func.count(ObjectCopy.id)).where(
                ObjectCopy.transfer_id == transfer_id,
                ObjectCopy.batch_attempt == attempt,
                ObjectCopy.state == ObjectState.PENDING.value,
            )
        )
        or 0
    )


def pending_rows(session: Session, transfer_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(ObjectCopy.id)).where(
                ObjectCopy.transfer_id == transfer_id,
                ObjectCopy.state == ObjectState.PENDING.value,
            )
        )
        or 0
    )


def failure_text(failures: tuple[JobFailure, ...]) -> str | None:
    """FailureReasons as stored (JSON) and shown; verbatim, never parsed."""
    if not failures:
        return None
    return json.dumps([{"code": f.code, "reason": f.reason} for f in failures])


def failure_summary(stored: str | None) -> str:
    if not stored:
        return "no reason given"
    return "; ".join(f"{item['code']}: {item['reason']}" for item in json.loads(stored))
