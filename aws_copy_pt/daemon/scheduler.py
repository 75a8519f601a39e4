"""The daemon's work loop on APScheduler 3.

Three kinds of job share a small thread pool, so Globus polling goes on while a copy runs:
- ``poll``: one batched status call for every watched task, then listing of finished tasks; it
  reschedules itself for the earliest ``next_poll_at`` (adaptive, see core/poll_timing);
- ``copy-<id>``: one job per transfer in COPYING, started as soon as it is ready; while an S3
  Batch Operations job copies the transfer, it runs again when the job is due for its next
  DescribeJob (the same adaptive timer as Globus polls);
- ``notify``: turns outcome events into notifications and delivers the outbox.
No job is persisted by APScheduler: on start, work is rebuilt from the transfers table.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from aws_copy_pt.core.states import ACTIVE_TRANSFER_STATES, TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.services import cycle

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 60.0
NOTIFY_SECONDS = 60.0
COPY_SCAN_SECONDS = 30.0


class DaemonLoop:
    """Runs the workflow until ``stop`` is set (or, with ``exit_when_idle``, nothing is pending)."""

    def __init__(
        self,
        db: Database,
        workers: cycle.Workers,
        *,
        stop: threading.Event,
        exit_when_idle: bool = False,
        copy_slots: int = 2,
    ) -> None:
        self._db = db
        self._workers = workers
        self._stop = stop
        self._exit_when_idle = exit_when_idle
        self._running_copies: set[int] = set()
        self._lock = threading.Lock()
        self.report = cycle.CycleReport()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(copy_slots + 2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    def run(self) -> cycle.CycleReport:
        now = datetime.now(UTC)
        self._scheduler.add_job(self._poll, id="poll", next_run_time=now)
        self._scheduler.add_job(
            self._start_copies,
            "interval",
            seconds=COPY_SCAN_SECONDS,
            id="copies",
            next_run_time=now,
        )
        self._scheduler.add_job(
            self._notify, "interval", seconds=NOTIFY_SECONDS, id="notify", next_run_time=now
        )
        self._scheduler.start()
        log.info("daemon started")
        try:
            while not self._stop.wait(timeout=1.0):
                if self._exit_when_idle and self._idle():
                    log.info("nothing left to watch or copy: exiting (--exit-when-idle)")
                    break
        finally:
            self._stop.set()  # copy jobs take no new objects and wind down
            self._scheduler.shutdown(wait=True)
            cycle.notify_outcomes(self._db)
            self.report.states = cycle.state_counts(self._db)
            self.report.attention = cycle.needing_attention(self._db)
            log.info("daemon stopped")
        return self.report

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
        report = cycle.CycleReport()
        try:
            cycle.poll_and_list(self._db, self._workers, report)
        except Exception:  # a scheduler job must never die silently
            log.exception("poll job failed; retrying in %s s", IDLE_POLL_SECONDS)
        self.report.needs_login = report.needs_login
        self.report.errors.extend(report.errors)
        self._start_copies()
        delay = cycle.seconds_until_next_poll(self._db, default=IDLE_POLL_SECONDS)
        if report.needs_login:
            delay = max(delay, IDLE_POLL_SECONDS)
        if not self._stop.is_set():
            self._scheduler.add_job(
                self._poll,
                id="poll",
                replace_existing=True,
                next_run_time=datetime.now(UTC) + timedelta(seconds=delay),
            )

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
            copy_transfer(
                self._db,
                self._workers.s3,
                transfer_id,
                concurrency=self._workers.concurrency,
                progress=self._workers.progress,
                stop=self._stop,
                poll_bounds=cycle.batch_poll_bounds(self._workers),
            )
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
