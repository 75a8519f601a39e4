"""One batch of object rows: what listings say before the copies, and after them.

Listings are an optimisation (one request per 1,000 objects instead of a HEAD each): when one
is refused or the range holds too many unrelated objects, the rows it did not reach are simply
HEADed instead, one by one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aws_copy_pt.core.copy_plan import (
    Action,
    ConflictPolicy,
    ObjectFacts,
    common_prefix,
    conflict_action,
    judge_destination,
)
from aws_copy_pt.core.states import ObjectState
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.copier import (
    CopyRoute,
    RangeListing,
    cause_code,
    delete_staging,
    list_range,
)
from aws_copy_pt.s3.errors import CREDENTIALS_REJECTED
from aws_copy_pt.services.copy_object import ObjectTask, conflict_message
from aws_copy_pt.services.copy_rows import Row

log = logging.getLogger(__name__)

_NOTHING_LISTED = RangeListing({}, None)


@dataclass
class BatchPlan:
    tasks: list[tuple[Row, ObjectTask]] = field(default_factory=list)
    skipped: list[Row] = field(default_factory=list)  # identical at the destination already
    failed: list[tuple[Row, str]] = field(default_factory=list)
    filled: list[tuple[Row, ObjectFacts]] = field(default_factory=list)  # source facts found
    to_verify: list[Row] = field(default_factory=list)  # copied by an earlier run


@dataclass
class VerifyOutcome:
    verified: list[Row] = field(default_factory=list)
    failed: list[tuple[Row, str]] = field(default_factory=list)
    deleted: list[Row] = field(default_factory=list)
    delete_errors: dict[str, str] = field(default_factory=dict)


def page_budget(keys: int) -> int:
    """Pages a range listing may take before HEADs are cheaper: twice what the keys need."""
    return 2 * (keys // 1000) + 2


def empty_destination(route: CopyRoute, prefix: str) -> str | None:
    """``prefix`` if the destination holds nothing below it (a fresh copy: no listing of the
    destination is needed before copying); None when it does, or when that is unknown."""
    try:
        contents, _ = route.lister(source=False).page(prefix, None, None)
    except AwsCopyPtError:
        return None
    return None if contents else prefix


def plan_batch(
    route: CopyRoute, rows: list[Row], conflict: ConflictPolicy, *, empty_prefix: str | None
) -> BatchPlan:
    """Source facts and destination state for every row to copy, from two listings; what the
    listings already decide (identical: skip; different with ``fail``: fail) is decided here.
    Below ``empty_prefix`` (empty when the run began) the destination is not listed."""
    plan = BatchPlan(to_verify=[r for r in rows if r.state == ObjectState.COPIED])
    work = [r for r in rows if r.state in (ObjectState.PENDING, ObjectState.COPYING)]
    if not work:
        return plan
    unknown = sorted(r.source_key for r in work if r.source_facts is None)
    sources = _listing(route, source=True, keys=unknown) if unknown else _NOTHING_LISTED
    dest_keys = sorted(str(r.dest_key) for r in work)
    if empty_prefix is not None and all(key.startswith(empty_prefix) for key in dest_keys):
        dests = RangeListing({}, dest_keys[-1])  # nothing there but what this run copied
    else:
        dests = _listing(route, source=False, keys=dest_keys)
    for row in work:
        assert row.dest_key is not None
        source = row.source_facts
        if source is None and row.source_key in sources.found:
            source = sources.found[row.source_key]
            plan.filled.append((row, source))
        elif source is None and sources.covers(row.source_key):
            plan.failed.append((row, _gone(route, row)))
            continue
        task = ObjectTask(
            row_id=row.id,
            source_key=row.source_key,
            dest_key=row.dest_key,
            source=source,
            dest=dests.found.get(row.dest_key),
            dest_known=dests.covers(row.dest_key),
            upload_id=row.upload_id,
            part_size=row.part_size,
        )
        action = _decided(task, conflict)
        if action is Action.SKIP:
            plan.skipped.append(row)
        elif action is Action.FAIL:
            plan.failed.append((row, conflict_message(route, row.dest_key)))
        else:
            plan.tasks.append((row, task))
    return plan


def _decided(task: ObjectTask, conflict: ConflictPolicy) -> Action | None:
    """Skip or fail from the listings alone; None: a worker decides (and copies)."""
    if task.source is None or not task.dest_known or task.upload_id:
        return None  # an interrupted upload must be resumed or aborted by a worker
    action = conflict_action(judge_destination(task.source, task.dest), conflict)
    return action if action in (Action.SKIP, Action.FAIL) else None


def verify_batch(route: CopyRoute, rows: list[Row], delete: bool) -> VerifyOutcome:
    """Check copied rows against the destination (size, ETag); then clean staging if asked."""
    outcome = VerifyOutcome()
    listed = _listing(route, source=False, keys=sorted(str(r.dest_key) for r in rows))
    for row in rows:
        assert row.dest_key is not None
        try:
            seen = _seen(route, listed, row.dest_key)
        except AwsCopyPtError as exc:
            outcome.failed.append((row, f"could not verify the copy: {exc}"))
            continue
        problem = _problem(route, row, seen)
        if problem:
            outcome.failed.append((row, problem))
        else:
            outcome.verified.append(row)
    if delete and outcome.verified:
        by_key = {row.source_key: row for row in outcome.verified}
        deleted = delete_staging(route, list(by_key))
        outcome.deleted = [by_key[key] for key in deleted.deleted if key in by_key]
        outcome.delete_errors = deleted.errors
    return outcome


def _seen(route: CopyRoute, listed: RangeListing, key: str) -> ObjectFacts | None:
    if listed.covers(key):
        return listed.found.get(key)
    found = route.head_dest(key)
    return None if found is None else found.facts


def _problem(route: CopyRoute, row: Row, seen: ObjectFacts | None) -> str | None:
    where = f"s3://{route.dest_bucket}/{row.dest_key}"
    if seen is None:
        return f"verification failed: {where} is missing after its copy"
    if row.size is not None and seen.size != row.size:
        return (
            f"verification failed: {where} has {seen.size} bytes but the source has {row.size}; "
            "the staging object is kept"
        )
    if row.dest_etag and seen.etag and seen.etag != row.dest_etag:
        return (
            f"verification failed: {where} changed after its copy (ETag {seen.etag}, the copy "
            f"answered {row.dest_etag}); something else writes there"
        )
    return None


def _listing(route: CopyRoute, *, source: bool, keys: list[str]) -> RangeListing:
    lister = route.lister(source=source)
    try:
        return list_range(
            lister, keys, prefix=common_prefix(keys), page_budget=page_budget(len(keys))
        )
    except AwsCopyPtError as exc:
        if cause_code(exc) in CREDENTIALS_REJECTED:
            raise  # a HEAD of each object would fail too, and its answer has no body to say why
        log.info("listing %s failed (%s); looking at each object instead", lister.bucket, exc)
        return _NOTHING_LISTED


def _gone(route: CopyRoute, row: Row) -> str:
    return (
        f"s3://{route.source_bucket}/{row.source_key} is gone from staging (deleted since it "
        "was delivered); re-run the Globus transfer for it, then `aws-copy-pt transfers retry ID`"
    )
