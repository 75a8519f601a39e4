"""Verifying one batch of copied rows: a destination listing must show each copy as it was
answered (size, ETag). Objects the listing does not reach are HEADed one by one. Verified rows
may then owe their staging object a delete (``services.copy.cleanup``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_copy_pt.core.copy_plan import ObjectFacts
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.copier import CopyRoute, RangeListing
from aws_copy_pt.services.copy.plan import range_listing
from aws_copy_pt.services.copy.rows import Row


@dataclass
class VerifyOutcome:
    verified: list[Row] = field(default_factory=list)
    failed: list[tuple[Row, str]] = field(default_factory=list)


def verify_batch(route: CopyRoute, rows: list[Row]) -> VerifyOutcome:
    """Check copied rows against the destination (size, ETag)."""
    outcome = VerifyOutcome()
    listed = range_listing(route, source=False, keys=sorted(str(r.dest_key) for r in rows))
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
