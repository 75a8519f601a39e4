"""A destination object that already exists: skip it, overwrite it, or refuse it.

Identical (proven from the content, or from the copy's record of its source: see
``core.provenance``): skipped. Proven different: overwritten, or refused with
``--on-conflict fail``. Not proven either way after a HEAD of both sides: treated as different,
but a refusal then says "could not be proven identical", never "different content". A retried
row's own earlier copy is always replaced: it is no conflict.
"""

from __future__ import annotations

from aws_copy_pt.core.copy_plan import (
    Action,
    ConflictPolicy,
    Destination,
    ObjectFacts,
    conflict_action,
)
from aws_copy_pt.s3.copier import CopyRoute

POLICY = "--on-conflict fail"


def decide(
    ours: str | None,
    judged: Destination,
    dest: ObjectFacts | None,
    policy: ConflictPolicy,
    *,
    inspected: bool = False,
) -> Action:
    """:func:`conflict_action`, except that the row's own earlier copy (``ours``: its ETag; a
    retried row whose staging object changed since) is replaced even with ``fail``."""
    action = conflict_action(judged, policy, inspected=inspected)
    own = ours is not None and dest is not None and dest.etag == ours
    return Action.COPY if action is Action.FAIL and own else action


def conflict_message(route: CopyRoute, dest_key: str, judged: Destination) -> str:
    where = f"s3://{route.dest_bucket}/{dest_key}"
    if judged is Destination.DIFFERENT:
        return f"{where} already exists with different content; not overwritten ({POLICY})"
    return (
        f"{where} already exists and could not be proven identical to its source (no "
        "comparable checksum or ETag, and no record of a copy from it); not overwritten "
        f"({POLICY})"
    )


def encrypts_copies(route: CopyRoute) -> bool:
    """Whether the destination's copies get an ETag that is no MD5 (SSE-KMS, SSE-C)."""
    sse = str(route.dest_args.get("ServerSideEncryption", ""))
    return sse.startswith("aws:kms") or "SSECustomerAlgorithm" in route.dest_args
