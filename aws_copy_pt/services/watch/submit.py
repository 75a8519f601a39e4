"""Registering a Globus task to watch (``watch``), submitting one (``submit``), and picking one.

A watched task becomes a transfer in WAITING (kind ``globus``). Everything is validated before
anything is stored: the task exists and is the user's (Globus answers 404/403 otherwise), its
destination is a registered staging collection, and the destination bucket is registered. The
task's current status is applied at once, so a task that already succeeded goes straight to
LISTING. Options live in ``transfers.options``: ``on_conflict`` (overwrite | fail),
``delete_staging`` (bool) and ``multipart_threshold`` (bytes), read by the copy engine, and the
engine choice (``services.copy.batch.settings``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.core.copy_plan import multipart_threshold_problem
from aws_copy_pt.core.overlap import Place, check_apart
from aws_copy_pt.core.paths import PathError, parse_bucket_target, parse_collection_path, parse_uuid
from aws_copy_pt.core.route import (
    RouteChoice,
    RouteDecision,
    check_stream_memory,
    decide_route,
    route_choice,
)
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.models import Bucket, Collection, Transfer
from aws_copy_pt.errors import AwsCopyPtError, ConfigError, NotFoundError, RemoteError, UsageError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.errors import Failure, GlobusCallError
from aws_copy_pt.globus.gateway import SyncLevel as SyncLevel  # part of this service's interface
from aws_copy_pt.globus.gateway import TransferClient
from aws_copy_pt.services.copy.batch.settings import (
    BatchOptions,
    check_request,
    options_for,
    refuse_batch_stream,
)
from aws_copy_pt.services.events import record_event
from aws_copy_pt.services.setup.collections import find_bucket, find_collection, mapping_of
from aws_copy_pt.services.transfers import TransferSummary, summarize
from aws_copy_pt.services.watch.poll import apply_task, fault_detail

ON_CONFLICT_CHOICES = ("overwrite", "fail")
EVENT_WATCH = "watch"
T = TypeVar("T")


TO_HINT = "give --to as BUCKET or BUCKET/PREFIX, e.g. --to partner-archive/projects/run42"
COLLECTION_PATH_HINT = "write COLLECTION_UUID:/path, e.g. 6f1e0c3a-…:/data/run42/"


@dataclass(frozen=True)
class WatchOptions:
    on_conflict: str = "overwrite"
    delete_staging: bool = False
    label: str | None = None
    multipart_threshold: int | None = None  # bytes; None: the engine's default
    route: str = RouteChoice.AUTO.value  # --route: auto | server-side | stream (core.route)
    batch: BatchOptions | None = None  # None: the destination bucket's default engine
    stream_memory: int | None = None  # bytes a streamed copy may hold; None: the default

    def __post_init__(self) -> None:
        refuse_batch_stream(self.batch, route_choice(self.route))
        if self.on_conflict not in ON_CONFLICT_CHOICES:
            raise UsageError(
                f"on-conflict must be one of {', '.join(ON_CONFLICT_CHOICES)}, "
                f"not {self.on_conflict!r}"
            )
        check_multipart_threshold(self.multipart_threshold)
        check_stream_memory(self.stream_memory)

    def as_json(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "on_conflict": self.on_conflict,
            "delete_staging": self.delete_staging,
        }
        if self.multipart_threshold is not None:
            options["multipart_threshold"] = self.multipart_threshold
        if self.route != RouteChoice.AUTO:
            options["route"] = self.route
        if self.stream_memory is not None:
            options["stream_budget"] = self.stream_memory
        return options


def check_multipart_threshold(threshold: int | None) -> None:
    """A per-transfer multipart threshold within S3's limits (None: the default)."""
    problem = None if threshold is None else multipart_threshold_problem(threshold)
    if problem is not None:
        raise UsageError(f"multipart threshold {threshold} bytes refused: {problem}")


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
    transfer_client: TransferClient,
    task_id: str,
    *,
    to: str,
    options: WatchOptions | None = None,
    now: datetime | None = None,
) -> TransferSummary:
    """Validate ``task_id`` and the destination, then register the transfer."""
    task_id = _parse(
        parse_uuid,
        task_id,
        what="Globus task id",
        hint="copy the task id from `aws-copy-pt tasks` or the Globus web app's activity page",
    )
    _check_not_watched(session, task_id)
    find_bucket(session, _parse(parse_bucket_target, to, hint=TO_HINT)[0])
    task = _get_task(transfer_client, task_id)
    faults = int(task.get("faults") or 0)  # asked before writing: no lock held over HTTP
    detail = fault_detail(transfer_client, task_id, faults) if faults else None
    return register_task(session, task, to=to, options=options, now=now, fault_detail=detail)


