"""The batch copy engine's rules (pure): which engine copies a transfer, which objects an S3 Batch
Operations job can take, where files go, and what a job's status means for the transfer.

* **Engine choice.** ``local`` copies with aws-copy-pt's own workers, ``batch`` hands the
  objects to an S3 Batch Operations job, ``auto`` (the default) picks ``batch`` when a batch
  role is registered for the destination bucket and the transfer has at least ``threshold``
  objects (100,000 unless the bucket or the command says otherwise).
* **What a job can copy.** A job copies each manifest row to ``TargetKeyPrefix + key``: it can
  prepend, never strip or rename. aws-copy-pt maps ``dest_prefix + relative_key(source_prefix,
  key)``, so a job can take a transfer only when ``dest_prefix`` ends with ``source_prefix``
  (the job then prepends the rest); each row must also land exactly there and be at most
  :data:`~aws_copy_pt.core.batch_manifest.BATCH_COPY_MAX_BYTES` (CopyObject's limit). Every other
  row is copied by the local engine, in the same transfer, at the same time.
* **Phases.** aws-copy-pt's own progress through one job (:class:`Phase`): each step is
  recorded before the next begins, so a crash resumes at the step it interrupted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from aws_copy_pt.core.copy_plan import normalize_prefix
from aws_copy_pt.core.errors import UsageError
from aws_copy_pt.core.states import IllegalTransitionError

DEFAULT_BATCH_THRESHOLD = 100_000
BATCH_FOLDER = ".aws-copy-pt-batch"  # in the destination bucket: manifests and reports
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")


class Engine(StrEnum):
    LOCAL = "local"
    BATCH = "batch"
    AUTO = "auto"


ENGINE_CHOICES = tuple(engine.value for engine in Engine)


class Phase(StrEnum):
    """Where aws-copy-pt is in one batch job's life."""

    PLANNING = "planning"  # rows are being handed to the job (resumable, chunk by chunk)
    PLANNED = "planned"  # the job's rows are fixed; its manifest is next
    UPLOADED = "uploaded"  # the manifest is in S3 with a known ETag; CreateJob is next
    SUBMITTED = "submitted"  # the job id is stored; it is polled until it ends
    INGESTING = "ingesting"  # the job ended with a report; rows are being updated from it
    DONE = "done"  # every row left the job: copied (to verify) or back to the local engine
    FAILED = "failed"  # the job failed; its rows failed with its reasons (retry: a new job)
    CANCELLED = "cancelled"  # the job was cancelled, and the transfer with it


ACTIVE_PHASES = frozenset(
    {Phase.PLANNING, Phase.PLANNED, Phase.UPLOADED, Phase.SUBMITTED, Phase.INGESTING}
)
_ENDED = frozenset({Phase.CANCELLED})
PHASE_TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.PLANNING: frozenset({Phase.PLANNED, Phase.DONE}) | _ENDED,
    Phase.PLANNED: frozenset({Phase.UPLOADED}) | _ENDED,
    Phase.UPLOADED: frozenset({Phase.SUBMITTED}) | _ENDED,
    Phase.SUBMITTED: frozenset({Phase.INGESTING}) | _ENDED,
    Phase.INGESTING: frozenset({Phase.DONE, Phase.FAILED, Phase.CANCELLED}),
    Phase.DONE: frozenset(),
    Phase.FAILED: frozenset(),
    Phase.CANCELLED: frozenset(),
}


def check_phase_transition(current: str, target: Phase) -> Phase:
    """``target`` if a job may move there from ``current``; else IllegalTransitionError."""
    if target not in PHASE_TRANSITIONS[Phase(current)]:
        raise IllegalTransitionError(f"batch job cannot go from {current} to {target}")
    return target


class JobOutcome(StrEnum):
    """What an S3 job status means for aws-copy-pt."""

    RUNNING = "running"
    AWAITING_CONFIRMATION = "awaiting confirmation"  # Suspended: `transfers confirm ID`
    COMPLETE = "complete"
    FAILED = "failed"
    CANCELLED = "cancelled"


_OUTCOMES = {
    "Suspended": JobOutcome.AWAITING_CONFIRMATION,
    "Complete": JobOutcome.COMPLETE,
    "Failed": JobOutcome.FAILED,
    "Cancelled": JobOutcome.CANCELLED,
}


def job_outcome(status: str | None) -> JobOutcome:
    """New, Preparing, Ready, Active, Pausing, Paused, Completing, Failing, Cancelling: running."""
    return _OUTCOMES.get(status or "", JobOutcome.RUNNING)


# --- settings ------------------------------------------------------------------------------


