"""Direct copies between two registered buckets, without Globus (`aws-copy-pt copy`).

A direct copy is recorded as a transfer like any other (kind ``direct``). It is created in
LISTING; a thread pages the source prefix into object rows (each page committed with the key
to resume after, ``transfers.listing_marker``) while the copy engine (``services.copy``)
already copies the rows listed so far - s5cmd-style, instead of listing 100,000 objects before
the first copy. Once the listing is complete the transfer moves on (COPYING, then DONE /
PARTIAL / FAILED); a crash or a stop leaves it in LISTING, and running the same copy again
resumes it - retrying the objects that failed - instead of starting a new one.

Prefixes are folders: ``bucket/data`` and ``bucket/data/`` both copy the keys under ``data/``,
to the same relative keys below the destination prefix.

A dry run streams both listings side by side (both are in key order) and counts what a copy
would do, without writing anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from aws_copy_pt.core.batch_manifest import BATCH_COPY_MAX_BYTES
from aws_copy_pt.core.copy_plan import (
    DEFAULT_MULTIPART_THRESHOLD,
    CopyMethod,
    Destination,
    ObjectFacts,
    choose_method,
    destination_key,
    judge_destination,
    normalize_prefix,
    size_problem,
)
from aws_copy_pt.core.overlap import Place, check_apart
from aws_copy_pt.core.route import (
    STREAM_PART_SIZE,
    RouteChoice,
    RouteDecision,
    RouteKind,
    check_stream_memory,
    route_choice,
    same_service,
)
from aws_copy_pt.core.states import (
    RETRY_VALUES,
    ObjectState,
    TransferState,
    check_object_transition,
)
from aws_copy_pt.db.bulk import NewRow, insert_pending
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Bucket, ObjectCopy, Transfer
from aws_copy_pt.errors import AwsCopyPtError, UsageError
from aws_copy_pt.s3.copier import Lister, facts_from_listing
from aws_copy_pt.s3.multipart import StopFlag
from aws_copy_pt.services.copy import copy_transfer, copy_while_listing
from aws_copy_pt.services.copy.batch.actions import wait_for_job
from aws_copy_pt.services.copy.batch.settings import (
    BatchOptions,
    check_request,
    may_use_batch,
    options_for,
    refuse_batch_stream,
)
from aws_copy_pt.services.copy.pool import EitherEvent, prefetched
from aws_copy_pt.services.copy.report import CopyReport, ProgressCallback
from aws_copy_pt.services.copy.route import lister_for, route_between
from aws_copy_pt.services.copy.rows import Arrivals
from aws_copy_pt.services.events import move_transfer, record_event
from aws_copy_pt.services.setup.buckets import get_bucket

if TYPE_CHECKING:
    from aws_copy_pt.s3.clients import ClientFactory

log = logging.getLogger(__name__)

RESUMABLE_STATES = (
    TransferState.LISTING,
    TransferState.COPYING,
    TransferState.PARTIAL,
    TransferState.FAILED,
)


@dataclass(frozen=True)
class Location:
    """``BUCKET[/PREFIX]`` as typed on the command line (an ``s3://`` URL works too)."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> Location:
        cleaned = text.removeprefix("s3://").lstrip("/")
        bucket, _, prefix = cleaned.partition("/")
        if not bucket:
            raise UsageError(
                f"{text!r} names no bucket", hint="write BUCKET or BUCKET/PREFIX, e.g. staging/run1"
            )
        return cls(bucket, normalize_prefix(prefix))

    def __str__(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket


@dataclass(frozen=True)
class DirectCopy:
    """What the user asked for: from where to where, and how."""

    source: Location
    dest: Location
    on_conflict: str = "overwrite"
    delete_staging: bool = False
    annotate: bool = False
    multipart_threshold: int | None = None  # bytes; None: the engine's default
    route: str = RouteChoice.AUTO.value  # --route: auto | server-side | stream
    batch: BatchOptions | None = None  # None: the destination bucket's default engine
    stream_memory: int | None = None  # bytes a streamed copy may hold; None: the default

    def __post_init__(self) -> None:
        refuse_batch_stream(self.batch, route_choice(self.route))
        check_stream_memory(self.stream_memory)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "on_conflict": self.on_conflict,
            "delete_staging": self.delete_staging,
            "annotate": self.annotate,
            "route": self.route,
        }
        if self.multipart_threshold is not None:
            options["multipart_threshold"] = self.multipart_threshold
        if self.stream_memory is not None:
            options["stream_budget"] = self.stream_memory
        return options


@dataclass
class DryRun:
    """What a copy would do, counted from the two listings."""

    objects: int = 0
    bytes: int = 0
    single: int = 0
    multipart: int = 0
    multipart_bytes: int = 0
    new: int = 0
    identical: int = 0  # would be skipped
    different: int = 0  # would be overwritten, or fail with --on-conflict fail
    unsure: int = 0  # same size, not comparable from listings: checked during the copy
    too_large: int = 0  # over 50 TB: would fail
    too_large_examples: list[str] = field(default_factory=list)
    route: str = RouteKind.SERVER_SIDE.value  # how the objects would travel (core.route)
    route_reason: str = ""
    # Objects a batch job could copy (size within its limit): new ones, and the others
    # (different or unsure) that only --on-conflict overwrite sends to a job.
    batch_new: int = 0
    batch_other: int = 0
    batch_bytes: int = 0


Listed = Callable[[int], None]  # objects listed so far
MAX_EXAMPLES = 10


def dry_run(
    db: Database, factory: ClientFactory, request: DirectCopy, *, threshold: int | None = None
) -> DryRun:
    """Count what ``request`` would copy, skip and refuse, without changing anything."""
    with db.session() as session:
        source_bucket, dest_bucket, decision = _buckets(session, request)
        sources = lister_for(factory, source_bucket)
        destinations = lister_for(factory, dest_bucket)
    limit = threshold or request.multipart_threshold or DEFAULT_MULTIPART_THRESHOLD
    if decision.kind is RouteKind.STREAM:
        limit = STREAM_PART_SIZE  # larger objects are streamed in parts
    result = DryRun(route=decision.kind.value, route_reason=decision.reason)
    dests = _relative(destinations.pages(request.dest.prefix), request.dest.prefix)
    try:
        pending_dest: tuple[str, ObjectFacts] | None = next(dests, None)
        for relative, source in _relative(
            sources.pages(request.source.prefix), request.source.prefix
        ):
            while pending_dest is not None and pending_dest[0] < relative:
                pending_dest = next(dests, None)
            dest = pending_dest[1] if pending_dest and pending_dest[0] == relative else None
            _count(result, relative, source, dest, limit)
    except AwsCopyPtError as error:
        sources.name_credential(error)
        destinations.name_credential(error)
        raise
    return result


def _count(
    result: DryRun, key: str, source: ObjectFacts, dest: ObjectFacts | None, limit: int
) -> None:
    size = source.size or 0
    result.objects += 1
    result.bytes += size
    if size_problem(source.size):
        result.too_large += 1
        if len(result.too_large_examples) < MAX_EXAMPLES:
            result.too_large_examples.append(key)
        return
    verdict = judge_destination(source, dest)
    if verdict is Destination.IDENTICAL:
        result.identical += 1
        return
    result.new += verdict is Destination.ABSENT
    result.different += verdict is Destination.DIFFERENT
    result.unsure += verdict is Destination.UNSURE
    if size <= BATCH_COPY_MAX_BYTES:
        result.batch_new += verdict is Destination.ABSENT
        result.batch_other += verdict is not Destination.ABSENT
        result.batch_bytes += size
    if choose_method(size, limit) is CopyMethod.MULTIPART:
        result.multipart += 1
        result.multipart_bytes += size
    else:
        result.single += 1


def run_copy(
    db: Database,
    factory: ClientFactory,
    request: DirectCopy,
    *,
    concurrency: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    listed: Listed | None = None,
) -> CopyReport:
    """Copy ``request``: the unfinished transfer for it is resumed (its failed objects retried),
    else a new one is created. While the source is listed (a thread pages it into rows), the
    engine already copies what is listed; a listing failure is raised once the copies in
    flight are recorded, and the transfer stays in LISTING for the next run."""
    stop = stop or threading.Event()
    with db.session() as session:
        source_bucket, dest_bucket, _ = _buckets(session, request)
        engine = options_for(request.batch, dest_bucket)
        check_request(
            engine, source_bucket, dest_bucket, request.source.prefix, request.dest.prefix
        )
        options = {**request.options(), **engine.as_json()}
        transfer = _resumable(session, request, source_bucket, dest_bucket)
        if transfer is None:
            transfer = _create(session, request, source_bucket, dest_bucket, options)
        else:
            _resume(session, transfer, options)
        transfer_id, state, marker = transfer.id, transfer.state, transfer.listing_marker
        lister = lister_for(factory, source_bucket)
        prefixes = (request.source.prefix, request.dest.prefix)
        whole_list_first = may_use_batch(engine, source_bucket, dest_bucket, prefixes)
    if state == TransferState.LISTING and whole_list_first:
        listed_all = _list_all(db, lister, transfer_id, request, marker, listed, stop)
        if listed_all is not None:
            return listed_all
        state = TransferState.COPYING
    if state != TransferState.LISTING:

        def one_pass() -> CopyReport:
            return copy_transfer(
                db, factory, transfer_id, concurrency=concurrency, progress=progress, stop=stop
            )

        report = wait_for_job(db, transfer_id, stop, one_pass, one_pass())
        report.stopped = report.stopped or (stop.is_set() and report.held_by_batch > 0)
        return report
    arrivals = Arrivals()
    copies_done = threading.Event()
    listing = threading.Thread(
        target=_list_into_rows,
        args=(db, lister, transfer_id, request, marker),
        kwargs={"arrivals": arrivals, "listed": listed, "quit": EitherEvent(stop, copies_done)},
        name="acp-list",
        daemon=True,
    )
    listing.start()
    try:
        report = copy_while_listing(
            db,
            factory,
            transfer_id,
            arrivals,
            concurrency=concurrency,
            progress=progress,
            stop=stop,
        )
    finally:
        copies_done.set()
        listing.join()
    if arrivals.error is not None:
        lister.name_credential(arrivals.error)
        raise arrivals.error
    return report


def _buckets(session: Session, request: DirectCopy) -> tuple[Bucket, Bucket, RouteDecision]:
    source = get_bucket(session, request.source.bucket)
    dest = get_bucket(session, request.dest.bucket)
    decision = route_between(source, dest, request.route)
    if same_service(source.endpoint_url, dest.endpoint_url):  # else a name is no clash
        check_apart(
            Place(source.name, request.source.prefix),
            Place(dest.name, request.dest.prefix),
            source_is="the source",
        )
    return source, dest, decision


def _resumable(
    session: Session, request: DirectCopy, source: Bucket, dest: Bucket
) -> Transfer | None:
    query = (
        select(Transfer)
        .where(
            Transfer.kind == "direct",
            Transfer.source_bucket_id == source.id,
            Transfer.source_prefix == request.source.prefix,
            Transfer.dest_bucket_id == dest.id,
            Transfer.dest_prefix == request.dest.prefix,
            Transfer.state.in_([s.value for s in RESUMABLE_STATES]),
        )
        .order_by(Transfer.id.desc())
    )
    return session.scalars(query).first()


def _list_all(
    db: Database,
    lister: Lister,
    transfer_id: int,
    request: DirectCopy,
    marker: str | None,
    listed: Listed | None,
    stop: threading.Event,
) -> CopyReport | None:
    """List the whole source before copying (a batch job needs every object in one
    manifest); None once the transfer is COPYING (or DONE), else the report of a stop."""
    arrivals = Arrivals()
    _list_into_rows(
        db, lister, transfer_id, request, marker, arrivals=arrivals, listed=listed, quit=stop
    )
    if arrivals.error is not None:
        lister.name_credential(arrivals.error)
        raise arrivals.error
    if not arrivals.complete:
        return CopyReport(transfer_id, TransferState.LISTING.value, stopped=True)
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        listed_rows = session.scalar(
            select(func.count(ObjectCopy.id)).where(ObjectCopy.transfer_id == transfer_id)
        )
        if not listed_rows:
            move_transfer(session, transfer, TransferState.DONE, "the source holds no object")
            return CopyReport(transfer_id, TransferState.DONE.value)
        move_transfer(session, transfer, TransferState.COPYING, f"{listed_rows} object(s) listed")
    return None


def _create(
    session: Session, request: DirectCopy, source: Bucket, dest: Bucket, options: dict[str, Any]
) -> Transfer:
    transfer = Transfer(
        label=f"copy {request.source} -> {request.dest}",
        kind="direct",
        state=TransferState.LISTING.value,
        source_bucket_id=source.id,
        source_prefix=request.source.prefix,
        dest_bucket_id=dest.id,
        dest_prefix=request.dest.prefix,
        options=options,
    )
    session.add(transfer)
    session.flush()
    record_event(session, transfer, "created", f"direct copy {request.source} -> {request.dest}")
    return transfer


def _resume(session: Session, transfer: Transfer, options: dict[str, Any]) -> None:
    """Pick an unfinished copy up again, with this run's options; failed objects are retried."""
    transfer.options = {**(transfer.options or {}), **options}
    check_object_transition(ObjectState.FAILED, ObjectState.PENDING)
    retried = cast(
        CursorResult[Any],
        session.execute(
            update(ObjectCopy)
            .where(ObjectCopy.transfer_id == transfer.id, ObjectCopy.state == ObjectState.FAILED)
            .values(**RETRY_VALUES)
        ),
    ).rowcount
    why = f"copy run again: {retried} failed object(s) retried"
    if transfer.state in (TransferState.PARTIAL, TransferState.FAILED):
        target = TransferState.LISTING if transfer.listing_marker else TransferState.COPYING
        move_transfer(session, transfer, target, why)
    else:
        record_event(session, transfer, "resumed", f"{why} ({transfer.state})")


def _list_into_rows(
    db: Database,
    lister: Lister,
    transfer_id: int,
    request: DirectCopy,
    marker: str | None,
    *,
    arrivals: Arrivals,
    listed: Listed | None,
    quit: StopFlag,
) -> None:
    """Page the source prefix into pending rows, each page committed with the key to resume
    after (the next page is fetched meanwhile); tell ``arrivals`` how it went."""
    seen = 0
    try:
        for page in prefetched(lister.pages(request.source.prefix, marker)):
            if quit.is_set():
                arrivals.finish(complete=False)
                return
            rows = [row for item in page if (row := _row(transfer_id, request, item)) is not None]
            with db.session() as session:
                insert_pending(session, rows)
                _set_marker(session, transfer_id, page[-1]["Key"])
            arrivals.committed(len(rows), sum(row[3] or 0 for row in rows))
            seen += len(page)
            if listed is not None:
                listed(seen)
        with db.session() as session:
            _set_marker(session, transfer_id, None)
    except BaseException as error:  # the copying thread raises it
        arrivals.finish(complete=False, error=error)
        return
    arrivals.finish(complete=True)


def _set_marker(session: Session, transfer_id: int, marker: str | None) -> None:
    query = update(Transfer).where(Transfer.id == transfer_id).values(listing_marker=marker)
    session.execute(query)


def _row(transfer_id: int, request: DirectCopy, item: Mapping[str, Any]) -> NewRow | None:
    key = item["Key"]
    relative = key[len(request.source.prefix) :]
    if not relative:
        return None  # the prefix's own folder marker
    facts = facts_from_listing(item)
    algorithm = facts.algorithms[0] if facts.algorithms else None
    return (
        transfer_id,
        key,
        destination_key(request.dest.prefix, relative),
        facts.size,
        facts.etag,
        algorithm,
    )


def _relative(
    pages: Iterator[list[Mapping[str, Any]]], prefix: str
) -> Iterator[tuple[str, ObjectFacts]]:
    for page in pages:
        for item in page:
            relative = item["Key"][len(prefix) :]
            if relative:
                yield relative, facts_from_listing(item)
