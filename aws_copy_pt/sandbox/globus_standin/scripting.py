"""The control API for what Globus "does": tasks, files it skipped, timers and their runs,
a clock for scripted days, and a quick way to fill a long task history.

``GlobusStandIn`` inherits these methods; they are here to keep each module small.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from .models import (
    STATUSES,
    SUCCEEDED,
    TERMINAL,
    Fault,
    FileSpec,
    SkippedFile,
    Task,
    TaskInfo,
    Timer,
    User,
)
from .state import State

FileLike = FileSpec | tuple[str, str] | tuple[str, str, int]
SkippedLike = SkippedFile | tuple[str, str] | tuple[str, str, str]


class TaskScripting:
    _state: State

    # -- tasks --------------------------------------------------------------------------

    def add_task(
        self,
        owner: User,
        source_endpoint: str,
        destination_endpoint: str,
        files: Iterable[FileLike],
        *,
        script: Sequence[str] | None = None,
        label: str | None = None,
        faults: Sequence[Fault] = (),
        fatal_error: tuple[str, str] | None = None,
        files_ok_on_failure: int = 0,
        request_time: datetime | None = None,
        completion_time: datetime | None = None,
        skipped: Iterable[SkippedLike] = (),
        task_id: str | None = None,
    ) -> str:
        """Create a task whose status follows ``script``, one entry per poll.

        Both endpoints must have been registered with ``add_collection``. A FAILED task
        still reports its first ``files_ok_on_failure`` files as successful transfers;
        ``fatal_error`` is its (code, description). ``skipped`` paths make it a
        ``skip_source_errors`` task that leaves them out: they are listed by
        task_skipped_errors once it has finished, never by task_successful_transfers nor
        delivered. ``request_time`` defaults to the clock's now; ``completion_time`` is for
        a script that starts finished (default: the request time).
        """
        task = self._build_task(
            owner,
            source_endpoint,
            destination_endpoint,
            files,
            script=script,
            label=label,
            request_time=request_time,
            completion_time=completion_time,
            skipped=skipped,
            task_id=task_id,
        )
        task.faults = tuple(faults)
        task.files_ok_on_failure = files_ok_on_failure
        if fatal_error is not None:
            task.fatal_error = fatal_error
        with self._state.lock:
            self._state.tasks[task.task_id] = task
            info = task.info()
        self._state.notify_succeeded([info])
        return info.task_id

    def task(self, task_id: str) -> TaskInfo:
        """A snapshot of a task; unlike a poll over HTTP it does not advance the script."""
        with self._state.lock:
            return self._state.tasks[task_id].info()

    def add_historical_tasks(
        self,
        owner: User,
        source_endpoint: str,
        destination_endpoint: str,
        count: int,
        *,
        before: datetime | None = None,
        spacing: timedelta = timedelta(minutes=10),
        status: str = SUCCEEDED,
        label: str | None = "history {n}",
        files_per_task: int = 1,
    ) -> list[str]:
        """``count`` finished tasks, oldest first, the newest requested ``spacing`` before
        ``before`` (default: the clock's now); each took one minute. ``label`` is formatted
        with ``n`` (0 = oldest). Quick for thousands; the on_succeeded hook is not called
        (their files are history, not deliveries to make now).
        """
        if status not in TERMINAL:
            raise ValueError(f"historical tasks are finished: {sorted(TERMINAL)}, not {status}")
        newest = (before or self._state.clock.now()) - spacing
        with self._state.lock:
            source = self._state.collections[source_endpoint]
            destination = self._state.collections[destination_endpoint]
        tasks = []
        for n in range(count):
            requested = newest - spacing * (count - 1 - n)
            files = tuple(
                FileSpec(f"/history/{n:06}/f{i}.dat", f"/history/{n:06}/f{i}.dat", 1024)
                for i in range(files_per_task)
            )
            tasks.append(
                Task(
                    task_id=str(uuid.uuid4()),
                    owner=owner,
                    source=source,
                    destination=destination,
                    files=files,
                    script=[status],
                    request_time=requested,
                    label=label.format(n=n) if label is not None else None,
                    finished_at=requested + timedelta(minutes=1),
                )
            )
        with self._state.lock:
            self._state.tasks.update((task.task_id, task) for task in tasks)
        return [task.task_id for task in tasks]

    # -- timers -------------------------------------------------------------------------

    def add_timer(
        self,
        owner: User,
        source_endpoint: str,
        destination_endpoint: str,
        *,
        name: str = "nightly transfer",
        source_path: str = "/",
        destination_path: str = "/",
        label: str | None = None,
        interval: timedelta | None = timedelta(days=1),
        start: datetime | None = None,
        stop_after_runs: int | None = None,
        skip_source_errors: bool = False,
        timer_id: str | None = None,
    ) -> str:
        """A transfer timer of ``owner`` (Globus Timers); it runs only when ``run_timer``
        says so. ``interval`` None is a run-once timer; ``start`` defaults to the clock's
        now. Returns its id (the Timers API's ``job_id``)."""
        now = self._state.clock.now()
        with self._state.lock:
            timer = Timer(
                job_id=timer_id or str(uuid.uuid4()),
                owner=owner,
                name=name,
                source=self._state.collections[source_endpoint],
                destination=self._state.collections[destination_endpoint],
                source_path=source_path,
                destination_path=destination_path,
                label=label,
                interval=interval,
                start=start or now,
                submitted_at=now,
                # A run-once timer stops after its run (Timers requires that pairing).
                stop_after_runs=1 if interval is None else stop_after_runs,
                skip_source_errors=skip_source_errors,
            )
            self._state.timers[timer.job_id] = timer
        return timer.job_id

    def run_timer(
        self,
        timer_id: str,
        files: Iterable[FileLike],
        *,
        at: datetime | None = None,
        skipped: Iterable[SkippedLike] = (),
        script: Sequence[str] = (SUCCEEDED,),
        duration: timedelta = timedelta(0),
        label: str | None = None,
    ) -> str:
        """One run of the timer: a new Transfer task of its owner, from its source to its
        destination collection, delivering ``files`` (and leaving ``skipped`` out).

        The run happens at ``at`` (default: the clock's now). A run in the clock's future
        waits until the clock gets there (``set_clock``/``advance_clock``, or real time
        while the clock runs), so a test can script "a run at day 1, day 2, day 3" up
        front. ``duration`` is how long a run whose ``script`` starts finished took;
        ``label`` defaults to the timer's. Returns the run's task id.
        """
        with self._state.lock:
            timer = self._state.timers[timer_id]
        finishes_at_once = bool(script) and script[0] in TERMINAL
        task = self._build_task(
            timer.owner,
            timer.source.id,
            timer.destination.id,
            files,
            script=script,
            label=label if label is not None else timer.label,
            request_time=at,
            completion_time=(at or self._state.clock.now()) + duration
            if finishes_at_once
            else None,
            skipped=skipped,
        )
        if timer.skip_source_errors:
            task.options = {**task.options, "skip_source_errors": True}
        self._state.add_run(timer, task)
        return task.task_id

    # -- the clock ----------------------------------------------------------------------

    def now(self) -> datetime:
        """The stand-in's time: real time until ``set_clock``/``advance_clock`` stop it."""
        return self._state.clock.now()

    def set_clock(self, moment: datetime) -> None:
        """Stop the clock at ``moment``; timer runs due by then happen at once."""
        self._state.clock.set(moment)
        self._state.notify_succeeded(self._state.release_due_runs())

    def advance_clock(self, delta: timedelta) -> datetime:
        """Move the clock on by ``delta``; timer runs due by then happen at once."""
        moment = self._state.clock.advance(delta)
        self._state.notify_succeeded(self._state.release_due_runs())
        return moment

    # -- building -----------------------------------------------------------------------

    def _build_task(
        self,
        owner: User,
        source_endpoint: str,
        destination_endpoint: str,
        files: Iterable[FileLike],
        *,
        script: Sequence[str] | None,
        label: str | None,
        request_time: datetime | None,
        completion_time: datetime | None,
        skipped: Iterable[SkippedLike],
        task_id: str | None = None,
    ) -> Task:
        steps = list(script or self._state.settings.default_script)
        check_script(steps)
        if completion_time is not None and steps[0] not in TERMINAL:
            raise ValueError("completion_time is for a script that starts SUCCEEDED/FAILED")
        left_out = tuple(SkippedFile(*skip) for skip in skipped)
        with self._state.lock:
            return Task(
                task_id=task_id or str(uuid.uuid4()),
                owner=owner,
                source=self._state.collections[source_endpoint],
                destination=self._state.collections[destination_endpoint],
                files=tuple(FileSpec(*spec) for spec in files),
                script=steps,
                request_time=request_time or self._state.clock.now(),
                label=label,
                options={"skip_source_errors": True} if left_out else {},
                skipped=left_out,
                finished_at=completion_time,
            )


def check_script(steps: Sequence[str]) -> None:
    unknown = [step for step in steps if step not in STATUSES]
    if not steps or unknown:
        raise ValueError(f"a script is a non-empty list of {sorted(STATUSES)}, got {steps}")
    if any(step in TERMINAL for step in steps[:-1]):
        raise ValueError(f"only the last step of a script may be SUCCEEDED/FAILED: {steps}")
