"""The batch engine: S3 Batch Operations as an alternative *copy* stage of the copy pipeline.

A large transfer's objects can be copied by an S3 Batch Operations job instead of
aws-copy-pt's own workers: the job copies server-side inside AWS while this process waits at
~0 CPU. The job replaces the ``worker`` stage only. When it ends, its report moves each row
``copying -> copied`` (or back to ``pending``), and the local engine's pass then plans,
verifies and cleans those rows exactly like its own copies (``services.copy``'s pipeline):
a row is never ``verified``, and no staging object deleted, on the word of a job's report.

=============  ================================================================================
``settings``   which engine a transfer uses (``--engine``, the bucket's default, ``auto``'s
               threshold) and the up-front checks of an explicit ``--engine batch``
``planner``    which pending rows the job copies (the local planner's own decisions, then the
               job's limits); the rest stay with the local engine, in the same pass
``manifest``   the job's rows streamed into a CSV manifest and uploaded (SSE-S3, its ETag kept)
``job``        CreateJob with a deterministic token, DescribeJob on the adaptive timer,
               UpdateJobStatus (confirm, cancel)
``ingest``     the completion report streamed back into the rows
``lifecycle``  one step per phase, each recorded before the next (crash-safe at any point)
``actions``    what a user does to a job: ``transfers confirm`` / ``transfers cancel``
``preview``    the cost estimate shown before a job is created
=============  ================================================================================

:func:`advance_batch` runs at the start of every copy pass of a transfer: it starts a job when
the engine choice says so, and moves the current job on as far as it can without waiting. The
rows the job holds (``copying`` with the job's attempt) are invisible to the local engine
(``services.copy.rows``), and the transfer stays COPYING while any are held.

Job status -> transfer: Suspended keeps the transfer COPYING and asks for ``transfers confirm``
(an event, and ``run``'s attention list); Failed fails the job's rows with its FailureReasons
(the transfer ends FAILED or PARTIAL; ``transfers retry`` gives them to a new job, attempt N+1);
Cancelled cancels the transfer. Failed tasks of a completed job are retried by the local engine.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from aws_copy_pt.core.batch_engine import (
    ACTIVE_PHASES,
    Engine,
    EngineDecision,
    JobFiles,
    Phase,
    role_account,
    target_key_prefix,
)
from aws_copy_pt.core.route import RouteChoice
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import BatchJob, Transfer
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.arguments import settings_for
from aws_copy_pt.s3.batch_files import bucket_versioned
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.s3.copier import CopyRoute
from aws_copy_pt.s3.errors import S3AccessDenied
from aws_copy_pt.services.copy.batch import store
from aws_copy_pt.services.copy.batch.job import PollBounds, token_for
from aws_copy_pt.services.copy.batch.lifecycle import Context, step
from aws_copy_pt.services.copy.batch.settings import BatchOptions, decide, home_id
from aws_copy_pt.services.copy.report import CopyReport
from aws_copy_pt.services.copy.route import build_route
from aws_copy_pt.services.events import record_event

__all__ = ["BatchPass", "PollBounds", "advance_batch", "waiting_report"]

log = logging.getLogger(__name__)
DECIDED = "engine_decided"  # transfers.options: the engine the first copy pass chose


@dataclass
class BatchPass:
    """Where a transfer's batch job stands after :func:`advance_batch`."""

    held: int = 0  # rows a job holds: the transfer stays COPYING while there are any
    job_id: str | None = None
    status: str | None = None  # S3's job status, as last seen
    phase: str | None = None
    error: AwsCopyPtError | None = None  # the step that failed; retried on the next pass
    transfer_state: str = TransferState.COPYING.value
    next_poll_at: datetime | None = None
    local_work: bool = True  # rows the local engine has to copy or verify
    objects_total: int = 0


def advance_batch(
    db: Database,
    factory: ClientFactory,
    transfer_id: int,
    *,
    stop: threading.Event | None = None,
    bounds: PollBounds | None = None,
) -> BatchPass:
    """Start or move on the transfer's batch job, as far as it goes without waiting."""
    stop = stop or threading.Event()
    row = _current_job(db, factory, transfer_id)
    result = BatchPass()
    if row is not None:
        ctx = Context(db, factory, row, transfer_id, stop, bounds or PollBounds())
        try:
            while not stop.is_set() and step(ctx):
                pass
        except AwsCopyPtError as exc:
            log.warning("transfer %s: batch job step failed: %s", transfer_id, exc)
            _remember_error(db, row, exc)
            result.error = exc
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        result.transfer_state = transfer.state
        result.held = store.held_by(session, transfer_id).objects
        result.local_work = store.local_work(session, transfer_id)
        result.objects_total = transfer.objects_total
        job = store.latest_job(session, transfer_id)
        if job is not None:
            result.job_id, result.status, result.phase = job.job_id, job.status, job.phase
            result.next_poll_at = job.next_poll_at
    return result