def check_engine(value: str, option: str = "--engine") -> Engine:
    try:
        return Engine(value.lower())
    except ValueError:
        raise UsageError(
            f"{option} must be one of {', '.join(ENGINE_CHOICES)}, not {value!r}",
            hint="auto uses S3 Batch Operations for large transfers when a batch role is "
            "registered (`aws-copy-pt bucket update DEST --batch-role ARN`)",
        ) from None


def check_batch_threshold(value: int, option: str = "--batch-threshold") -> int:
    if value < 1:
        raise UsageError(
            f"{option} must be a positive number of objects, not {value}",
            hint=f"e.g. {option} {DEFAULT_BATCH_THRESHOLD}",
        )
    return value


def check_role_arn(value: str) -> str:
    """An IAM role ARN (``arn:aws:iam::ACCOUNT:role/[path/]NAME``)."""
    if not _ROLE_ARN.match(value):
        raise UsageError(
            f"--batch-role {value!r} is not an IAM role ARN",
            hint="give the role's ARN, e.g. arn:aws:iam::222222222222:role/aws-copy-pt-batch; "
            "`aws-copy-pt policy --engine batch --bucket DEST` prints what the role needs",
        )
    return value


def role_account(role_arn: str) -> str:
    """The account a role ARN belongs to (where its jobs are created)."""
    return role_arn.split(":")[4]


# --- choosing the engine --------------------------------------------------------------------


@dataclass(frozen=True)
class EngineDecision:
    engine: Engine  # LOCAL or BATCH
    why: str


def decide_engine(
    requested: Engine, *, objects: int, threshold: int, role_arn: str | None
) -> EngineDecision:
    """Which engine copies ``objects`` objects. An explicit ``batch`` without a role is the
    caller's error to report; ``auto`` then quietly stays local."""
    if requested is Engine.LOCAL:
        return EngineDecision(Engine.LOCAL, "--engine local")
    if requested is Engine.BATCH:
        return EngineDecision(Engine.BATCH, "--engine batch")
    if role_arn is None:
        return EngineDecision(Engine.LOCAL, "auto: no batch role is registered for the bucket")
    if objects < threshold:
        return EngineDecision(
            Engine.LOCAL, f"auto: {objects:,} object(s), below the batch threshold {threshold:,}"
        )
    return EngineDecision(
        Engine.BATCH, f"auto: {objects:,} object(s), at or above the threshold {threshold:,}"
    )


# --- what a job can copy --------------------------------------------------------------------


def target_key_prefix(source_prefix: str, dest_prefix: str) -> str | None:
    """The ``TargetKeyPrefix`` that maps staging keys the way the transfer does ("" for none),
    or None when prepending cannot express the mapping."""
    source, dest = normalize_prefix(source_prefix), normalize_prefix(dest_prefix)
    if not dest.endswith(source):
        return None
    target = dest[: len(dest) - len(source)]
    return target if target == "" or target.endswith("/") else None


def mapping_problem(source_prefix: str, dest_prefix: str) -> str | None:
    """Why a job cannot take this transfer's objects (None: it can)."""
    if target_key_prefix(source_prefix, dest_prefix) is not None:
        return None
    source, dest = normalize_prefix(source_prefix), normalize_prefix(dest_prefix) or "(none)"
    return (
        f"a batch job can only prepend a key prefix, but this transfer strips the staging "
        f"prefix {source!r} before adding the destination prefix {dest!r}; a destination "
        f"prefix ending in {source!r} (or a staging collection mapped to the bucket root) "
        "can be copied by a job"
    )


class Exclusion(StrEnum):
    """Why one object goes through the local engine instead of the job."""

    TOO_LARGE = "larger than a batch copy allows"
    KEY_MAPPING = "its destination key is not the job's prefix + its staging key"
    SIZE_UNKNOWN = "its size is not known"


def exclusion(
    *, source_key: str, dest_key: str, size: int | None, target: str, max_bytes: int
) -> Exclusion | None:
    """None when the job can copy this object; else why not."""
    if dest_key != target + source_key:
        return Exclusion.KEY_MAPPING
    if size is None:
        return Exclusion.SIZE_UNKNOWN
    if size > max_bytes:
        return Exclusion.TOO_LARGE
    return None


@dataclass(frozen=True)
class JobFiles:
    """Where one job attempt keeps its manifest and reports (in the destination bucket)."""

    folder: str

    @classmethod
    def of(cls, home_id: str, transfer_id: int, attempt: int) -> JobFiles:
        return cls(f"{BATCH_FOLDER}/{home_id}/transfer-{transfer_id}/attempt-{attempt}")

    @property
    def manifest_key(self) -> str:
        return f"{self.folder}/manifest.csv"

    @property
    def report_prefix(self) -> str:
        return f"{self.folder}/reports"
