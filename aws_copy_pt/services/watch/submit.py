"""Registering a Globus task to watch (``watch``), submitting one (``submit``), and picking one.

A watched task becomes a transfer in WAITING (kind ``globus``). Everything is validated before
anything is stored: the task exists and is the user's (Globus answers 404/403 otherwise), its
destination is a registered staging collection, and the destination bucket is registered. The
task's current status is applied at once, so a task that already succeeded goes straight to
LISTING. Options live in ``transfers.options``: ``on_conflict`` (overwrite | fail) and
``delete_staging`` (bool), read by the copy engine, and the engine choice
(``services.copy.batch.settings``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import globus_sdk
from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.core.paths import PathError, parse_bucket_target, parse_collection_path, parse_uuid
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.models import Collection, Transfer
from aws_copy_pt.errors import (
    AwsCopyPtError,
    ConfigError,
    NeedsLoginError,
    NotFoundError,
    RemoteError,
    UsageError,
)
from aws_copy_pt.globus.errors import Failure, classify, describe, to_user_error
from aws_copy_pt.services.copy.batch.settings import BatchOptions, check_request, options_for
from aws_copy_pt.services.events import record_event
from aws_copy_pt.services.setup.collections import find_bucket, find_collection, mapping_of
from aws_copy_pt.services.transfers import TransferSummary, summarize
from aws_copy_pt.services.watch.poll import apply_task, fault_detail

ON_CONFLICT_CHOICES = ("overwrite", "fail")
SyncLevel = Literal["exists", "size", "mtime", "checksum"]
EVENT_WATCH = "watch"
T = TypeVar("T")


TO_HINT = "give --to as BUCKET or BUCKET/PREFIX, e.g. --to partner-archive/projects/run42"
COLLECTION_PATH_HINT = "write COLLECTION_UUID:/path, e.g. 6f1e0c3a-…:/data/run42/"


@dataclass(frozen=True)
class WatchOptions:
    on_conflict: str = "overwrite"
    delete_staging: bool = False
    label: str | None = None
    batch: BatchOptions | None = None  # None: the destination bucket's default engine

    def __post_init__(self) -> None:
        if self.on_conflict not in ON_CONFLICT_CHOICES:
            raise UsageError(
                f"on-conflict must be one of {', '.join(ON_CONFLICT_CHOICES)}, "
                f"not {self.on_conflict!r}"
            )

    def as_json(self) -> dict[str, Any]:
        return {"on_conflict": self.on_conflict, "delete_staging": self.delete_staging}


@dataclass(frozen=True)
class RecentTask:
    task_id: str
    label: str | None
    status: str
    request_time: str | None
    completion_time: str | None
    source: str | None
    destination_collection: str
    destination: str | None
    files: int | None
    bytes_transferred: int
    watched_as: int | None  # the transfer id, when already watched


def watch_task(
    session: Session,
    transfer_client: globus_sdk.TransferClient,
    task_id: str,
    *,
    to: str,
    options: WatchOptions | None = None,
    now: datetime | None = None,
) -> TransferSummary:
    """Validate ``task_id`` and the destination, then register the transfer."""
    options = options or WatchOptions()
    task_id = _parse(
        parse_uuid,
        task_id,
        what="Globus task id",
        hint="copy the task id from `aws-copy-pt tasks` or the Globus web app's activity page",
    )
    _check_not_watched(session, task_id)
    bucket_name, dest_prefix = _parse(parse_bucket_target, to, hint=TO_HINT)
    dest_bucket = find_bucket(session, bucket_name)
    task = _get_task(transfer_client, task_id)
    if task.get("type", "TRANSFER") != "TRANSFER":
        raise UsageError(
            f"task {task_id} is a {task.get('type')} task: it delivers no files",
            hint="watch a TRANSFER task into a staging collection; `aws-copy-pt tasks` lists them",
        )
    collection = _staging_collection(session, task)
    mapping = mapping_of(collection)
    if dest_bucket.id == collection.bucket_id and dest_prefix == mapping.root_prefix:
        raise UsageError(
            f"--to {to} is the staging location itself: every object would be copied onto itself",
            hint="pick another bucket or prefix",
        )
    engine = options_for(options.batch, dest_bucket)
    check_request(engine, collection.bucket, dest_bucket, mapping.root_prefix, dest_prefix)
    faults = int(task.get("faults") or 0)  # asked before writing: no lock held over HTTP
    detail = fault_detail(transfer_client, task_id, faults) if faults else None
    transfer = Transfer(
        label=options.label or task.get("label"),
        kind="globus",
        state=TransferState.WAITING.value,
        globus_task_id=task_id,
        collection_id=collection.id,
        source_bucket_id=collection.bucket_id,
        source_prefix=mapping.root_prefix,
        dest_bucket_id=dest_bucket.id,
        dest_prefix=dest_prefix,
        options={**options.as_json(), **engine.as_json()},
    )
    session.add(transfer)
    session.flush()
    record_event(
        session,
        transfer,
        EVENT_WATCH,
        f"watching Globus task {task_id} into s3://{dest_bucket.name}/{dest_prefix}",
    )
    apply_task(session, transfer, task, now or datetime.now(UTC), detail)
    session.flush()
    return summarize(transfer)


def submit_and_watch(
    session: Session,
    transfer_client: globus_sdk.TransferClient,
    source: str,
    destination: str,
    *,
    to: str,
    options: WatchOptions | None = None,
    recursive: bool = False,
    sync_level: SyncLevel | None = None,
    verify_checksum: bool = True,
) -> TransferSummary:
    """Submit a Globus transfer into a staging collection, then watch the new task."""
    options = options or WatchOptions()
    source_id, source_path = _parse(parse_collection_path, source, hint=COLLECTION_PATH_HINT)
    staging_id, staging_path = _parse(parse_collection_path, destination, hint=COLLECTION_PATH_HINT)
    collection = find_collection(session, staging_id)
    mapping = mapping_of(collection)
    if recursive and not mapping.covers_directory(staging_path):
        raise UsageError(
            f"{staging_path} is outside the staging mapping s3://{mapping.bucket}/"
            f"{mapping.root_prefix}: its files could not be copied",
            hint=f"see `aws-copy-pt collection list` for the mapping of {staging_id}",
        )
    if not recursive:
        _parse(
            mapping.map_path,
            staging_path,
            hint="submit into the staging bucket's mapped folder (`aws-copy-pt collection list`)",
        )
    bucket_name, dest_prefix = _parse(parse_bucket_target, to, hint=TO_HINT)
    dest = find_bucket(session, bucket_name)
    engine = options_for(options.batch, dest)  # an impossible --engine batch fails before Globus
    check_request(engine, collection.bucket, dest, mapping.root_prefix, dest_prefix)
    label = options.label or f"aws-copy-pt to {to.split('/')[0]}"
    data = globus_sdk.TransferData(
        source_endpoint=source_id,
        destination_endpoint=staging_id,
        label=label,
        sync_level=sync_level or globus_sdk.MISSING,
        verify_checksum=verify_checksum,
    )
    data.add_item(source_path, staging_path, recursive=recursive)
    try:
        task_id = str(transfer_client.submit_transfer(data)["task_id"])
    except (globus_sdk.GlobusError, NeedsLoginError) as exc:
        raise to_user_error(exc, doing="submitting the transfer") from None
    try:
        return watch_task(session, transfer_client, task_id, to=to, options=options)
    except AwsCopyPtError as exc:
        error = AwsCopyPtError(
            f"submitted Globus task {task_id}, but could not watch it: {exc.message}",
            hint=f"fix that, then run `aws-copy-pt watch {task_id} --to {to}`",
        )
        error.exit_code = exc.exit_code
        raise error from exc


def recent_tasks(
    session: Session,
    transfer_client: globus_sdk.TransferClient,
    *,
    limit: int = 20,
    scan: int = 500,
) -> list[RecentTask]:
    """The user's newest transfer tasks whose destination is a registered staging collection."""
    registered = {c.collection_id: c for c in session.scalars(select(Collection))}
    watched = dict(
        session.execute(
            select(Transfer.globus_task_id, Transfer.id).where(Transfer.globus_task_id.is_not(None))
        ).all()
    )
    found: list[RecentTask] = []
    offset = 0
    while len(found) < limit and offset < scan:
        try:
            page = transfer_client.task_list(
                limit=100, offset=offset, orderby="request_time DESC", filter={"type": "TRANSFER"}
            )
        except (globus_sdk.GlobusError, NeedsLoginError) as exc:
            raise to_user_error(exc, doing="listing your recent tasks") from None
        documents = list(page["DATA"])
        for task in documents:
            if task.get("destination_endpoint_id") in registered and len(found) < limit:
                found.append(_recent(task, watched))
        if len(documents) < 100:
            break
        offset += 100
    return found


