"""Splitting a transfer between a batch job and the local engine (phase PLANNING).

The transfer's pending rows are read in the local engine's batches and planned by the local
engine's own planner (``services.copy.plan``: one staging and one destination listing per 1,000
objects), so a job gets exactly the objects the local engine would copy: never an object that
is identical at the destination already (skipped) or different with ``--on-conflict fail``.
Of those, each object the job can express (its key mapping, its size: ``core.batch_engine``)
is handed to the job: ``pending -> copying`` with the job's attempt number, and with
versioned staging the version id the manifest will name. The rest stay pending for the local
engine, which runs in the same pass.

Each batch is written in one transaction, so a crash in the middle leaves every row either
handed over or not; the next pass plans the rows still pending and carries on.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, update

from aws_copy_pt.core.batch_engine import exclusion
from aws_copy_pt.core.copy_plan import (
    ConflictPolicy,
    common_prefix,
    destination_key,
    relative_key,
)
from aws_copy_pt.core.states import ObjectState, check_object_transition
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import ObjectCopy
from aws_copy_pt.s3.arguments import settings_for
from aws_copy_pt.s3.batch_files import latest_versions
from aws_copy_pt.s3.copier import CopyRoute
from aws_copy_pt.services.copy.plan import empty_destination, plan_batch
from aws_copy_pt.services.copy.rows import Row, RowWriter, batches

NO_VERSION = "no current version in the versioned staging bucket"
_TABLE = cast(Table, ObjectCopy.__table__)
MAY_CONFLICT = "something is at its destination key already (--on-conflict fail)"


@dataclass(frozen=True)
class PlanSpec:
    """What one attempt's planning needs to know."""

    transfer_id: int
    attempt: int
    prefixes: tuple[str, str]  # the transfer's source and destination prefixes
    target: str  # the job's TargetKeyPrefix ("" for none)
    max_bytes: int
    versioned: bool
    conflict: ConflictPolicy


@dataclass
class PlanCounts:
    to_job: int = 0
    left_local: Counter[str] = field(default_factory=Counter)  # why, how many
    finished: bool = False  # False: stopped early; the next pass carries on


def plan_rows(db: Database, route: CopyRoute, spec: PlanSpec, stop: threading.Event) -> PlanCounts:
    """Hand every pending row the job can copy to the job; the rest stays local."""
    counts = PlanCounts()
    writer = RowWriter(db)
    empty = empty_destination(route, spec.prefixes[1])
    for rows in batches(db, spec.transfer_id):
        if stop.is_set():
            return counts
        pending = [r for r in rows if r.state == ObjectState.PENDING and not r.upload_id]
        if not pending:
            continue
        _map_keys(writer, pending, spec.prefixes)
        chosen = _eligible(spec, _to_copy(route, writer, pending, spec, empty), counts)
        versions = _versions(route, spec, chosen, counts)
        if spec.versioned:
            chosen = [row for row in chosen if row.source_key in versions]
        writer.flush()  # what the listings taught; the rows are still pending
        counts.to_job += _hand_over(db, spec.attempt, chosen, versions)
    counts.finished = True
    return counts


def _to_copy(
    route: CopyRoute, writer: RowWriter, rows: list[Row], spec: PlanSpec, empty: str | None
) -> list[tuple[Row, bool]]:
    """The rows the local planner would copy, each with "its destination is surely absent".

    Into a destination prefix that was empty when planning began, rows whose source is known
    already need no listing at all: every one of them is a copy to an absent key (what
    ``plan_batch`` would decide, without building its per-object tasks).
    """
    if empty is not None and all(
        row.source_facts is not None and str(row.dest_key).startswith(empty) for row in rows
    ):
        return [(row, True) for row in rows]
    plan = plan_batch(route, rows, spec.conflict, empty_prefix=empty)
    for row, facts in plan.filled:
        algorithm = facts.algorithms[0] if facts.algorithms else None
        writer.change(row, size=facts.size, source_etag=facts.etag, checksum_algorithm=algorithm)
    return [(row, task.dest_known and task.dest is None) for row, task in plan.tasks]


def _hand_over(db: Database, attempt: int, rows: list[Row], versions: dict[str, str]) -> int:
    """``pending -> copying`` for the job, in one transaction (one statement when unversioned:
    planning a million rows must not cost a Python call per row more than it needs)."""
    if not rows:
        return 0
    check_object_transition(ObjectState.PENDING, ObjectState.COPYING)
    started = datetime.now(UTC)
    with db.session() as session:
        held = (
            update(ObjectCopy)
            .where(ObjectCopy.id.in_([row.id for row in rows]))
            .where(ObjectCopy.state == ObjectState.PENDING.value)
            .values(
                state=ObjectState.COPYING.value,
                batch_attempt=attempt,
                attempts=ObjectCopy.attempts + 1,
                started_at=started,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(held)
        if versions:
            pinned = [{"i": row.id, "v": versions[row.source_key]} for row in rows]
            session.connection().execute(
                update(_TABLE)
                .where(_TABLE.c.id == bindparam("i"))
                .values(source_version_id=bindparam("v")),
                pinned,
            )
    return len(rows)


def _map_keys(writer: RowWriter, rows: list[Row], prefixes: tuple[str, str]) -> None:
    source_prefix, dest_prefix = prefixes
    for row in rows:
        if row.dest_key is None:
            key = destination_key(dest_prefix, relative_key(source_prefix, row.source_key))
            writer.change(row, dest_key=key)


def _eligible(spec: PlanSpec, tasks: list[tuple[Row, bool]], counts: PlanCounts) -> list[Row]:
    chosen = []
    for row, absent in tasks:
        why: str | None = exclusion(
            source_key=row.source_key,
            dest_key=str(row.dest_key),
            size=row.size,
            target=spec.target,
            max_bytes=spec.max_bytes,
        )
        if why is None and spec.conflict is ConflictPolicy.FAIL and not absent:
            why = MAY_CONFLICT  # only the local engine can compare it and fail it
        if why is None:
            chosen.append(row)
        else:
            counts.left_local[why] += 1
    return chosen


def _versions(
    route: CopyRoute, spec: PlanSpec, rows: list[Row], counts: PlanCounts
) -> dict[str, str]:
    if not spec.versioned or not rows:
        return {}
    keys = sorted(row.source_key for row in rows)
    found = latest_versions(
        route.source_client,
        route.source_bucket,
        keys,
        settings_for("ListObjectVersions", route.source_args),
        prefix=common_prefix(keys),
    )
    counts.left_local[NO_VERSION] += len(set(keys) - found.keys())
    return found
