"""What a batch job would copy and cost, before any job exists (``copy --dry-run``, the wizard).

The counts come from the dry run's listings (``services.copy.direct.dry_run``); the engine
choice is the one a real run would make (``settings.decide``), and the cost is
``core.batch_cost``'s dated, labelled estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_copy_pt.core.batch_cost import CostEstimate, estimate_batch
from aws_copy_pt.core.batch_engine import Engine
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Bucket
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.services.copy.batch.settings import (
    BatchOptions,
    decide,
    options_for,
    threshold_for,
)
from aws_copy_pt.services.setup.buckets import get_bucket

if TYPE_CHECKING:
    from aws_copy_pt.services.copy.direct import DirectCopy, DryRun


@dataclass(frozen=True)
class BatchPreview:
    engine: str  # the engine a real run would use: batch or local
    why: str
    to_job: int  # objects the job would copy
    to_job_bytes: int
    left_local: int  # objects to copy that the local engine would take
    cost: CostEstimate | None  # None: no job would be created

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "why": self.why,
            "objects_to_job": self.to_job,
            "bytes_to_job": self.to_job_bytes,
            "objects_left_local": self.left_local,
            "cost": self.cost.as_dict() if self.cost else None,
        }


def preview_direct(db: Database, request: DirectCopy, plan: DryRun) -> BatchPreview:
    """The engine, split and cost of ``copy`` as the dry run ``plan`` counted it."""
    overwrite = request.on_conflict == "overwrite"
    to_job = plan.batch_new + (plan.batch_other if overwrite else 0)
    to_copy = plan.new + plan.unsure + (plan.different if overwrite else 0)
    with db.session() as session:
        source = get_bucket(session, request.source.bucket)
        dest = get_bucket(session, request.dest.bucket)
        options = options_for(request.batch, dest)
        prefixes = (request.source.prefix, request.dest.prefix)
        try:
            decision = decide(options, source, dest, prefixes, to_copy)
        except AwsCopyPtError as exc:
            return BatchPreview(Engine.LOCAL.value, exc.message, 0, 0, to_copy, None)
    if decision.engine is Engine.LOCAL or to_job == 0:
        why = decision.why if decision.engine is Engine.LOCAL else "no object fits a batch job"
        return BatchPreview(Engine.LOCAL.value, why, 0, 0, to_copy, None)
    return BatchPreview(
        Engine.BATCH.value,
        decision.why,
        to_job,
        plan.batch_bytes,
        to_copy - to_job,
        estimate_batch(to_job),
    )


@dataclass(frozen=True)
class EngineChoice:
    """How the wizard offers the engines for a transfer into ``bucket``."""

    default: str
    threshold: int
    has_role: bool
    estimate: CostEstimate | None  # for the task's file count, when it is known


def engine_choice(bucket: Bucket, files: int | None) -> EngineChoice:
    options = options_for(None, bucket)
    return EngineChoice(
        default=options.engine.value,
        threshold=threshold_for(BatchOptions(), bucket),
        has_role=bucket.batch_role_arn is not None,
        estimate=None if files is None else estimate_batch(files),
    )
