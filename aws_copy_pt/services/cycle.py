"""One pass of the unattended workflow: poll Globus, list what arrived, copy, notify.

``run --once`` calls :func:`run_cycle` once; the daemon runs the same steps as separate
scheduler jobs (see ``daemon/scheduler.py``). Everything is rebuilt from the database, which is
the only source of truth: a pass can be interrupted anywhere and the next one picks up.

Notifications are derived from the append-only ``events`` table: every state event into a
notified state after a stored watermark is turned into outbox rows, so a crash between a state
change and its notification loses nothing and sends nothing twice.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from aws_copy_pt.core.messages import NOTIFIABLE_STATES
from aws_copy_pt.core.poll_timing import MAX_DELAY, MIN_DELAY, TaskProgress, next_poll_delay
from aws_copy_pt.core.states import (
    ACTIVE_TRANSFER_STATES,
    POLLED_TRANSFER_STATES,
    TransferState,
)
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Event, Setting, Transfer
from aws_copy_pt.errors import AwsCopyPtError, ExitCode, NeedsLoginError

if TYPE_CHECKING:
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.copy.batch import PollBounds

log = logging.getLogger(__name__)

NOTIFIED_STATES = NOTIFIABLE_STATES
_WATERMARK_KEY = "notify.last_event_id"


@dataclass
class Workers:
    """What a pass needs from the outside world, injected so tests can point it anywhere."""

    transfer_client: Callable[[], Any]  # returns a globus_sdk.TransferClient; may raise
    s3: ClientFactory
    concurrency: int | None = None
    progress: Callable[[Any], None] | None = None
    min_poll_seconds: float = MIN_DELAY
    max_poll_seconds: float = MAX_DELAY


@dataclass(frozen=True)
class Attention:
    """A transfer a person has to look at, and the command that shows why."""

    transfer_id: int
    state: str
    label: str | None
    last_error: str | None
    step: str | None = None  # the command, when the state alone does not say

    @property
    def next_step(self) -> str:
        if self.step is not None:
            return self.step
        if self.state == TransferState.NEEDS_LOGIN:
            return "aws-copy-pt login"
        return f"aws-copy-pt transfers show {self.transfer_id}"


@dataclass
class CycleReport:
    needs_login: bool = False
    errors: list[str] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    attention: list[Attention] = field(default_factory=list)

    @property
    def active(self) -> int:
        return sum(n for s, n in self.states.items() if s in ACTIVE_TRANSFER_STATES)

    def exit_code(self) -> ExitCode:
        """all done / work remains / some failed / needs login, for cron and scrontab."""
        if self.needs_login:
            return ExitCode.NEEDS_LOGIN
        if self.states[TransferState.PARTIAL] or self.states[TransferState.FAILED] or self.errors:
            return ExitCode.PARTIAL
        if self.active:
            return ExitCode.WORK_REMAINS
        return ExitCode.OK


def transfer_ids_in(
    db: Database, states: frozenset[TransferState], *, kind: str | None = None
) -> list[int]:
    with db.session() as session:
        query = select(Transfer.id).where(Transfer.state.in_([s.value for s in states]))
        if kind is not None:
            query = query.where(Transfer.kind == kind)
        return list(session.scalars(query.order_by(Transfer.id)))


def state_counts(db: Database) -> Counter[str]:
    with db.session() as session:
        return Counter(session.scalars(select(Transfer.state)))


def poll_and_list(db: Database, workers: Workers, report: CycleReport) -> None:
    """Poll every watched Globus task in one batch, then list the ones that finished."""
    # A direct copy left in LISTING was interrupted inside `aws-copy-pt copy`, which resumes it.
    if not transfer_ids_in(db, POLLED_TRANSFER_STATES | {TransferState.LISTING}, kind="globus"):
        return
    from aws_copy_pt.services.watch.listing import list_delivered
    from aws_copy_pt.services.watch.poll import poll_transfers

    try:
        client = workers.transfer_client()
        if transfer_ids_in(db, POLLED_TRANSFER_STATES, kind="globus"):
            before = _progress_snapshot(db)
            poll_transfers(db, client)
            schedule_next_polls(
                db, before, minimum=workers.min_poll_seconds, maximum=workers.max_poll_seconds
            )
        for transfer_id in transfer_ids_in(db, frozenset({TransferState.LISTING}), kind="globus"):
            list_delivered(db, client, transfer_id)
    except NeedsLoginError as exc:
        report.needs_login = True
        report.errors.append(exc.message)
    except AwsCopyPtError as exc:
        log.warning("Globus step failed, retried next pass: %s", exc)
        report.errors.append(exc.message)


def copy_ready(db: Database, workers: Workers, report: CycleReport, stop: threading.Event) -> None:
    """Copy every transfer whose objects are known, one transfer after another."""
    from aws_copy_pt.services.copy import copy_transfer

    for transfer_id in transfer_ids_in(db, frozenset({TransferState.COPYING})):
        if stop.is_set():
            return
        try:
            copy_transfer(
                db,
                workers.s3,
                transfer_id,
                concurrency=workers.concurrency,
                progress=workers.progress,
                stop=stop,
                poll_bounds=batch_poll_bounds(workers),
            )
        except AwsCopyPtError as exc:
            log.warning("transfer %s: copy step failed: %s", transfer_id, exc)
            report.errors.append(f"transfer {transfer_id}: {exc.message}")


def run_cycle(
    db: Database, workers: Workers, *, stop: threading.Event | None = None
) -> CycleReport:
    """One full pass: poll all, list what finished, copy what is ready, notify; then report."""
    stop = stop or threading.Event()
    report = CycleReport()
    poll_and_list(db, workers, report)
    if not stop.is_set():
        copy_ready(db, workers, report, stop)
    notify_outcomes(db)
    report.states = state_counts(db)
    report.attention = needing_attention(db)
    return report


ATTENTION_STATES = frozenset(
    {TransferState.PARTIAL, TransferState.FAILED, TransferState.NEEDS_LOGIN}
)


def needing_attention(db: Database) -> list[Attention]:
    """Transfers that wait for a person: failed objects, a failed task, a lapsed login, a
    batch job waiting for confirmation."""
    from aws_copy_pt.services.copy.batch.actions import awaiting_confirmation

    with db.session() as session:
        rows = session.execute(
            select(Transfer.id, Transfer.state, Transfer.label, Transfer.last_error)
            .where(Transfer.state.in_([s.value for s in ATTENTION_STATES]))
            .order_by(Transfer.id)
        )
        found = [Attention(r.id, r.state, r.label, r.last_error) for r in rows]
    for waiting in awaiting_confirmation(db):
        why = f"batch job {waiting.job_id} waits for your confirmation"
        step = f"aws-copy-pt transfers confirm {waiting.transfer_id}"
        found.append(Attention(waiting.transfer_id, waiting.state, waiting.label, why, step))
    return found


def batch_poll_bounds(workers: Workers) -> PollBounds:
    """The adaptive timer's limits for batch jobs: the same as for Globus tasks."""
    from aws_copy_pt.services.copy.batch import PollBounds

    return PollBounds(workers.min_poll_seconds, workers.max_poll_seconds)


