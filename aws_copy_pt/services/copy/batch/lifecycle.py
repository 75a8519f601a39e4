"""One step of a batch job's life per phase; each step's outcome is stored before the next.

========== =============================================================================
planning   hand the rows a job can copy to attempt N (``planner``); resumable batch by batch
planned    stream the job's rows into a manifest and upload it (``manifest``); keep its ETag
uploaded   CreateJob with the attempt's deterministic token (``job``); store the job id
submitted  DescribeJob when the adaptive timer says so; Suspended waits for
           ``transfers confirm``; Complete, Failed and Cancelled go on to ingesting
ingesting  read the report into the rows (``ingest``); then done, failed or cancelled
========== =============================================================================

Network calls never run inside a database transaction: each step reads what it needs, calls
S3, then records the result in a short transaction of its own. A crash between the call and the
record repeats the call on the next pass, and every call is safe to repeat: planning skips rows
already handed over, the manifest is rebuilt byte for byte, CreateJob returns the job its token
already created, DescribeJob and the report are read again, and ingesting only moves rows the
attempt still holds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from aws_copy_pt.core.batch_cost import estimate_batch, usd
from aws_copy_pt.core.batch_engine import JobOutcome, Phase, job_outcome
from aws_copy_pt.core.batch_manifest import BATCH_COPY_MAX_BYTES
from aws_copy_pt.core.copy_plan import ConflictPolicy
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import BatchJob, Transfer
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.s3.copier import CopyRoute
from aws_copy_pt.services.copy.batch import job as jobs
from aws_copy_pt.services.copy.batch import manifest
from aws_copy_pt.services.copy.batch.ingest import IngestSpec, ingest
from aws_copy_pt.services.copy.batch.planner import PlanSpec, plan_rows
from aws_copy_pt.services.copy.batch.store import failure_summary, held_by, move
from aws_copy_pt.services.copy.route import build_route
from aws_copy_pt.services.events import move_transfer, record_event


@dataclass(frozen=True)
class Context:
    """What every step needs: the job's row id and the transfer it belongs to."""

    db: Database
    factory: ClientFactory
    job_row: int
    transfer_id: int
    stop: threading.Event
    bounds: jobs.PollBounds

    def route(self) -> CopyRoute:
        with self.db.session() as session:
            transfer = _transfer(session, self.transfer_id)
            return build_route(self.factory, transfer.source_bucket, transfer.dest_bucket)


def step(ctx: Context) -> bool:
    """Do the current phase's step; True if the job moved to another phase."""
    with ctx.db.session() as session:
        phase = Phase(_job(session, ctx.job_row).phase)
    if phase is Phase.PLANNING:
        return _plan(ctx)
    if phase is Phase.PLANNED:
        return _upload(ctx)
    if phase is Phase.UPLOADED:
        return _create(ctx)
    if phase is Phase.SUBMITTED:
        return _follow(ctx)
    if phase is Phase.INGESTING:
        return _ingest(ctx)
    return False


def _plan(ctx: Context) -> bool:
    with ctx.db.session() as session:
        job, transfer = _job(session, ctx.job_row), _transfer(session, ctx.transfer_id)
        options = dict(transfer.options or {})
        spec = PlanSpec(
            transfer_id=transfer.id,
            attempt=job.attempt,
            prefixes=(transfer.source_prefix, transfer.dest_prefix),
            target=job.target_key_prefix,
            max_bytes=int(options.get("batch_max_bytes", BATCH_COPY_MAX_BYTES)),
            versioned=job.versioned,
            conflict=ConflictPolicy(options.get("on_conflict", ConflictPolicy.OVERWRITE)),
        )
    counts = plan_rows(ctx.db, ctx.route(), spec, ctx.stop)
    if not counts.finished:
        return False
    local = ", ".join(f"{n:,} {why}" for why, n in sorted(counts.left_local.items()))
    local = f"; through the local engine: {local}" if local else ""
    with ctx.db.session() as session:
        job = _job(session, ctx.job_row)
        held = held_by(session, ctx.transfer_id, job.attempt)
        job.objects, job.bytes = held.objects, held.bytes
        if held.objects == 0:
            move(session, job, Phase.DONE, f"no object for batch job attempt {job.attempt}{local}")
        else:
            cost = estimate_batch(held.objects)
            move(
                session,
                job,
                Phase.PLANNED,
                f"batch job attempt {job.attempt} planned: {held.objects:,} object(s), "
                f"estimated {usd(cost.total)} ({usd(cost.batch_fees)} Batch Operations fees, "
                f"an estimate){local}",
            )
    return True


