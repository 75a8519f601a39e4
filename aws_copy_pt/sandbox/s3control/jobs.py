"""Jobs, their state machine, and the stand-in's lock-protected state and knobs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aws_copy_pt.core.batch_manifest import BATCH_COPY_MAX_BYTES
from aws_copy_pt.sandbox.s3server import Account

from .spec import JobSpec

NEW, PREPARING, SUSPENDED, READY, ACTIVE = "New", "Preparing", "Suspended", "Ready", "Active"
COMPLETING, COMPLETE = "Completing", "Complete"
FAILING, FAILED, CANCELLING, CANCELLED = "Failing", "Failed", "Cancelling", "Cancelled"
STATUSES = frozenset(
    {"New", "Preparing", "Suspended", "Ready", "Active", "Pausing", "Paused", "Completing",
     "Complete", "Failing", "Failed", "Cancelling", "Cancelled"}
)  # fmt: skip
TERMINAL = frozenset({COMPLETE, FAILED, CANCELLED})
# Every move a job can make; anything else is a bug in the stand-in and raises.
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({PREPARING, CANCELLED}),
    PREPARING: frozenset({SUSPENDED, READY, FAILED, CANCELLED}),
    SUSPENDED: frozenset({READY, CANCELLED}),
    READY: frozenset({ACTIVE, CANCELLED}),
    ACTIVE: frozenset({COMPLETING, FAILING, CANCELLING}),
    COMPLETING: frozenset({COMPLETE}),
    FAILING: frozenset({FAILED}),
    CANCELLING: frozenset({CANCELLED}),
}
# What UpdateJobStatus may ask for, from which states.
CONFIRMABLE = frozenset({SUSPENDED})
CANCELLABLE = frozenset({NEW, PREPARING, SUSPENDED, READY, ACTIVE})


class IllegalTransition(RuntimeError):
    """The stand-in tried a move its state machine does not have."""


@dataclass(frozen=True)
class TaskFailure:
    """How a task fails: the HTTP status, error code and message its report row carries."""

    http_status: int = 403
    code: str = "AccessDenied"
    message: str = "Access Denied"


@dataclass
class Settings:
    """Live knobs; changes apply to the next task or job."""

    max_copy_bytes: int = BATCH_COPY_MAX_BYTES
    # AWS fails a job once it ran at least 1,000 tasks and more than half of them failed.
    failure_threshold_min_tasks: int = 1000
    workers: int = 8  # concurrent CopyObject requests per job
    chunk_size: int = 256  # manifest rows in flight at once: memory stays flat


@dataclass
class Job:
    job_id: str
    spec: JobSpec
    status: str = NEW
    creation_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    total: int | None = None
    succeeded: int = 0
    failed: int = 0
    failure_reasons: list[tuple[str, str]] = field(default_factory=list)
    status_update_reason: str | None = None
    termination_date: datetime | None = None
    suspended_date: datetime | None = None
    suspended_cause: str | None = None
    cancel_requested: bool = False
    active_seconds: float = 0.0
    active_since: float | None = None

    @property
    def job_arn(self) -> str:
        return f"arn:aws:s3:us-east-1:{self.spec.account_id}:job/{self.job_id}"

    @property
    def tasks_run(self) -> int:
        return self.succeeded + self.failed

    def elapsed_active_seconds(self) -> int:
        running = time.monotonic() - self.active_since if self.active_since is not None else 0.0
        return int(self.active_seconds + running)

    def move(self, status: str) -> None:
        """Change state; the caller holds the state lock."""
        if status not in TRANSITIONS.get(self.status, frozenset()):
            raise IllegalTransition(f"job {self.job_id}: {self.status} -> {status}")
        if self.active_since is not None:
            self.active_seconds += time.monotonic() - self.active_since
            self.active_since = None
        if status == ACTIVE:
            self.active_since = time.monotonic()
        if status == SUSPENDED:
            self.suspended_date = datetime.now(UTC)
            self.suspended_cause = "AwaitingConfirmation"
        if status in TERMINAL:
            self.termination_date = datetime.now(UTC)
        self.status = status


@dataclass
class State:
    """Everything the HTTP handlers and job runners share, behind one lock."""

    settings: Settings = field(default_factory=Settings)
    lock: threading.RLock = field(default_factory=threading.RLock)
    changed: threading.Condition = field(init=False)
    jobs: dict[str, Job] = field(default_factory=dict)
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)  # (account, token) -> job
    roles: dict[str, Account] = field(default_factory=dict)
    denied_pass_role: set[str] = field(default_factory=set)
    denied_operations: set[str] = field(default_factory=set)
    held: set[str] = field(default_factory=set)  # statuses jobs stay in until released
    failing_keys: dict[str, TaskFailure] = field(default_factory=dict)
    stopping: bool = False

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def move(self, job: Job, status: str) -> None:
        with self.lock:
            job.move(status)
            self.changed.notify_all()

    def wait_while_held(self, job: Job) -> bool:
        """Block while the job's status is held; False once the job left it (cancelled)."""
        with self.lock:
            status = job.status
            self.changed.wait_for(
                lambda: self.stopping or job.status != status or status not in self.held
            )
            return job.status == status and not self.stopping
