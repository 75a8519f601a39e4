"""One pass of the unattended workflow: follow rules, poll Globus, list what arrived, copy, notify.

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
from aws_copy_pt.services.news import (
    Attention,
    Change,
    changes_since,
    needing_attention,
    newest_event_id,
)

if TYPE_CHECKING:
    from aws_copy_pt.globus.gateway import TimersClient, TransferClient
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.copy.batch import PollBounds
    from aws_copy_pt.services.copy.report import CopyReport

log = logging.getLogger(__name__)

NOTIFIED_STATES = NOTIFIABLE_STATES
_WATERMARK_KEY = "notify.last_event_id"


@dataclass
class Workers:
    """What a pass needs from the outside world, injected so tests can point it anywhere."""

    transfer_client: Callable[[], TransferClient]  # may raise (no login, no client id)
    s3: ClientFactory
    concurrency: int | None = None
    progress: Callable[[Any], None] | None = None
    min_poll_seconds: float = MIN_DELAY
    max_poll_seconds: float = MAX_DELAY
    timers_client: Callable[[], TimersClient] | None = None  # for follow rules with a timer


@dataclass
class CycleReport:
    needs_login: bool = False
    errors: list[str] = field(default_factory=list)  # problems met by this pass
    notes: list[str] = field(default_factory=list)  # worth a line, not a failure (a cancel seen)
    states: Counter[str] = field(default_factory=Counter)
    attention: list[Attention] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # what this pass changed, oldest first
    cancels_seen: set[int] = field(default_factory=set)  # transfers a note says were cancelled

    @property
    def active(self) -> int:
        return sum(n for s, n in self.states.items() if s in ACTIVE_TRANSFER_STATES)

    @property
    def quiet(self) -> bool:
        """Nothing changed, nothing failed, no cancel seen: cron should hear nothing (the exit
        status says whether work remains or something still waits for a person)."""
        return not self.changes and not self.errors and not self.notes

    def saw_cancel(self, copied: CopyReport) -> None:
        """A copy run stopped because its transfer was cancelled: one note says where."""
        from aws_copy_pt.services.copy.report import cancelled_line

        self.notes.append(cancelled_line(copied))
        self.cancels_seen.add(copied.transfer_id)

    def record_changes(self, changes: list[Change]) -> None:
        """Keep the news in ``changes`` that no note tells already: from the move to CANCELLED
        of a transfer whose cancel this pass saw, the note is that transfer's one line (the
        move itself, "cancel seen", where the copy stopped are its history)."""
        told: set[int] = set()
        self.changes = []
        for change in changes:
            cancelled = change.to_state == TransferState.CANCELLED
            if cancelled and change.transfer_id in self.cancels_seen:
                told.add(change.transfer_id)
            if change.transfer_id not in told:
                self.changes.append(change)

    def exit_code(self) -> ExitCode:
        """For cron and scrontab; when several apply, the first of: needs login, a Globus task
        suspended, something failed, work remains, all done."""
        if self.needs_login:
            return ExitCode.NEEDS_LOGIN
        if self.states[TransferState.GLOBUS_INACTIVE]:
            return ExitCode.GLOBUS_INACTIVE
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


def apply_follow_rules(
    db: Database, workers: Workers, report: CycleReport, *, min_interval: float = 0.0
) -> None:
    """Turn the new tasks of the active follow rules into watched transfers."""
    from aws_copy_pt.services.watch.follow import active_rules_exist, follow_new_tasks

    if not active_rules_exist(db):
        return
    try:
        found = follow_new_tasks(
            db, workers.transfer_client, workers.timers_client, min_interval=min_interval
        )
    except NeedsLoginError as exc:
        report.needs_login = True
        report.errors.append(exc.message)
        return
    except AwsCopyPtError as exc:
        log.warning("following new Globus tasks failed, retried next pass: %s", exc)
        report.errors.append(exc.message)
        return
    report.needs_login = report.needs_login or found.needs_login is not None
    report.errors.extend(found.errors)


def follows_tasks(db: Database) -> bool:
    """Whether some follow rule is active (the daemon then polls at least every minute)."""
    from aws_copy_pt.services.watch.follow import active_rules_exist

    return active_rules_exist(db)


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
    except NeedsLoginError:
        # A standing condition, not news: the transfers' move to NEEDS_LOGIN is the change that
        # is reported (once); every later pass only exits NEEDS_LOGIN until the user logs in.
        report.needs_login = True
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
            copied = copy_transfer(
                db,
                workers.s3,
                transfer_id,
                concurrency=workers.concurrency,
                progress=workers.progress,
                stop=stop,
                poll_bounds=batch_poll_bounds(workers),
            )
            if copied.cancelled:
                report.saw_cancel(copied)
        except AwsCopyPtError as exc:
            log.warning("transfer %s: copy step failed: %s", transfer_id, exc)
            report.errors.append(f"transfer {transfer_id}: {exc.message}")


def run_cycle(
    db: Database, workers: Workers, *, stop: threading.Event | None = None
) -> CycleReport:
    """One full pass: register what follow rules find, poll all, list what finished, copy what
    is ready, notify; then report."""
    stop = stop or threading.Event()
    report = CycleReport()
    since = newest_event_id(db)
    apply_follow_rules(db, workers, report)
    poll_and_list(db, workers, report)
    if not stop.is_set():
        copy_ready(db, workers, report, stop)
    notify_outcomes(db)
    report.states = state_counts(db)
    report.attention = needing_attention(db)
    report.record_changes(changes_since(db, since))
    return report


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
