"""Polling watched Globus tasks: one ``task_list`` call covers up to 1000 of them.

What each Globus status does to a transfer (the transfer states are in ``core.states``):

========= ==================================================================================
ACTIVE    WAITING (from GLOBUS_INACTIVE or NEEDS_LOGIN too); new faults are recorded as
          events, since a task with faults can stay ACTIVE until its deadline
INACTIVE  GLOBUS_INACTIVE, with an ``alert`` event and ``last_error`` naming the task's
          collections: someone must renew their credentials at Globus; polling continues and it
          returns to WAITING by itself
SUCCEEDED LISTING: the delivered files are listed next (``services.watch.listing``)
FAILED    FAILED: nothing is copied unless ``transfers retry ID --copy-partial``
========= ==================================================================================

Transient failures (5xx, 429, timeouts, connection errors) never change a state: they are
counted and the next pass polls again. A login failure (no tokens, expired, refresh answered
``invalid_grant``) moves every polled transfer to NEEDS_LOGIN, then raises ``NeedsLoginError``.
A transfer cancelled while its Globus task still ran keeps its Globus status up to date (no
state change) until the task ends, so `status` never shows a cancelled task as ACTIVE for good.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aws_copy_pt.core.messages import reactivation_hint
from aws_copy_pt.core.states import POLLED_TRANSFER_STATES, GlobusStatus, TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Transfer
from aws_copy_pt.errors import NeedsLoginError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.errors import Failure, GlobusCallError, classify, describe, login_error
from aws_copy_pt.globus.gateway import TransferClient
from aws_copy_pt.services.events import move_transfer, record_event

log = logging.getLogger(__name__)

TASK_LIST_BATCH = 1000  # the most task_list returns in one page
# A server refusing a long task_id filter (too many ids, URI too long): split and ask again.
_SPLIT_STATUSES = frozenset({400, 413, 414})
EVENT_FAULT = "globus_fault"
EVENT_ALERT = "alert"
EVENT_MISSING = "globus_missing"
RUNNING_GLOBUS_STATUSES = (GlobusStatus.ACTIVE, GlobusStatus.INACTIVE)
_STATUS_TARGETS: dict[str, TransferState] = {
    GlobusStatus.ACTIVE: TransferState.WAITING,
    GlobusStatus.INACTIVE: TransferState.GLOBUS_INACTIVE,
    GlobusStatus.SUCCEEDED: TransferState.LISTING,
    GlobusStatus.FAILED: TransferState.FAILED,
}


@dataclass(frozen=True)
class PolledTask:
    """What one poll saw of a task: its transfer's state after the poll, Globus's figures."""

    transfer_id: int
    task_id: str
    state: str  # the transfer's state after this poll
    globus_status: str | None
    nice_status: str | None
    faults: int
    files_transferred: int
    files_expected: int | None
    bytes_transferred: int
    bytes_per_second: int | None
    bytes_expected: int | None  # Globus reports no byte total while a task runs: mostly None


@dataclass
class PollReport:
    polled: int = 0  # tasks asked about
    calls: int = 0  # task_list calls made
    progress: list[PolledTask] = field(default_factory=list)
    moves: list[tuple[int, str, str]] = field(default_factory=list)  # (transfer, from, to)
    transient_errors: int = 0  # calls that failed transiently (retried next pass)
    errors: list[str] = field(default_factory=list)  # other failures, states unchanged
    missing: list[str] = field(default_factory=list)  # task ids Globus did not list

    @property
    def ready_to_list(self) -> list[int]:
        return [p.transfer_id for p in self.progress if p.state == TransferState.LISTING]

    @property
    def retry_soon(self) -> bool:
        """Something failed transiently: poll again soon rather than after a long backoff."""
        return self.transient_errors > 0 or bool(self.errors)


@dataclass(frozen=True)
class _Watched:
    transfer_id: int
    task_id: str
    faults: int
    cancelled: bool = False  # only its Globus status is recorded


def poll_transfers(
    db: Database,
    transfer_client: TransferClient,
    *,
    now: datetime | None = None,
    batch_size: int = TASK_LIST_BATCH,
) -> PollReport:
    """Poll every transfer in WAITING / GLOBUS_INACTIVE / NEEDS_LOGIN and record what changed."""
    now = now or datetime.now(UTC)
    watched = _load_watched(db)
    report = PollReport(polled=len(watched))
    for start in range(0, len(watched), batch_size):
        chunk = watched[start : start + batch_size]
        try:
            documents = _fetch(transfer_client, [w.task_id for w in chunk], report)
            fault_details = _fault_details(transfer_client, chunk, documents)
        except (GlobusCallError, NeedsLoginError) as exc:
            _handle_failure(db, exc, chunk, report)
            continue
        _record_chunk(db, chunk, documents, fault_details, now, report)
    return report


def _record_chunk(
    db: Database,
    chunk: Sequence[_Watched],
    documents: Mapping[str, Mapping[str, Any]],
    fault_details: Mapping[str, str],
    now: datetime,
    report: PollReport,
) -> None:
    """Apply one chunk's task documents in one transaction."""
    with db.session() as session:
        query = select(Transfer).where(Transfer.id.in_([w.transfer_id for w in chunk]))
        current = {t.id: t for t in session.scalars(query)}
        for item in chunk:
            transfer = current.get(item.transfer_id)
            document = documents.get(item.task_id)
            if transfer is not None and transfer.state == TransferState.CANCELLED and document:
                record_task_fields(transfer, document, now)
                continue
            if transfer is None or transfer.state not in POLLED_TRANSFER_STATES:
                continue  # cancelled while Globus was being asked
            if document is None:
                _note_missing(session, transfer, report)
                continue
            before = transfer.state
            apply_task(session, transfer, document, now, fault_details.get(item.task_id))
            if transfer.state != before:
                report.moves.append((transfer.id, before, transfer.state))
            report.progress.append(polled_task(transfer))


