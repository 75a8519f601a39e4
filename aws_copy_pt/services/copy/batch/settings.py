"""Which engine copies a transfer: the options it was registered with, the destination
bucket's defaults, and the checks an explicit ``--engine batch`` must pass up front.

A transfer stores what was asked (``transfers.options``: ``engine``, ``batch_threshold``,
``confirm``, ``failed_tasks_only``); the engine itself is decided on the transfer's first copy
pass, when its objects are known (:func:`decide`), and recorded as an event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from aws_copy_pt.core.batch_engine import (
    DEFAULT_BATCH_THRESHOLD,
    Engine,
    EngineDecision,
    check_batch_threshold,
    check_engine,
    decide_engine,
    mapping_problem,
)
from aws_copy_pt.core.bucket_settings import is_aws_endpoint
from aws_copy_pt.core.route import RouteChoice, same_service
from aws_copy_pt.db.models import Bucket, Setting
from aws_copy_pt.errors import ConfigError, UsageError
from aws_copy_pt.services.setup.bucket_update import batch_standin_configured

HOME_ID_SETTING = "batch.home_id"


@dataclass(frozen=True)
class BatchOptions:
    """The engine options of one transfer, as the command line gave them."""

    engine: Engine = Engine.AUTO
    threshold: int | None = None  # None: the bucket's, else the default
    confirm: bool = False  # create the job Suspended: `transfers confirm ID` starts it
    failed_tasks_only: bool = False  # the job's report lists failed tasks only

    def __post_init__(self) -> None:
        if self.threshold is not None:
            check_batch_threshold(self.threshold)

    @classmethod
    def of(cls, options: dict[str, Any]) -> BatchOptions:
        threshold = options.get("batch_threshold")
        return cls(
            engine=Engine(options.get("engine", Engine.AUTO)),
            threshold=None if threshold is None else int(threshold),
            confirm=bool(options.get("confirm", False)),
            failed_tasks_only=bool(options.get("failed_tasks_only", False)),
        )

    @classmethod
    def from_command(
        cls,
        engine: str | None,
        threshold: int | None = None,
        *,
        confirm: bool = False,
        failed_tasks_only: bool = False,
    ) -> BatchOptions | None:
        """What a command asked for; None when it asked nothing (the bucket's default)."""
        if engine is None and threshold is None and not confirm and not failed_tasks_only:
            return None
        return cls(
            engine=Engine.AUTO if engine is None else check_engine(engine),
            threshold=threshold,
            confirm=confirm,
            failed_tasks_only=failed_tasks_only,
        )

    def as_json(self) -> dict[str, Any]:
        stored: dict[str, Any] = {"engine": self.engine.value}
        if self.threshold is not None:
            stored["batch_threshold"] = self.threshold
        if self.confirm:
            stored["confirm"] = True
        if self.failed_tasks_only:
            stored["failed_tasks_only"] = True
        return stored


def options_for(asked: BatchOptions | None, dest: Bucket) -> BatchOptions:
    """The command's options, with the destination bucket's default engine if none was given."""
    if asked is None:
        return BatchOptions(engine=Engine(dest.engine or Engine.AUTO))
    return asked


def threshold_for(options: BatchOptions, dest: Bucket) -> int:
    return options.threshold or dest.batch_threshold or DEFAULT_BATCH_THRESHOLD


def batch_available(bucket: Bucket) -> bool:
    """S3 Batch Operations exists on AWS (or, in the sandbox, through the stand-in)."""
    return is_aws_endpoint(bucket.endpoint_url) or batch_standin_configured()


def why_not_batch(source: Bucket, dest: Bucket, source_prefix: str, dest_prefix: str) -> str | None:
    """Why no job could copy this transfer at all (None: one can)."""
    if not batch_available(dest):
        return f"{dest.name} is not on AWS: S3 Batch Operations exists only there"
    if not same_service(source.endpoint_url, dest.endpoint_url):
        return (
            f"{source.name} and {dest.name} are on different S3 services: the local engine "
            "streams the objects between them"
        )
    if source.requester_pays:
        return f"{source.name} is requester-pays, which the batch engine does not support"
    if dest.metadata_directive != "COPY":
        return (
            f"{dest.name} rewrites metadata (--metadata-directive REPLACE): a job would drop "
            "each object's content headers, which the local engine carries over"
        )
    return mapping_problem(source_prefix, dest_prefix)


def refuse_batch_stream(asked: BatchOptions | None, route: RouteChoice) -> None:
    """``--engine batch`` copies inside S3; ``--route stream`` sends every byte through this
    machine: the two cannot be asked for together."""
    if asked is not None and asked.engine is Engine.BATCH and route is RouteChoice.STREAM:
        raise UsageError(
            "--engine batch copies server-side inside S3, --route stream through this machine: "
            "ask for one of them",
            hint="leave --route out (or --route auto) for a batch job, or --engine out to stream",
        )


def check_request(
    options: BatchOptions, source: Bucket, dest: Bucket, source_prefix: str, dest_prefix: str
) -> None:
    """Refuse an explicit ``--engine batch`` that could not run, before anything is stored."""
    if options.engine is not Engine.BATCH:
        return
    if dest.batch_role_arn is None:
        raise ConfigError(
            f"--engine batch needs a batch role registered for {dest.name}",
            hint=f"`aws-copy-pt policy --engine batch --bucket {dest.name} --batch-role ARN` "
            f"prints what the role needs; then `aws-copy-pt bucket update {dest.name} "
            "--batch-role ARN`",
        )
    problem = why_not_batch(source, dest, source_prefix, dest_prefix)
    if problem is not None:
        raise UsageError(
            f"--engine batch cannot copy this transfer: {problem}",
            hint="use --engine local (or auto, which falls back to local by itself)",
        )


def may_use_batch(
    options: BatchOptions, source: Bucket, dest: Bucket, prefixes: tuple[str, str]
) -> bool:
    """Could a batch job copy part of this direct copy? Then its source is listed in full
    before the first copy (a job takes one manifest), instead of copying while listing."""
    if options.engine is Engine.LOCAL or dest.batch_role_arn is None:
        return False
    return why_not_batch(source, dest, *prefixes) is None


def decide(
    options: BatchOptions,
    source: Bucket,
    dest: Bucket,
    prefixes: tuple[str, str],
    objects: int,
) -> EngineDecision:
    """The engine for a transfer with ``objects`` objects to copy, and why."""
    decision = decide_engine(
        options.engine,
        objects=objects,
        threshold=threshold_for(options, dest),
        role_arn=dest.batch_role_arn,
    )
    if decision.engine is Engine.LOCAL:
        return decision
    problem = why_not_batch(source, dest, *prefixes)
    if problem is not None or dest.batch_role_arn is None:
        reason = problem or f"no batch role is registered for {dest.name}"
        if options.engine is Engine.BATCH:
            raise ConfigError(f"the batch engine cannot copy this transfer: {reason}")
        return EngineDecision(Engine.LOCAL, f"auto: {reason}")
    return decision


def home_id(session: Session) -> str:
    """A random id of this home, in every job's token and file names: two homes (two users,
    two machines) copying into the same bucket never share a job or a manifest."""
    row = session.get(Setting, HOME_ID_SETTING)
    if row is None:
        row = Setting(key=HOME_ID_SETTING, value=uuid.uuid4().hex[:16])
        session.add(row)
        session.flush()
    return row.value