def _recent(task: dict[str, Any], watched: dict[str | None, int]) -> RecentTask:
    return RecentTask(
        task_id=str(task["task_id"]),
        label=task.get("label"),
        status=str(task.get("status")),
        request_time=task.get("request_time"),
        completion_time=task.get("completion_time"),
        source=task.get("source_endpoint_display_name"),
        destination_collection=str(task.get("destination_endpoint_id")),
        destination=task.get("destination_endpoint_display_name"),
        files=task.get("files"),
        bytes_transferred=int(task.get("bytes_transferred") or 0),
        watched_as=watched.get(str(task["task_id"])),
    )


def _parse(parser: Callable[..., T], text: str, hint: str | None = None, **kwargs: Any) -> T:
    """Run a core parser, turning its PathError into a usage error for the user."""
    try:
        return parser(text, **kwargs)
    except PathError as exc:
        raise UsageError(str(exc), hint=hint) from None


def _check_not_watched(session: Session, task_id: str) -> None:
    existing = session.scalar(select(Transfer).where(Transfer.globus_task_id == task_id))
    if existing is not None:
        raise ConfigError(
            f"Globus task {task_id} is already watched as transfer {existing.id} "
            f"({existing.state})",
            hint=f"see `aws-copy-pt transfers show {existing.id}`",
        )


def _get_task(client: globus_sdk.TransferClient, task_id: str) -> dict[str, Any]:
    try:
        return dict(client.get_task(task_id).data or {})
    except (globus_sdk.GlobusError, NeedsLoginError) as exc:
        if classify(exc) in (Failure.NOT_FOUND, Failure.DENIED):
            raise RemoteError(
                f"Globus has no task {task_id} that you can see ({describe(exc)})",
                hint="check the id with `aws-copy-pt tasks` or https://app.globus.org/activity; "
                "tasks of another Globus identity are not visible",
            ) from None
        raise to_user_error(exc, doing=f"looking up task {task_id}") from None


def _staging_collection(session: Session, task: dict[str, Any]) -> Collection:
    cid = str(task.get("destination_endpoint_id"))
    collection = session.scalar(select(Collection).where(Collection.collection_id == cid))
    if collection is None:
        name = task.get("destination_endpoint_display_name") or cid
        raise NotFoundError(
            f"the task writes into collection {cid} ({name}), which is not a registered "
            "staging collection",
            hint=f"register it: `aws-copy-pt collection add {cid} --bucket STAGING_BUCKET`",
        )
    return collection
