"""Deleting staging objects, each delete bound to exactly what was verified.

A staging object may be replaced after its copy was verified (Globus delivering the file again,
a user re-uploading it). An unconditional delete would then remove bytes that were never copied.
So every delete names what it may remove:

* the version copied, on a versioned bucket (``VersionId``: that version and nothing else);
* otherwise the verified ETag: ``DeleteObjects`` carries an ``<ETag>`` per object and S3 deletes
  the object only while it still has that ETag (a conditional delete; S3 answers
  ``PreconditionFailed`` for one that changed, and keeps it).

Not every store honours the condition: ``rclone serve s3`` ignores it and deletes anyway. Support
is detected once per endpoint and bucket by a probe that cannot delete anything: a conditional
``DeleteObject`` of a key that does not exist, with an ETag nothing has. A store that honours
conditions refuses it (``NoSuchKey`` or ``PreconditionFailed``); one that answers "deleted"
ignored the condition. For those stores the ETags are compared first (a listing of the key
range, HEAD for keys it does not reach) and only unchanged objects are deleted: an object
replaced between that look and the delete (a window of one request) is still lost there, which
the README names.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aws_copy_pt.core.copy_plan import common_prefix, quoted_etag
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.arguments import settings_for
from aws_copy_pt.s3.copier import CopyRoute, call, list_range
from aws_copy_pt.s3.errors import error_code

log = logging.getLogger(__name__)

PER_REQUEST = 1000  # DeleteObjects' limit
CHANGED = "changed after it was copied; kept"
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})
_GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
_CONDITION_IGNORED_CODES = frozenset({"NotImplemented", "501", "InvalidArgument", "InvalidRequest"})
_PROBE_ETAG = quoted_etag("0" * 32)

_support: dict[tuple[str, str], bool] = {}
_support_lock = threading.Lock()


@dataclass(frozen=True)
class BoundDelete:
    """One staging object to delete, and what it must still be for the delete to happen."""

    key: str
    etag: str | None  # the verified ETag (normalized: no quotes)
    version_id: str | None = None  # the version copied, on a versioned bucket


@dataclass
class DeleteOutcome:
    deleted: list[str] = field(default_factory=list)  # deleted now, or already gone
    changed: list[str] = field(default_factory=list)  # replaced since the copy: kept
    errors: dict[str, str] = field(default_factory=dict)  # key -> why (try again later)


def delete_staging(route: CopyRoute, items: list[BoundDelete]) -> DeleteOutcome:
    """Delete ``items`` from the staging bucket, each only if it is still what was verified."""
    outcome = DeleteOutcome()
    unbound = [item for item in items if item.etag is None and item.version_id is None]
    for item in unbound:
        outcome.errors[item.key] = "no verified ETag or version to bind the delete to; kept"
    bound = [item for item in items if item.etag is not None or item.version_id is not None]
    if not bound:
        return outcome
    if not conditional_deletes(route, _folder(common_prefix(sorted(i.key for i in bound)))):
        bound = _unchanged(route, bound, outcome)
    for start in range(0, len(bound), PER_REQUEST):
        _delete_chunk(route, bound[start : start + PER_REQUEST], outcome)
    return outcome


def conditional_deletes(route: CopyRoute, prefix: str) -> bool:
    """Whether the staging store honours ETag conditions on deletes (AWS does; probed once per
    endpoint and bucket otherwise). ``prefix``: where the probe key goes (inside the folder
    whose objects are deleted, so a policy scoped to it allows the probe)."""
    if route.source_endpoint is None:
        return True  # AWS: conditional deletes on every general purpose bucket
    place = (route.source_endpoint, route.source_bucket)
    with _support_lock:
        known = _support.get(place)
    if known is not None:
        return known
    verdict = _probe(route, f"{prefix}.aws-copy-pt-delete-probe-{uuid.uuid4().hex}")
    if verdict is None:
        return True  # could not tell (denied, unreachable): the deletes will say more
    with _support_lock:
        _support[place] = verdict
    if not verdict:
        log.warning(
            "%s (%s) ignores the ETag condition of deletes: staging objects are compared "
            "before they are deleted instead",
            route.source_bucket,
            route.source_endpoint,
        )
    return verdict


def _probe(route: CopyRoute, key: str) -> bool | None:
    try:
        route.source_client.delete_object(
            Bucket=route.source_bucket,
            Key=key,
            IfMatch=_PROBE_ETAG,
            **settings_for("DeleteObject", route.source_args),
        )
    except ClientError as exc:
        code = error_code(exc)
        if code in _GONE_CODES or code in _CHANGED_CODES:
            return True
        if code in _CONDITION_IGNORED_CODES:
            return False
        return None
    except BotoCoreError:
        return None
    return False  # "deleted" an object that does not exist: the condition was ignored


def _folder(prefix: str) -> str:
    return prefix[: prefix.rfind("/") + 1]


def _unchanged(
    route: CopyRoute, items: list[BoundDelete], outcome: DeleteOutcome
) -> list[BoundDelete]:
    """For a store that ignores delete conditions: the items whose object still has the
    verified ETag (a version id needs no comparison: it names the bytes copied)."""
    by_etag = [item for item in items if item.version_id is None]
    keep = [item for item in items if item.version_id is not None]
    if not by_etag:
        return keep
    keys = sorted(item.key for item in by_etag)
    try:
        listed = list_range(
            route.lister(source=True), keys, prefix=common_prefix(keys), page_budget=2
        )
    except AwsCopyPtError as exc:
        log.info("listing staging before deleting failed (%s); looking at each object", exc)
        listed = None
    for item in by_etag:
        try:
            if listed is not None and listed.covers(item.key):
                found = listed.found.get(item.key)
                etag = None if found is None else found.etag
                present = found is not None
            else:
                seen = route.head_source(item.key)
                etag, present = (None, False) if seen is None else (seen.facts.etag, True)
        except AwsCopyPtError as exc:
            outcome.errors[item.key] = str(exc)
            continue
        if not present:
            outcome.deleted.append(item.key)
        elif etag != item.etag:
            outcome.changed.append(item.key)
        else:
            keep.append(item)
    return keep


def _delete_chunk(route: CopyRoute, items: list[BoundDelete], outcome: DeleteOutcome) -> None:
    objects: Any = [_identifier(item) for item in items]

    def request() -> Mapping[str, Any]:
        return route.source_client.delete_objects(
            Bucket=route.source_bucket,
            Delete={"Objects": objects, "Quiet": False},
            **settings_for("DeleteObjects", route.source_args),
        )

    try:
        answer = call("DeleteObject", route.source_bucket, None, request)  # s3:DeleteObject
    except AwsCopyPtError as exc:
        outcome.errors.update(dict.fromkeys((item.key for item in items), str(exc)))
        return
    outcome.deleted.extend(item["Key"] for item in answer.get("Deleted", []))
    for item in answer.get("Errors", []):
        code = str(item.get("Code"))
        if code in _CHANGED_CODES:
            outcome.changed.append(item["Key"])
        elif code in _GONE_CODES:
            outcome.deleted.append(item["Key"])
        else:
            outcome.errors[item["Key"]] = f"{code}: {item.get('Message')}"


def _identifier(item: BoundDelete) -> dict[str, str]:
    if item.version_id is not None:
        return {"Key": item.key, "VersionId": item.version_id}
    assert item.etag is not None
    return {"Key": item.key, "ETag": quoted_etag(item.etag)}