def _load_watched(db: Database) -> list[_Watched]:
    cancelled_running = (Transfer.state == TransferState.CANCELLED) & Transfer.globus_status.in_(
        RUNNING_GLOBUS_STATUSES
    )
    with db.session() as session:
        rows = session.execute(
            select(Transfer.id, Transfer.globus_task_id, Transfer.faults, Transfer.state)
            .where(
                Transfer.state.in_([s.value for s in POLLED_TRANSFER_STATES]) | cancelled_running
            )
            .where(Transfer.globus_task_id.is_not(None))
            .order_by(Transfer.id)
        ).all()
    return [
        _Watched(row[0], str(row[1]), row[2], row[3] == TransferState.CANCELLED) for row in rows
    ]


def _fetch(
    client: TransferClient, task_ids: Sequence[str], report: PollReport
) -> dict[str, dict[str, Any]]:
    """Task documents by id, from as few task_list calls as the server accepts."""
    report.calls += 1
    try:
        documents = gateway.tasks_by_id(client, task_ids)
    except GlobusCallError as exc:
        if exc.http_status not in _SPLIT_STATUSES:
            raise
        if len(task_ids) == 1:
            report.errors.append(f"task {task_ids[0]}: {describe(exc)}")
            return {}
        half = len(task_ids) // 2
        return {
            **_fetch(client, task_ids[:half], report),
            **_fetch(client, task_ids[half:], report),
        }
    return {str(doc["task_id"]): doc for doc in documents}


def _fault_details(
    client: TransferClient,
    chunk: Iterable[_Watched],
    documents: Mapping[str, Mapping[str, Any]],
) -> dict[str, str]:
    """Descriptions of the newest error events of tasks whose fault count went up."""
    details = {}
    for item in chunk:
        document = None if item.cancelled else documents.get(item.task_id)
        new = int(document.get("faults") or 0) - item.faults if document else 0
        detail = fault_detail(client, item.task_id, new) if new > 0 else None
        if detail:
            details[item.task_id] = detail
    return details


def fault_detail(client: TransferClient, task_id: str, count: int) -> str | None:
    """The task's ``count`` newest error events (at most 10), or None if they cannot be read."""
    try:
        events = gateway.error_events(client, task_id, count)
    except (GlobusCallError, NeedsLoginError) as exc:
        if classify(exc) is Failure.LOGIN:
            raise
        return None  # the fault count alone is still recorded
    return "; ".join(f"{e.get('code')}: {e.get('description')}" for e in events) or None


def _handle_failure(
    db: Database, exc: BaseException, chunk: Sequence[_Watched], report: PollReport
) -> None:
    kind = classify(exc)
    if kind in (Failure.LOGIN, Failure.CONSENT):
        error = login_error(exc)
        mark_needs_login(db, error.message)
        raise error from exc
    message = describe(exc)
    if kind is Failure.TRANSIENT:
        report.transient_errors += 1
    else:
        report.errors.append(message)
    log.warning("polling %d Globus task(s) failed, retried next pass: %s", len(chunk), message)
    with db.session() as session:
        session.execute(
            update(Transfer)
            .where(Transfer.id.in_([w.transfer_id for w in chunk]))
            .values(
                poll_failures=Transfer.poll_failures + 1,
                last_error=f"last poll failed: {message}",
            )
        )


def _note_missing(session: Session, transfer: Transfer, report: PollReport) -> None:
    report.missing.append(str(transfer.globus_task_id))
    message = (
        f"Globus did not list task {transfer.globus_task_id}: it belongs to another identity "
        "than the one logged in, or Globus deleted its history"
    )
    if transfer.last_error != message:
        record_event(session, transfer, EVENT_MISSING, message)
        transfer.last_error = message
    transfer.poll_failures += 1


def mark_needs_login(db: Database, reason: str, *, also: Iterable[int] = ()) -> list[int]:
    """Move every polled transfer (and the ``also`` ones) to NEEDS_LOGIN; return their ids."""
    moved = []
    with db.session() as session:
        query = select(Transfer).where(
            Transfer.state.in_([TransferState.WAITING, TransferState.GLOBUS_INACTIVE])
        )
        extra = select(Transfer).where(Transfer.id.in_(list(also)))
        found = {t.id: t for t in [*session.scalars(query), *session.scalars(extra)]}
        for transfer in sorted(found.values(), key=lambda t: t.id):
            if transfer.state == TransferState.NEEDS_LOGIN:
                continue
            move_transfer(session, transfer, TransferState.NEEDS_LOGIN, reason)
            transfer.last_error = reason
            moved.append(transfer.id)
    return moved