def register_task(
    session: Session,
    task: Mapping[str, Any],
    *,
    to: str,
    options: WatchOptions | None = None,
    now: datetime | None = None,
    fault_detail: str | None = None,
    found_by: str | None = None,
    extra_options: Mapping[str, Any] | None = None,
) -> TransferSummary:
    """Register a task document already fetched from Globus as a transfer, as `watch` does.

    The task must be a TRANSFER into a registered staging collection, not yet watched, and
    ``to`` a registered bucket that does not overlap staging. ``found_by`` names what found the
    task (a follow rule) in the transfer's first event; ``extra_options`` join the transfer's
    options. Makes no Globus call: ``fault_detail`` describes the task's faults, if any.
    """
    options = options or WatchOptions()
    task_id = str(task["task_id"])
    _check_not_watched(session, task_id)
    bucket_name, dest_prefix = _parse(parse_bucket_target, to, hint=TO_HINT)
    dest_bucket = find_bucket(session, bucket_name)
    if task.get("type", "TRANSFER") != "TRANSFER":
        raise UsageError(
            f"task {task_id} is a {task.get('type')} task: it delivers no files",
            hint="watch a TRANSFER task into a staging collection; `aws-copy-pt tasks` lists them",
        )
    collection = _staging_collection(session, task)
    mapping = mapping_of(collection)
    check_apart(Place(mapping.bucket, mapping.root_prefix), Place(dest_bucket.name, dest_prefix))
    route = _route(collection.bucket, dest_bucket, options)
    engine = options_for(options.batch, dest_bucket)
    check_request(engine, collection.bucket, dest_bucket, mapping.root_prefix, dest_prefix)
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
        options={**options.as_json(), **engine.as_json(), **(extra_options or {})},
        route=route.kind.value,
    )
    session.add(transfer)
    session.flush()
    message = f"watching Globus task {task_id} into s3://{dest_bucket.name}/{dest_prefix}"
    record_event(
        session, transfer, EVENT_WATCH, f"{message} (found by {found_by})" if found_by else message
    )
    apply_task(session, transfer, task, now or datetime.now(UTC), fault_detail)
    session.flush()
    return summarize(transfer)


def _route(staging: Bucket, dest: Bucket, options: WatchOptions) -> RouteDecision:
    """The transfer's route (``core.route``); ``--route server-side`` between two S3 services
    is refused here, before anything is registered."""
    return decide_route(
        staging.endpoint_url, dest.endpoint_url, options.route, names=(staging.name, dest.name)
    )


def submit_and_watch(
    session: Session,
    transfer_client: TransferClient,
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
    dest_name, dest_prefix = _parse(parse_bucket_target, to, hint=TO_HINT)
    dest = find_bucket(session, dest_name)
    check_apart(Place(mapping.bucket, mapping.root_prefix), Place(dest_name, dest_prefix))
    _route(collection.bucket, dest, options)  # refused before anything is submitted
    engine = options_for(options.batch, dest)  # an impossible --engine batch fails before Globus
    check_request(engine, collection.bucket, dest, mapping.root_prefix, dest_prefix)
    label = options.label or f"aws-copy-pt to {to.split('/')[0]}"
    task_id = gateway.submit_transfer(
        transfer_client,
        source=(source_id, source_path),
        destination=(staging_id, staging_path),
        label=label,
        recursive=recursive,
        sync_level=sync_level,
        verify_checksum=verify_checksum,
    )
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
    transfer_client: TransferClient,
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
        documents = gateway.recent_transfer_tasks(transfer_client, limit=100, offset=offset)
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


def _get_task(client: TransferClient, task_id: str) -> dict[str, Any]:
    try:
        return gateway.get_task(client, task_id)
    except GlobusCallError as exc:
        if exc.failure in (Failure.NOT_FOUND, Failure.DENIED):
            raise RemoteError(
                f"Globus has no task {task_id} that you can see ({exc.description})",
                hint="check the id with `aws-copy-pt tasks` or https://app.globus.org/activity; "
                "tasks of another Globus identity are not visible",
            ) from None
        raise


def _staging_collection(session: Session, task: Mapping[str, Any]) -> Collection:
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
