"""The daemon's work loop on APScheduler 3.

Three kinds of job share a small thread pool, so Globus polling goes on while a copy runs:
- ``poll``: the follow rules' new tasks (at most every ``FOLLOW_SECONDS``, or ``--max-poll`` if
  shorter), one batched status call for every watched task, then listing of finished tasks; it
  reschedules itself for the earliest ``next_poll_at`` (adaptive, see core/poll_timing), never
  later than ``max_poll_seconds`` (nor than the next follow pass while a rule is active); with
  nothing to watch it looks again after ``min_poll_seconds``, and after a failed login after
  ``max_poll_seconds``;
- ``copy-<id>``: one job per transfer in COPYING, started as soon as it is ready; while an S3
  Batch Operations job copies the transfer, it runs again when the job is due for its next
  DescribeJob (the same adaptive timer as Globus polls);
- ``notify``: turns outcome events into notifications and delivers the outbox.
No job is persisted by APScheduler: on start, work is rebuilt from the transfers table.

The main thread checks ``wake`` every second (see ``daemon/wake.py``): when a command changed
what the daemon should do (a task watched, a login, a retry), the next poll runs at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from aws_copy_pt.core.states import ACTIVE_TRANSFER_STATES, TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.services import cycle, news

log = logging.getLogger(__name__)

NOTIFY_SECONDS = 60.0
COPY_SCAN_SECONDS = 30.0
WAKE_CHECK_SECONDS = 1.0
FOLLOW_SECONDS = 60.0


@dataclass(frozen=True)
class Schedule:
    """When the daemon polls next, and what woke or ran it last (shown by `daemon status`)."""

    next_poll_at: datetime
    delay_seconds: float  # how long after its decision the daemon polls again
    last_poll_at: datetime | None
    woken_at: datetime | None
    min_poll_seconds: float
    max_poll_seconds: float


class DaemonLoop:
    """Runs the workflow until ``stop`` is set (or, with ``exit_when_idle``, nothing is pending).

    ``wake`` (called every second) returns True when the daemon should poll at once;
    ``on_schedule`` hears every new poll time.
    """

    def __init__(
        self,
        db: Database,
        workers: cycle.Workers,
        *,
        stop: threading.Event,
        exit_when_idle: bool = False,
        copy_slots: int = 2,
        wake: Callable[[], bool] | None = None,
        on_schedule: Callable[[Schedule], None] | None = None,
    ) -> None:
        self._db = db
        self._workers = workers
        self._stop = stop
        self._exit_when_idle = exit_when_idle
        self._wake = wake
        self._on_schedule = on_schedule
        self._running_copies: set[int] = set()
        self._follow_every = min(FOLLOW_SECONDS, workers.max_poll_seconds)
        self._lock = threading.Lock()  # guards _running_copies
        self._poll_lock = threading.Lock()  # guards the poll job's schedule and the fields below
        self._polling = False
        self._wakes = 0  # counts wake-ups, so a poll running during one polls again at once
        self._woken_at: datetime | None = None
        self._last_poll_at: datetime | None = None
        self.report = cycle.CycleReport()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(copy_slots + 2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    def run(self) -> cycle.CycleReport:
        now = datetime.now(UTC)
        since = news.newest_event_id(self._db)
        self._scheduler.add_job(self._poll, id="poll", next_run_time=now)
        self._scheduler.add_job(
            self._start_copies,
            "interval",
            seconds=min(COPY_SCAN_SECONDS, self._workers.max_poll_seconds),
            id="copies",
            next_run_time=now,
        )
        self._scheduler.add_job(
            self._notify, "interval", seconds=NOTIFY_SECONDS, id="notify", next_run_time=now
        )
        self._scheduler.start()
        log.info("daemon started")
        try:
            while not self._stop.wait(timeout=WAKE_CHECK_SECONDS):
                if self._wake is not None and self._wake():
                    self.wake_up()
                if self._exit_when_idle and self._idle():
                    log.info("nothing left to watch or copy: exiting (--exit-when-idle)")
                    break
        finally:
            self._stop.set()  # copy jobs take no new objects and wind down
            self._scheduler.shutdown(wait=True)
            cycle.notify_outcomes(self._db)
            self.report.states = cycle.state_counts(self._db)
            self.report.attention = news.needing_attention(self._db)
            self.report.record_changes(news.changes_since(self._db, since))
            log.info("daemon stopped")
        return self.report

    def wake_up(self) -> None:
        """Poll now and start the copies that are ready, instead of at the scheduled time."""
        with self._poll_lock:
            self._wakes += 1
            self._woken_at = datetime.now(UTC)
            if not self._polling:  # a poll under way polls again as soon as it ends
                self._schedule_poll(0.0)
        log.info("woken up by a command: polling now")
        self._start_copies()

    def _idle(self) -> bool:
        with self._lock:
            if self._running_copies:
                return False
        return (
            cycle.state_counts(self._db)
            .keys()
            .isdisjoint({s.value for s in ACTIVE_TRANSFER_STATES})
        )

    def _poll(self) -> None:
        if self._stop.is_set():
            return
        with self._poll_lock:
            self._polling = True
            wakes = self._wakes
        self._last_poll_at = datetime.now(UTC)
        report = cycle.CycleReport()
        delay = self._workers.max_poll_seconds
        try:
            cycle.apply_follow_rules(
                self._db, self._workers, report, min_interval=self._follow_every
            )
            cycle.poll_and_list(self._db, self._workers, report)
            self._start_copies()
            delay = self._next_delay(report)
        except Exception:  # a scheduler job must never die silently, nor stop rescheduling
            log.exception("poll job failed; retried at the next poll")
        self.report.needs_login = report.needs_login
        self.report.errors.extend(report.errors)
        with self._poll_lock:
            self._polling = False
            self._schedule_poll(0.0 if self._wakes != wakes else delay)

    def _next_delay(self, report: cycle.CycleReport) -> float:
        """Seconds to the next poll, within the daemon's --min-poll/--max-poll bounds."""
        shortest, longest = self._workers.min_poll_seconds, self._workers.max_poll_seconds
        # Nothing watched: look again soon (cheap: no Globus call until a task is watched).
        delay = cycle.seconds_until_next_poll(self._db, default=shortest)
        if cycle.follows_tasks(self._db):
            delay = min(delay, self._follow_every)
        if report.needs_login:
            delay = longest  # asking Globus sooner cannot help; `login` wakes the daemon
        return min(delay, longest)

    def _schedule_poll(self, delay: float) -> None:
        if self._stop.is_set():
            return
        next_poll_at = datetime.now(UTC) + timedelta(seconds=delay)
        self._scheduler.add_job(
            self._poll, id="poll", replace_existing=True, next_run_time=next_poll_at
        )
        if self._on_schedule is not None:
            schedule = Schedule(
                next_poll_at,
                delay,
                self._last_poll_at,
                self._woken_at,
                self._workers.min_poll_seconds,
                self._workers.max_poll_seconds,
            )
            try:
                self._on_schedule(schedule)
            except OSError as exc:  # the status file is a courtesy; polling goes on
                log.warning("could not record the next poll time: %s", exc)

    def _start_copies(self) -> None:
        if self._stop.is_set():
            return
        for transfer_id in cycle.transfer_ids_in(self._db, frozenset({TransferState.COPYING})):
            with self._lock:
                if transfer_id in self._running_copies:
                    continue
                self._running_copies.add(transfer_id)
            self._scheduler.add_job(self._copy, args=[transfer_id], id=f"copy-{transfer_id}")

    def _copy(self, transfer_id: int) -> None:
        from aws_copy_pt.services.copy import copy_transfer

        try:
            copied = copy_transfer(
                self._db,
                self._workers.s3,
                transfer_id,
                concurrency=self._workers.concurrency,
                progress=self._workers.progress,
                stop=self._stop,
                poll_bounds=cycle.batch_poll_bounds(self._workers),
            )
            if copied.cancelled:
                self.report.saw_cancel(copied)
        except Exception as exc:
            log.exception("transfer %s: copy job failed: %s", transfer_id, exc)
            self.report.errors.append(f"transfer {transfer_id}: {exc}")
        finally:
            if not self._copy_again_later(transfer_id):
                with self._lock:
                    self._running_copies.discard(transfer_id)
        self._notify()

    def _copy_again_later(self, transfer_id: int) -> bool:
        """A batch job still runs: come back when it is due for a poll (the transfer stays
        among the running copies meanwhile, so the daemon is not idle)."""
        from apscheduler.schedulers import SchedulerNotRunningError

        from aws_copy_pt.services.copy.batch.actions import seconds_until_batch_poll

        delay = None if self._stop.is_set() else seconds_until_batch_poll(self._db, transfer_id)
        if delay is None:
            return False
        try:  # another id: this run of copy-<id> is still winding down (max_instances 1)
            self._scheduler.add_job(
                self._copy,
                args=[transfer_id],
                id=f"copy-{transfer_id}-batch-poll",
                replace_existing=True,
                next_run_time=datetime.now(UTC) + timedelta(seconds=delay),
            )
        except SchedulerNotRunningError:
            return False
        return True

    def _notify(self) -> None:
        try:
            cycle.notify_outcomes(self._db)
        except Exception:
            log.exception("notification job failed; retried later")