def apply_task(
    session: Session,
    transfer: Transfer,
    task: Mapping[str, Any],
    now: datetime,
    fault_detail: str | None = None,
) -> None:
    """Record a Globus task document on its transfer and move the transfer accordingly."""
    previous_faults = transfer.faults
    record_task_fields(transfer, task, now)
    status = str(transfer.globus_status)
    transfer.poll_failures = 0
    transfer.last_error = None
    if transfer.faults > previous_faults:
        record_event(
            session, transfer, EVENT_FAULT, _fault_message(task, previous_faults, fault_detail)
        )
    target = _STATUS_TARGETS.get(status)
    if target is None:
        transfer.last_error = f"Globus reported an unknown task status {status!r}"
        return
    reason = _reason(transfer, task, target)
    if target == TransferState.GLOBUS_INACTIVE:
        transfer.last_error = reason  # the next step, for as long as the task stays suspended
    if target == transfer.state:
        return
    move_transfer(session, transfer, target, reason)
    if target == TransferState.GLOBUS_INACTIVE:
        record_event(session, transfer, EVENT_ALERT, reason)
    if target == TransferState.FAILED:
        transfer.last_error = reason


def record_task_fields(transfer: Transfer, task: Mapping[str, Any], now: datetime) -> None:
    """Store what a Globus task document says about the task's status and progress."""
    transfer.globus_status = str(task.get("status"))
    transfer.nice_status = _nice_status(task)
    transfer.faults = int(task.get("faults") or 0)
    transfer.files_expected = _int_or_none(task.get("files"))
    transfer.files_transferred = int(task.get("files_transferred") or 0)
    transfer.bytes_transferred = int(task.get("bytes_transferred") or 0)
    transfer.effective_bytes_per_second = _int_or_none(task.get("effective_bytes_per_second"))
    transfer.globus_completed_at = gateway.parse_time(task.get("completion_time"))
    transfer.last_polled_at = now


def polled_task(transfer: Transfer) -> PolledTask:
    return PolledTask(
        transfer_id=transfer.id,
        task_id=str(transfer.globus_task_id),
        state=transfer.state,
        globus_status=transfer.globus_status,
        nice_status=transfer.nice_status,
        faults=transfer.faults,
        files_transferred=transfer.files_transferred,
        files_expected=transfer.files_expected,
        bytes_transferred=transfer.bytes_transferred,
        bytes_per_second=transfer.effective_bytes_per_second,
        bytes_expected=transfer.bytes_transferred
        if transfer.globus_status == GlobusStatus.SUCCEEDED
        else None,
    )


def _reason(transfer: Transfer, task: Mapping[str, Any], target: TransferState) -> str:
    task_id = transfer.globus_task_id
    if target == TransferState.LISTING:
        return (
            f"Globus task succeeded: {task.get('files_transferred', 0)} file(s), "
            f"{task.get('bytes_transferred', 0)} bytes"
        )
    if target == TransferState.FAILED:
        error = task.get("fatal_error") or {}
        reason = (
            f"Globus task failed: {error.get('code', 'FAILED')}: {error.get('description', '')}"
        )
        arrived = int(task.get("files_transferred") or 0)
        if arrived:
            reason += (
                f"; {arrived} file(s) did arrive: `aws-copy-pt transfers retry {transfer.id} "
                "--copy-partial` copies them"
            )
        return reason
    if target == TransferState.GLOBUS_INACTIVE:
        detail = task.get("nice_status_short_description") or "credentials expired"
        hint = reactivation_hint(
            str(task_id),
            _collection_name(task, "source"),
            _collection_name(task, "destination"),
        )
        return f"Globus suspended task {task_id} (INACTIVE: {detail}): {hint}"
    if transfer.state == TransferState.NEEDS_LOGIN:
        return "the Globus login works again; the task is ACTIVE"
    return "the Globus task is ACTIVE again"


def _collection_name(task: Mapping[str, Any], side: str) -> str | None:
    name = task.get(f"{side}_endpoint_display_name") or task.get(f"{side}_endpoint_id")
    return None if name is None else str(name)


def _fault_message(task: Mapping[str, Any], previous: int, detail: str | None) -> str:
    now_faults = int(task.get("faults") or 0)
    text = f"Globus reports {now_faults} fault(s) (was {previous})"
    if task.get("status") in RUNNING_GLOBUS_STATUSES:
        text += "; the task keeps retrying until its deadline"
    nice = task.get("nice_status_short_description") or task.get("nice_status")
    if detail:
        return f"{text}: {detail}"
    return f"{text}: {nice}" if nice and nice != "OK" else text


def _nice_status(task: Mapping[str, Any]) -> str | None:
    value = task.get("nice_status")
    return None if value is None else str(value)[:100]


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
