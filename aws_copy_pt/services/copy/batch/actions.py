"""What people (and the scheduler) do with a transfer's batch job: look at it, confirm it,
cancel it, know when it is due for its next poll, wait for it in the foreground."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.core.batch_cost import estimate_batch
from aws_copy_pt.core.batch_engine import ACTIVE_PHASES, Phase
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import BatchJob, Transfer
from aws_copy_pt.errors import NotFoundError, UsageError
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.s3.control import BatchJobStatusConflict, list_jobs
from aws_copy_pt.services.copy.batch import job as jobs
from aws_copy_pt.services.copy.batch import store
from aws_copy_pt.services.events import record_event

T = TypeVar("T")
RETRY_SECONDS = 30.0  # a step that failed (e.g. CreateJob denied) is tried again this often
ACTIVE_STATUSES = ("New", "Preparing", "Suspended", "Ready", "Active", "Pausing", "Paused")


@dataclass(frozen=True)
class BatchJobView:
    """One job attempt of a transfer, for `transfers show`."""

    attempt: int
    phase: str
    job_id: str | None
    status: str | None
    account_id: str
    region: str
    objects: int
    bytes: int
    tasks_total: int | None
    tasks_succeeded: int
    tasks_failed: int
    failure_reasons: str | None
    last_error: str | None
    confirmation_required: bool
    manifest: str
    report_prefix: str
    estimate: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None


def job_views(session: Session, transfer_id: int) -> list[BatchJobView]:
    rows = session.scalars(
        select(BatchJob).where(BatchJob.transfer_id == transfer_id).order_by(BatchJob.attempt)
    )
    return [
        BatchJobView(
            attempt=job.attempt,
            phase=job.phase,
            job_id=job.job_id,
            status=job.status,
            account_id=job.account_id,
            region=job.region,
            objects=job.objects,
            bytes=job.bytes,
            tasks_total=job.tasks_total,
            tasks_succeeded=job.tasks_succeeded,
            tasks_failed=job.tasks_failed,
            failure_reasons=store.failure_summary(job.failure_reasons)
            if job.failure_reasons
            else None,
            last_error=job.last_error,
            confirmation_required=job.confirmation_required,
            manifest=f"s3://{job.manifest_bucket}/{job.manifest_key}",
            report_prefix=f"s3://{job.report_bucket}/{job.report_prefix}/",
            estimate=estimate_batch(job.objects).as_dict(),
            created_at=job.created_at,
            finished_at=job.finished_at,
        )
        for job in rows
    ]


@dataclass(frozen=True)
class Waiting:
    transfer_id: int
    state: str
    label: str | None
    job_id: str | None


def awaiting_confirmation(db: Database) -> list[Waiting]:
    """Transfers whose batch job waits Suspended for `transfers confirm`."""
    with db.session() as session:
        rows = session.execute(
            select(Transfer.id, Transfer.state, Transfer.label, BatchJob.job_id)
            .join(BatchJob, BatchJob.transfer_id == Transfer.id)
            .where(
                Transfer.state == TransferState.COPYING.value,
                BatchJob.phase == Phase.SUBMITTED.value,
                BatchJob.status == "Suspended",
            )
            .order_by(Transfer.id)
        )
        return [Waiting(r.id, r.state, r.label, r.job_id) for r in rows]


def confirm_job(db: Database, factory: ClientFactory, transfer_id: int) -> BatchJobView:
    """UpdateJobStatus Ready: the Suspended job starts copying."""
    with db.session() as session:
        transfer, job = _active(session, transfer_id)
        if job.job_id is None or job.phase != Phase.SUBMITTED:
            raise UsageError(
                f"the batch job of transfer {transfer_id} is not created yet ({job.phase})",
                hint="the next `aws-copy-pt run --once` or daemon pass creates it",
            )
        client = jobs.control_client(factory, transfer.dest_bucket)
        account_id, job_id = job.account_id, job.job_id
    try:
        status = jobs.set_status(
            client, account_id, job_id, "Ready", "confirmed with aws-copy-pt transfers confirm"
        )
    except BatchJobStatusConflict as exc:
        raise UsageError(
            f"batch job {job_id} does not wait for a confirmation: {exc.message}",
            hint=f"`aws-copy-pt transfers show {transfer_id}` shows its status",
        ) from exc
    with db.session() as session:
        transfer, job = _active(session, transfer_id)
        job.status, job.next_poll_at = status, None
        record_event(session, transfer, store.EVENT_KIND, f"batch job {job_id} confirmed: {status}")
        return job_views(session, transfer_id)[-1]


def cancel_job(db: Database, factory: ClientFactory, transfer_id: int) -> str | None:
    """Cancel the transfer's S3 job, if it has one still running; returns what was cancelled.

    A job whose id is not stored yet (a crash between CreateJob and recording it) is found by
    its description among the account's running jobs.
    """
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        finished = (TransferState.DONE, TransferState.CANCELLED)
        if transfer is None or transfer.state in finished:
            return None  # cancel_transfer says why nothing can be cancelled
        job = store.active_job(session, transfer_id)
        if job is None:
            return None
        client = jobs.control_client(factory, transfer.dest_bucket)
        account_id, phase, row_id = job.account_id, job.phase, job.id
        job_ids = [job.job_id] if job.job_id else []
        if phase == Phase.UPLOADED:
            marker = jobs.description_prefix(job.client_request_token)
            job_ids = [
                found.job_id
                for found in list_jobs(client, account_id, ACTIVE_STATUSES)
                if (found.description or "").startswith(marker)
            ]
    for job_id in job_ids:
        with contextlib.suppress(BatchJobStatusConflict):  # it ended meanwhile: nothing to do
            jobs.set_status(client, account_id, job_id, "Cancelled", "aws-copy-pt transfers cancel")
    with db.session() as session:
        job = session.get(BatchJob, row_id)
        assert job is not None
        if job.phase in ACTIVE_PHASES:
            what = f"batch job {', '.join(job_ids)}" if job_ids else "the batch job (not created)"
            store.move(session, job, Phase.CANCELLED, f"{what} cancelled by the user")
    return ", ".join(job_ids) or None


def seconds_until_batch_poll(db: Database, transfer_id: int) -> float | None:
    """When the transfer's batch job needs the next pass (None: it has no running job)."""
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        job = store.active_job(session, transfer_id)
        if transfer is None or job is None or transfer.state != TransferState.COPYING:
            return None
        if job.phase != Phase.SUBMITTED or job.next_poll_at is None:
            return RETRY_SECONDS if job.last_error else 0.0
        return max(0.0, (job.next_poll_at - datetime.now(UTC)).total_seconds())


def wait_for_job(
    db: Database,
    transfer_id: int,
    stop: threading.Event,
    run_pass: Callable[[], T],
    result: T,
) -> T:
    """After a pass that returned ``result``, run passes until the transfer's batch job is
    over, waits for a confirmation (someone has to run `transfers confirm`), or ``stop``;
    sleeping on the job's adaptive poll timer in between. Returns the last pass's result."""
    while not stop.is_set():
        delay = seconds_until_batch_poll(db, transfer_id)
        if delay is None or _suspended(db, transfer_id):
            return result
        if delay and stop.wait(delay):
            break
        result = run_pass()
    return result


def _suspended(db: Database, transfer_id: int) -> bool:
    with db.session() as session:
        job = store.active_job(session, transfer_id)
        return job is not None and job.status == "Suspended"


def _active(session: Session, transfer_id: int) -> tuple[Transfer, BatchJob]:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFoundError(
            f"there is no transfer {transfer_id}", hint="`aws-copy-pt status` lists transfers"
        )
    job = store.active_job(session, transfer_id)
    if job is None:
        raise UsageError(
            f"transfer {transfer_id} has no running batch job",
            hint=f"`aws-copy-pt transfers show {transfer_id}` shows how it is copied",
        )
    return transfer, job