def notify_outcomes(db: Database) -> None:
    """Queue notifications for new outcome events, then try to deliver what is due."""
    from aws_copy_pt.services.notify import deliver_pending, enqueue_for_transfer

    with db.session() as session:
        watermark = session.get(Setting, _WATERMARK_KEY)
        last = int(watermark.value) if watermark else 0
        events = session.scalars(
            select(Event)
            .where(Event.id > last, Event.kind == "state")
            .where(Event.to_state.in_([s.value for s in NOTIFIED_STATES]))
            .order_by(Event.id)
        ).all()
        newest = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or last
        for event in events:
            transfer = session.get(Transfer, event.transfer_id) if event.transfer_id else None
            if transfer is not None and event.to_state is not None:
                enqueue_for_transfer(session, transfer, event.to_state)
        if watermark is None:
            session.add(Setting(key=_WATERMARK_KEY, value=str(newest)))
        else:
            watermark.value = str(newest)
    deliver_pending(db)


@dataclass(frozen=True)
class _Seen:
    status: str | None
    bytes_done: int
    delay: float | None  # the delay that led to this poll


def _progress_snapshot(db: Database) -> dict[int, _Seen]:
    with db.session() as session:
        query = select(Transfer).where(
            Transfer.state.in_([s.value for s in POLLED_TRANSFER_STATES])
        )
        snapshot = {}
        for t in session.scalars(query):
            delay = None
            if t.next_poll_at and t.last_polled_at:
                delay = (t.next_poll_at - t.last_polled_at).total_seconds()
            snapshot[t.id] = _Seen(t.globus_status, t.bytes_transferred, delay)
        return snapshot


def schedule_next_polls(
    db: Database, before: dict[int, _Seen], *, minimum: float, maximum: float
) -> None:
    """Store each polled task's next poll time (adaptive: see core/poll_timing)."""
    now = datetime.now(UTC)
    with db.session() as session:
        query = select(Transfer).where(Transfer.id.in_(list(before)))
        for transfer in session.scalars(query):
            seen = before[transfer.id]
            expected = None
            if transfer.files_expected and transfer.files_transferred:
                share = transfer.files_transferred / transfer.files_expected
                expected = int(transfer.bytes_transferred / share) if share else None
            progress = TaskProgress(
                previous_delay=seen.delay if seen.delay and seen.delay > 0 else None,
                changed=(seen.status, seen.bytes_done)
                != (transfer.globus_status, transfer.bytes_transferred),
                bytes_done=transfer.bytes_transferred,
                bytes_expected=expected,
                rate=float(transfer.effective_bytes_per_second or 0) or None,
            )
            transfer.last_polled_at = now
            delay = next_poll_delay(progress, minimum=minimum, maximum=maximum)
            transfer.next_poll_at = now + timedelta(seconds=delay)


def seconds_until_next_poll(db: Database, *, default: float) -> float:
    """How long the daemon may sleep before some watched task is due for a poll."""
    with db.session() as session:
        due = session.scalar(
            select(Transfer.next_poll_at)
            .where(Transfer.state.in_([s.value for s in POLLED_TRANSFER_STATES]))
            .order_by(Transfer.next_poll_at.asc().nulls_first())
            .limit(1)
        )
        has_polled = session.scalar(
            select(Transfer.id)
            .where(Transfer.state.in_([s.value for s in POLLED_TRANSFER_STATES]))
            .limit(1)
        )
    if has_polled is None:
        return default
    if due is None:
        return 0.0
    return max(0.0, (due - datetime.now(UTC)).total_seconds())