def waiting_report(batch: BatchPass, transfer_id: int) -> CopyReport:
    """The report of a pass that only followed the job (the local engine had nothing to do)."""
    return CopyReport(
        transfer_id,
        batch.transfer_state,
        objects_total=batch.objects_total,
        remaining=batch.held,
        held_by_batch=batch.held,
        batch_job_id=batch.job_id,
        batch_status=batch.status,
    )


def _current_job(db: Database, factory: ClientFactory, transfer_id: int) -> int | None:
    """The row id of the job to move on: the active one, or a new attempt if one is due."""
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        if transfer is None or transfer.state != TransferState.COPYING:
            return None
        previous = store.latest_job(session, transfer_id)
        if previous is not None and previous.phase in ACTIVE_PHASES:
            return previous.id
        if not _new_attempt_due(session, transfer, previous):
            return None
        attempt = 1 if previous is None else previous.attempt + 1
        route = build_route(factory, transfer.source_bucket, transfer.dest_bucket)
    versioned, pinned = _staging_versioned(route)
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        return _create_attempt(session, transfer, attempt, versioned, pinned).id


def _staging_versioned(route: CopyRoute) -> tuple[bool, str]:
    """Whether the manifest pins version ids, and how the event says it."""
    try:
        versioned = bucket_versioned(
            route.source_client,
            route.source_bucket,
            settings_for("GetBucketVersioning", route.source_args),
        )
    except S3AccessDenied:
        return False, (
            f"could not ask whether {route.source_bucket} is versioned (s3:GetBucketVersioning "
            "denied): the job copies the current versions"
        )
    if versioned:
        return True, "version ids pinned"
    return False, "staging is not versioned: the job copies the current versions"


def _new_attempt_due(session: Session, transfer: Transfer, previous: BatchJob | None) -> bool:
    """A first job when the engine choice says batch; another after a failed job whose rows
    `transfers retry` put back in line."""
    if previous is not None:
        return previous.phase == Phase.FAILED and bool(
            store.retried_rows(session, transfer.id, previous.attempt)
        )
    options = dict(transfer.options or {})
    if DECIDED in options:
        return bool(options[DECIDED] == Engine.BATCH)
    pending = store.pending_rows(session, transfer.id)
    decision = decide(
        BatchOptions.of(options),
        transfer.source_bucket,
        transfer.dest_bucket,
        (transfer.source_prefix, transfer.dest_prefix),
        pending,
    )
    if options.get("route") == RouteChoice.STREAM:  # every byte through this machine: no job
        decision = EngineDecision(Engine.LOCAL, "--route stream: the local engine streams")
    transfer.options = {**options, DECIDED: decision.engine.value}
    record_event(
        session, transfer, store.EVENT_KIND, f"copy engine {decision.engine}: {decision.why}"
    )
    return decision.engine is Engine.BATCH


def _create_attempt(
    session: Session, transfer: Transfer, attempt: int, versioned: bool, pinned: str
) -> BatchJob:
    dest = transfer.dest_bucket
    options = BatchOptions.of(dict(transfer.options or {}))
    home = home_id(session)
    files = JobFiles.of(home, transfer.id, attempt)
    target = target_key_prefix(transfer.source_prefix, transfer.dest_prefix)
    assert target is not None and dest.batch_role_arn is not None, "decide() checked both"
    job = BatchJob(
        transfer_id=transfer.id,
        attempt=attempt,
        phase=Phase.PLANNING.value,
        account_id=role_account(dest.batch_role_arn),
        region=str(dest.region),
        role_arn=dest.batch_role_arn,
        client_request_token=token_for(home, transfer.id, attempt),
        confirmation_required=options.confirm,
        report_scope="FailedTasksOnly" if options.failed_tasks_only else "AllTasks",
        target_key_prefix=target,
        versioned=versioned,
        manifest_bucket=dest.name,
        manifest_key=files.manifest_key,
        report_bucket=dest.name,
        report_prefix=files.report_prefix,
        tasks_succeeded=0,
        tasks_failed=0,
        objects=0,
        bytes=0,
    )
    session.add(job)
    session.flush()
    record_event(
        session, transfer, store.EVENT_KIND, f"batch job attempt {attempt}: planning ({pinned})"
    )
    return job


def _remember_error(db: Database, row: int, error: AwsCopyPtError) -> None:
    with db.session() as session:
        job = session.get(BatchJob, row)
        if job is None or job.last_error == error.message:
            return
        job.last_error = error.message
        transfer = session.get(Transfer, job.transfer_id)
        record_event(
            session,
            transfer,
            store.EVENT_KIND,
            f"batch job step failed (retried next pass): {error.message}",
        )
