"""Transfers as users see them: summaries and details to render, and what a user can do to one:
retry failures, copy partial, cancel.

``retry`` puts failed objects back to pending and the transfer back to COPYING. A transfer whose
Globus task FAILED has no objects: ``retry --copy-partial`` lists the files that did arrive
(FAILED -> LISTING) and copies those. A transfer whose listing failed (the file list was no
longer available) is listed again by a plain ``retry``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aws_copy_pt.core.route import RouteChoice, decide_route
from aws_copy_pt.core.states import (
    RETRY_VALUES,
    GlobusStatus,
    ObjectState,
    TransferState,
    check_object_transition,
)
from aws_copy_pt.db.models import Event, ObjectCopy, Transfer
from aws_copy_pt.errors import AwsCopyPtError, NotFoundError, UsageError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.gateway import TransferClient
from aws_copy_pt.services.copy.batch.actions import BatchJobView, job_views
from aws_copy_pt.services.copy.report import (
    COPY_PHASE_STATES,
    CopyPhase,
    copy_phases,
    stored_copy_phase,
)
from aws_copy_pt.services.events import locked_transfer, move_transfer
from aws_copy_pt.services.watch.poll import RUNNING_GLOBUS_STATUSES, record_task_fields
from aws_copy_pt.services.watch.skipped import SkippedByGlobus, skipped_count, skipped_files


@dataclass(frozen=True)
class TransferSummary:
    id: int
    label: str | None
    kind: str
    globus_task_id: str | None
    state: str
    globus_status: str | None
    nice_status: str | None
    faults: int
    effective_bytes_per_second: int | None
    files_transferred: int
    files_expected: int | None
    bytes_transferred: int
    objects_total: int
    bytes_total: int
    destination: str
    created_at: datetime
    updated_at: datetime
    last_error: str | None
    # The server-side copy of the latest copy phase: bytes verified, over the time from its
    # first object copy to its last verification (not the transfer's age, nor the Globus wait).
    copy_bytes: int = 0
    copy_seconds: float | None = None
    copy_bytes_per_second: int | None = None
    route: str | None = None  # server-side | stream (core.route); None: not decided yet


def summarize(transfer: Transfer, phase: CopyPhase | None = None) -> TransferSummary:
    prefix = transfer.dest_prefix.strip("/")
    destination = transfer.dest_bucket.name + (f"/{prefix}" if prefix else "")
    return TransferSummary(
        id=transfer.id,
        label=transfer.label,
        kind=transfer.kind,
        globus_task_id=transfer.globus_task_id,
        state=transfer.state,
        globus_status=transfer.globus_status,
        nice_status=transfer.nice_status,
        faults=transfer.faults,
        effective_bytes_per_second=transfer.effective_bytes_per_second,
        files_transferred=transfer.files_transferred,
        files_expected=transfer.files_expected,
        bytes_transferred=transfer.bytes_transferred,
        objects_total=transfer.objects_total,
        bytes_total=transfer.bytes_total,
        destination=destination,
        created_at=transfer.created_at,
        updated_at=transfer.updated_at,
        last_error=transfer.last_error,
        copy_bytes=phase.bytes if phase else 0,
        copy_seconds=phase.seconds if phase else None,
        copy_bytes_per_second=phase.bytes_per_second if phase else None,
        route=transfer.route,
    )


def list_transfers(session: Session, *, include_finished: bool = True) -> list[TransferSummary]:
    """All transfers, newest first."""
    query = select(Transfer).order_by(Transfer.id.desc())
    if not include_finished:
        query = query.where(Transfer.finished_at.is_(None))
    transfers = list(session.scalars(query))
    return [summarize(t, phase) for t, phase in _with_copy_phases(session, transfers)]


def _with_copy_phases(
    session: Session, transfers: list[Transfer]
) -> list[tuple[Transfer, CopyPhase | None]]:
    """Each transfer with its latest copy phase: measured now while it is being copied, else
    as stored when its last copy run ended (measuring every transfer costs too much)."""
    copying = [t.id for t in transfers if t.state in COPY_PHASE_STATES]
    live = copy_phases(session, copying)
    return [(t, live.get(t.id) if t.id in live else stored_copy_phase(t)) for t in transfers]


@dataclass(frozen=True)
class EventView:
    at: datetime
    kind: str
    from_state: str | None
    to_state: str | None
    message: str


@dataclass(frozen=True)
class FailedObject:
    source_key: str
    dest_key: str | None
    globus_destination_path: str | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class StagingLeft:
    """A staging object that was owed a delete and is still there, and why."""

    source_key: str
    why: str | None


@dataclass(frozen=True)
class TransferDetail:
    summary: TransferSummary
    source: str
    collection_id: str | None
    collection_name: str | None
    options: dict[str, Any]
    nice_status: str | None
    faults: int
    effective_bytes_per_second: int | None
    globus_completed_at: datetime | None
    last_polled_at: datetime | None
    object_counts: dict[str, int]
    failures_total: int
    failures: list[FailedObject]  # the first ``failure_limit`` of them
    staging_left_total: int  # staging objects owed a delete that is not done yet
    staging_left: list[StagingLeft]  # the first ``failure_limit`` of them
    events: list[EventView]  # oldest first
    globus_skipped_total: int = 0  # files the Globus task left out (skip_source_errors)
    globus_skipped: list[SkippedByGlobus] = field(default_factory=list)  # the first ones
    batch_jobs: list[BatchJobView] = field(default_factory=list)  # S3 Batch Operations jobs
    route_reason: str | None = None  # why the route
    verified_by: dict[str, int] = field(default_factory=dict)  # proof -> verified objects


@dataclass(frozen=True)
class RetryResult:
    transfer_id: int
    from_state: str
    to_state: str
    objects_reset: int


def get_transfer(session: Session, transfer_id: int) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFoundError(
            f"there is no transfer {transfer_id}",
            hint="`aws-copy-pt status` lists transfers and their ids",
        )
    return transfer


def transfer_detail(
    session: Session, transfer_id: int, *, failure_limit: int = 50
) -> TransferDetail:
    transfer = get_transfer(session, transfer_id)
    counts = dict(
        session.execute(
            select(ObjectCopy.state, func.count(ObjectCopy.id))
            .where(ObjectCopy.transfer_id == transfer_id)
            .group_by(ObjectCopy.state)
        ).all()
    )
    failed = select(ObjectCopy).where(
        ObjectCopy.transfer_id == transfer_id, ObjectCopy.state == ObjectState.FAILED.value
    )
    events = session.scalars(
        select(Event).where(Event.transfer_id == transfer_id).order_by(Event.id)
    ).all()
    owed = select(ObjectCopy).where(
        ObjectCopy.transfer_id == transfer_id, ObjectCopy.delete_owed.is_(True)
    )
    owed_total = session.scalar(select(func.count()).select_from(owed.subquery()))
    prefix = transfer.source_prefix
    return TransferDetail(
        summary=summarize(transfer, _with_copy_phases(session, [transfer])[0][1]),
        source=f"s3://{transfer.source_bucket.name}/{prefix}",
        collection_id=transfer.collection.collection_id if transfer.collection else None,
        collection_name=transfer.collection.display_name if transfer.collection else None,
        options=dict(transfer.options or {}),
        nice_status=transfer.nice_status,
        faults=transfer.faults,
        effective_bytes_per_second=transfer.effective_bytes_per_second,
        globus_completed_at=transfer.globus_completed_at,
        last_polled_at=transfer.last_polled_at,
        object_counts={str(k): int(v) for k, v in counts.items()},
        failures_total=int(counts.get(ObjectState.FAILED.value, 0)),
        failures=[
            FailedObject(
                o.source_key, o.dest_key, o.globus_destination_path, o.attempts, o.last_error
            )
            for o in session.scalars(failed.order_by(ObjectCopy.id).limit(failure_limit))
        ],
        staging_left_total=int(owed_total or 0),
        staging_left=[
            StagingLeft(o.source_key, o.staging_note)
            for o in session.scalars(owed.order_by(ObjectCopy.id).limit(failure_limit))
        ],
        events=[EventView(e.at, e.kind, e.from_state, e.to_state, e.message) for e in events],
        globus_skipped_total=skipped_count(session, transfer_id),
        globus_skipped=skipped_files(session, transfer_id, limit=failure_limit),
        batch_jobs=job_views(session, transfer_id),
        route_reason=_route_reason(transfer),
        verified_by=_proofs(session, transfer_id),
    )


def _route_reason(transfer: Transfer) -> str | None:
    """``stream: lab (https://storage.googleapis.com) and archive (AWS) are on different S3
    services``; None before the route is decided."""
    if transfer.route is None:
        return None
    try:
        decision = decide_route(
            transfer.source_bucket.endpoint_url,
            transfer.dest_bucket.endpoint_url,
            (transfer.options or {}).get("route") or RouteChoice.AUTO,
            names=(transfer.source_bucket.name, transfer.dest_bucket.name),
        )
    except UsageError:
        return transfer.route
    if decision.kind != transfer.route:  # a bucket's endpoint changed since: no reason to give
        return transfer.route
    return f"{decision.kind}: {decision.reason}"


def _proofs(session: Session, transfer_id: int) -> dict[str, int]:
    """How many verified objects each check proved ("crc32c from source": 120...)."""
    rows = session.execute(
        select(ObjectCopy.verified_by, func.count(ObjectCopy.id))
        .where(
            ObjectCopy.transfer_id == transfer_id,
            ObjectCopy.state == ObjectState.VERIFIED.value,
            ObjectCopy.verified_by.is_not(None),
        )
        .group_by(ObjectCopy.verified_by)
    ).all()
    return {str(proof): int(count) for proof, count in rows}


def retry_transfer(
    session: Session, transfer_id: int, *, copy_partial: bool = False
) -> RetryResult:
    """Retry what failed: failed objects, a failed listing, or (``copy_partial``) a failed task."""
    transfer = get_transfer(session, transfer_id)
    before = transfer.state
    if copy_partial:
        _check_copy_partial(transfer)
        transfer.listing_marker = None
        move_transfer(
            session, transfer, TransferState.LISTING, "retry --copy-partial: list what arrived"
        )
        return RetryResult(transfer.id, before, transfer.state, 0)
    if before not in (TransferState.PARTIAL, TransferState.FAILED):
        raise UsageError(
            f"transfer {transfer_id} is {before}: only PARTIAL or FAILED transfers are retried"
        )
    retryable = session.scalars(
        select(ObjectCopy).where(
            ObjectCopy.transfer_id == transfer_id,
            ObjectCopy.state == ObjectState.FAILED.value,
            ObjectCopy.dest_key.is_not(None),  # unmappable paths would only fail again
        )
    ).all()
    owed = session.scalar(
        select(func.count(ObjectCopy.id)).where(
            ObjectCopy.transfer_id == transfer_id, ObjectCopy.delete_owed.is_(True)
        )
    )
    if retryable or owed:
        for obj in retryable:
            check_object_transition(obj.state, ObjectState.PENDING)
            for name, value in RETRY_VALUES.items():
                setattr(obj, name, value)  # planned afresh: the source may have changed
        transfer.last_error = None
        why = f"retry: {len(retryable)} object(s) again"
        if owed:
            why += f", {owed} staging delete(s) again"
        move_transfer(session, transfer, TransferState.COPYING, why)
        return RetryResult(transfer.id, before, transfer.state, len(retryable))
    return _retry_without_objects(session, transfer)


def _retry_without_objects(session: Session, transfer: Transfer) -> RetryResult:
    left_out = skipped_count(session, transfer.id)
    if left_out:
        raise UsageError(
            f"transfer {transfer.id} has no failed object: it is PARTIAL because Globus skipped "
            f"{left_out} file(s), which never reached staging",
            hint=f"`aws-copy-pt transfers show {transfer.id}` lists them; send them again with "
            "Globus (e.g. `aws-copy-pt submit`)",
        )
    recorded = session.scalar(
        select(func.count(ObjectCopy.id)).where(ObjectCopy.transfer_id == transfer.id)
    )
    if transfer.kind == "globus" and not recorded:
        if transfer.globus_status == GlobusStatus.FAILED:
            raise UsageError(
                f"the Globus task of transfer {transfer.id} failed, so nothing was listed",
                hint=f"`aws-copy-pt transfers retry {transfer.id} --copy-partial` copies the "
                "files that did arrive",
            )
        before = transfer.state
        transfer.listing_marker = None
        move_transfer(session, transfer, TransferState.LISTING, "retry: list the task again")
        return RetryResult(transfer.id, before, transfer.state, 0)
    raise UsageError(
        f"transfer {transfer.id} has no failed object that a retry could fix",
        hint=f"`aws-copy-pt transfers show {transfer.id}` lists the failures and their reasons",
    )


def _check_copy_partial(transfer: Transfer) -> None:
    if transfer.kind != "globus" or transfer.globus_status != GlobusStatus.FAILED:
        raise UsageError(
            f"--copy-partial is for transfers whose Globus task FAILED; transfer "
            f"{transfer.id} is {transfer.state} (Globus status {transfer.globus_status})",
            hint=f"use `aws-copy-pt transfers retry {transfer.id}` without --copy-partial",
        )
    if transfer.state != TransferState.FAILED:
        raise UsageError(f"transfer {transfer.id} is {transfer.state}, not FAILED")


def cancel_transfer(
    session: Session,
    transfer_id: int,
    *,
    transfer_client: TransferClient | None = None,
) -> TransferSummary:
    """Stop a transfer for good; with a client, also cancel its still-running Globus task and
    record the task's new status (if Globus cannot be asked right now, the next poll does).

    A pass copying it right now sees the cancel and stops: no new object, no more deletes."""
    get_transfer(session, transfer_id)
    transfer = locked_transfer(session, transfer_id)  # a pass cannot finish it meanwhile
    if transfer.state in (TransferState.DONE, TransferState.CANCELLED):
        raise UsageError(f"transfer {transfer_id} is already {transfer.state}")
    reason = "cancelled by the user"
    task_id = transfer.globus_task_id
    running = transfer.globus_status in RUNNING_GLOBUS_STATUSES
    if transfer_client is not None and task_id and running:
        gateway.cancel_task(transfer_client, task_id)
        reason += f"; Globus task {task_id} cancelled too"
        _refresh_task_status(transfer, transfer_client, task_id)
    move_transfer(session, transfer, TransferState.CANCELLED, reason)
    return summarize(transfer)


def _refresh_task_status(transfer: Transfer, client: TransferClient, task_id: str) -> None:
    try:
        task = gateway.get_task(client, task_id)
    except AwsCopyPtError:  # out of reach, or the login lapsed just now
        return  # the task stays ACTIVE here until the next poll records its end
    record_task_fields(transfer, task, datetime.now(UTC))