def _upload(ctx: Context) -> bool:
    with ctx.db.session() as session:
        job = _job(session, ctx.job_row)
        attempt, versioned, key = job.attempt, job.versioned, job.manifest_key
    uploaded = manifest.upload(
        ctx.db,
        ctx.route(),
        transfer_id=ctx.transfer_id,
        attempt=attempt,
        versioned=versioned,
        key=key,
    )
    with ctx.db.session() as session:
        job = _job(session, ctx.job_row)
        job.manifest_etag, job.manifest_version_id = uploaded.etag, uploaded.version_id
        where = f"s3://{job.manifest_bucket}/{job.manifest_key}"
        move(session, job, Phase.UPLOADED, f"manifest uploaded to {where} (ETag {uploaded.etag})")
    return True


def _create(ctx: Context) -> bool:
    with ctx.db.session() as session:
        job, transfer = _job(session, ctx.job_row), _transfer(session, ctx.transfer_id)
        annotate = bool((transfer.options or {}).get("annotate", transfer.kind == "globus"))
        request = jobs.job_request(job, transfer, transfer.dest_bucket, annotate)
        client = jobs.control_client(ctx.factory, transfer.dest_bucket)
    job_id = jobs.submit(client, request)
    with ctx.db.session() as session:
        job = _job(session, ctx.job_row)
        job.job_id, job.status, job.last_error = job_id, "New", None
        job.next_poll_at = None  # the first DescribeJob is due at once
        confirm = " (created Suspended: it waits for `transfers confirm`)"
        how = confirm if job.confirmation_required else ""
        move(
            session,
            job,
            Phase.SUBMITTED,
            f"created S3 Batch Operations job {job_id} in account {job.account_id}, "
            f"{job.region}{how}",
        )
    return True


def _follow(ctx: Context) -> bool:
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        job, transfer = _job(session, ctx.job_row), _transfer(session, ctx.transfer_id)
        if not jobs.due(job, now):
            return False
        client = jobs.control_client(ctx.factory, transfer.dest_bucket)
        account_id, job_id = job.account_id, str(job.job_id)
    status = jobs.poll(client, account_id, job_id)
    with ctx.db.session() as session:
        job, transfer = _job(session, ctx.job_row), _transfer(session, ctx.transfer_id)
        before = job.status
        jobs.record_poll(job, status, ctx.bounds, now)
        outcome = job_outcome(status.status)
        if outcome is JobOutcome.RUNNING or outcome is JobOutcome.AWAITING_CONFIRMATION:
            if before != status.status:
                record_event(session, transfer, "batch", _status_message(job, transfer.id))
            return False
        move(session, job, Phase.INGESTING, _status_message(job, transfer.id))
    return True


def _ingest(ctx: Context) -> bool:
    with ctx.db.session() as session:
        job = _job(session, ctx.job_row)
        transfer = _transfer(session, ctx.transfer_id)
        assert job.job_id is not None
        spec = IngestSpec(
            transfer_id=job.transfer_id,
            attempt=job.attempt,
            job_id=job.job_id,
            outcome=job_outcome(job.status),
            report_bucket=job.report_bucket,
            report_prefix=job.report_prefix,
            failed_tasks_only=job.report_scope == "FailedTasksOnly",
            job_failure=failure_summary(job.failure_reasons),
        )
        outcome_of_transfer = transfer.state
    done = ingest(ctx.db, ctx.route(), spec)
    summary = (
        f"batch job {spec.job_id} report read ({done.report_files} file(s)): "
        f"{done.copied:,} copied (to verify), {done.back_to_local:,} back to the local engine, "
        f"{done.failed:,} failed"
    )
    with ctx.db.session() as session:
        job, transfer = _job(session, ctx.job_row), _transfer(session, ctx.transfer_id)
        if spec.outcome is JobOutcome.COMPLETE:
            move(session, job, Phase.DONE, summary)
        elif spec.outcome is JobOutcome.FAILED:
            transfer.last_error = f"batch job {spec.job_id} failed: {spec.job_failure}"
            move(session, job, Phase.FAILED, summary)
        else:
            move(session, job, Phase.CANCELLED, summary)
            if outcome_of_transfer == TransferState.COPYING:
                move_transfer(
                    session,
                    transfer,
                    TransferState.CANCELLED,
                    f"batch job {spec.job_id} was cancelled",
                )
    return True


def _status_message(job: BatchJob, transfer_id: int) -> str:
    if job.status in ("New", "Preparing"):
        done = "reading its manifest"
    else:
        total = "?" if job.tasks_total is None else f"{job.tasks_total:,}"
        done = f"{job.tasks_succeeded:,} succeeded, {job.tasks_failed:,} failed of {total} tasks"
    message = f"batch job {job.job_id} is {job.status}: {done}"
    if job.status == "Suspended":
        message += f"; it waits for `aws-copy-pt transfers confirm {transfer_id}`"
    if job.status == "Failed":
        message += f"; {failure_summary(job.failure_reasons)}"
    return message


def _job(session: Session, row_id: int) -> BatchJob:
    job = session.get(BatchJob, row_id)
    assert job is not None
    return job


def _transfer(session: Session, transfer_id: int) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    assert transfer is not None
    return transfer
