"""Copy a transfer's objects server-side and verify them: the engine behind every copy.

The pipeline, one module per stage (in the order an object meets them):

============ ======================================================================================
``route``    the clients, credentials and request path (the CRT or boto3) for two registered
             buckets, and the transfer's route (``core.route``): server-side, or streamed between
             two stores
``rows``     read the transfer's object rows in batches of contiguous source keys; write in bulk
``plan``     per batch: list the staging and destination ranges (one request per 1,000 objects
             instead of a HEAD each); what the listings already decide is decided there
``conflict`` a destination object that exists: identical (content, or the copy's record of its
             source): skip; different: overwrite or refuse; not proven either way: say so
``worker``   one object on a worker thread: CopyObject or a multipart copy, its content checked
             against the copy's answer (checksum, else ETag), a record of its source where nothing
             else could prove it identical later
``stream``   instead of ``worker`` on the stream route (or for an object whose store refuses
             UploadPartCopy): GET with the source's credential, upload with the destination's,
             hashes checked end to end; ``stream_parts`` for large objects (a byte budget bounds
             memory; ``parts`` records finished parts for a resume)
``flight``   the plain copies (one CopyObject proves them) without a thread each: a bounded
             window of requests in flight, answers judged as they land
``verify``   per batch, once its copies are back: a destination listing must show each size (and
             ETag); then the row is ``verified``
``cleanup``  with ``delete_staging``: the deletes owed by verified and skipped rows, recorded
             before they are sent, each bound to the verified ETag or version
``cancel``   a ``transfers cancel`` from another process, seen while the pass runs
``report``   progress while it runs, the report it returns, the transfer's next state and events
============ ======================================================================================

``batch`` is the other way to make the copies: an S3 Batch Operations job takes the
``worker`` stage's place for the objects it can copy (see its docstring); its copies come back
as ``copied`` rows that ``plan`` and ``verify`` treat like any other.

``engine`` is the loop that ties the stages together (batches out to ``pool``'s worker threads,
results back into ``rows``); this module sets it up for one transfer. ``direct`` is
`aws-copy-pt copy`: a direct copy between two buckets, listed while it is copied.

``copy_transfer`` works on a transfer in COPYING (``copy_while_listing`` on a direct copy whose
rows are still being listed). Rows move pending -> copying -> copied -> verified (or skipped /
failed), written in bulk. Verified and skipped rows are never copied again (their staging object
changed after the copy: they fail, for a retry that plans them afresh); rows a crash
left ``copying`` are planned again (a stored multipart upload resumes). A ``stop`` event
(SIGTERM) takes no new object, lets copies in flight finish, leaves interrupted multipart uploads
resumable and returns with the transfer still COPYING. A failure every object would hit (access
denied, a skewed clock, an unreachable endpoint) ends the run early, its untried objects still
pending. Before anything, a transfer whose destination overlaps its source is refused
(``core.overlap``): it fails, and nothing is copied or deleted.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.orm import Session

from aws_copy_pt.core.copy_plan import (
    DEFAULT_MULTIPART_THRESHOLD,
    ConflictPolicy,
)
from aws_copy_pt.core.overlap import OverlapError, Place, check_apart
from aws_copy_pt.core.route import (
    DEFAULT_STREAM_MEMORY,
    STREAM_PART_SIZE,
    RouteKind,
    same_service,
)
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Transfer
from aws_copy_pt.errors import NotFoundError, UsageError
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.s3.streaming import StreamEnd
from aws_copy_pt.services.copy.batch.job import PollBounds
from aws_copy_pt.services.copy.cleanup import abort_uploads
from aws_copy_pt.services.copy.engine import CopyEngine
from aws_copy_pt.services.copy.parts import ByteBudget, PartBook
from aws_copy_pt.services.copy.pool import EitherEvent, WorkerPool
from aws_copy_pt.services.copy.report import CopyProgress, CopyReport, ProgressCallback
from aws_copy_pt.services.copy.route import build_route, route_between, stream_ends
from aws_copy_pt.services.copy.rows import Arrivals
from aws_copy_pt.services.copy.stream import StreamSpec
from aws_copy_pt.services.copy.worker import CopySpec
from aws_copy_pt.services.events import move_transfer, record_event

__all__ = [
    "DEFAULT_CONCURRENCY",
    "CopyProgress",
    "CopyReport",
    "copy_transfer",
    "copy_while_listing",
]

# Copies in flight at once. Plain copies (one CopyObject each) cost no thread (``flight``), so
# the window can be as wide as a distant S3 needs: at 30 ms per answer, 256 copied 3,000 objects
# in 9.0 s against 10.6 s at 32, and no more CPU without latency (benchmarks/README.md).
DEFAULT_CONCURRENCY = 256
# Worker threads at most: the rest (HEADs first, multipart copies, verification, deletes) share
# these, whatever ``concurrency`` allows in flight.
MAX_WORKERS = 32


def copy_transfer(
    db: Database,
    factory: ClientFactory,
    transfer_id: int,
    *,
    concurrency: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    poll_bounds: PollBounds | None = None,
) -> CopyReport:
    """Copy, verify and record every object of transfer ``transfer_id`` (state COPYING).

    Options read from ``transfer.options``: ``on_conflict`` (overwrite|fail),
    ``delete_staging``, ``annotate`` (default: Globus transfers), ``multipart_threshold`` and
    ``part_size`` (bytes), and the batch engine's (``services.copy.batch.settings``);
    streamed transfers: ``stream_budget`` (bytes held in memory at once) and
    ``flexible_checksums`` (the destination checks ``x-amz-checksum-*``: parts carry a CRC, the
    upload completes with a ``FULL_OBJECT`` one; default: on AWS only).

    A transfer whose destination overlaps its source is refused first (it fails; no job is
    created). A batch job of the transfer is then moved on (``poll_bounds``: its adaptive poll
    timer);
    the local engine then copies what the job does not hold and verifies what it copied. A
    failed job step is raised after the local engine's run was recorded.
    """
    from aws_copy_pt.services.copy.batch import advance_batch, waiting_report

    with db.session() as session:  # before a job is created or polled
        transfer = session.get(Transfer, transfer_id)
        if transfer is not None and transfer.state == TransferState.COPYING:
            _refuse_overlap(session, transfer)
    batch = advance_batch(db, factory, transfer_id, stop=stop, bounds=poll_bounds)
    if batch.transfer_state != TransferState.COPYING:  # the job was cancelled, and with it
        return CopyReport(transfer_id, batch.transfer_state)
    if batch.held and not batch.local_work:  # only the job's copies are left: nothing to run
        report = waiting_report(batch, transfer_id)
    else:
        report = _run(db, factory, transfer_id, concurrency, progress, stop, None, batch.held)
    report.batch_job_id, report.batch_status = batch.job_id, batch.status
    if batch.error is not None:
        raise batch.error
    return report


def copy_while_listing(
    db: Database,
    factory: ClientFactory,
    transfer_id: int,
    arrivals: Arrivals,
    *,
    concurrency: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> CopyReport:
    """:func:`copy_transfer` for a transfer still in LISTING, copying its rows as a listing
    thread announces them (``arrivals``). Once everything listed is done the transfer moves on
    from LISTING; if the listing stopped short it stays there, to be resumed."""
    return _run(db, factory, transfer_id, concurrency, progress, stop, arrivals, 0)


def _run(
    db: Database,
    factory: ClientFactory,
    transfer_id: int,
    concurrency: int | None,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    arrivals: Arrivals | None,
    held_by_batch: int,
) -> CopyReport:
    window = max(1, concurrency or DEFAULT_CONCURRENCY)
    workers = min(window, MAX_WORKERS)
    expected = TransferState.COPYING if arrivals is None else TransferState.LISTING
    with db.session() as session:
        transfer = _transfer_in(session, transfer_id, expected)
        _refuse_overlap(session, transfer)
        streams = _decide_route(session, transfer) is RouteKind.STREAM
        route = build_route(factory, transfer.source_bucket, transfer.dest_bucket)
        options = dict(transfer.options or {})
        ends = stream_ends(
            factory,
            transfer.source_bucket,
            transfer.dest_bucket,
            dest_flexible=options.get("flexible_checksums"),
        )
        prefixes = (transfer.source_prefix, transfer.dest_prefix)
        annotate = bool(options.get("annotate", transfer.kind == "globus"))
        task_id = transfer.globus_task_id
    stop = stop or threading.Event()
    engine = CopyEngine(db, transfer_id, prefixes, bool(options.get("delete_staging")), progress)
    with (
        WorkerPool(workers, "acp-copy", window=window) as pool,
        ThreadPoolExecutor(workers, thread_name_prefix="acp-part") as part_pool,
    ):
        spec = CopySpec(
            route=route,
            conflict=ConflictPolicy(options.get("on_conflict", ConflictPolicy.OVERWRITE)),
            threshold=int(options.get("multipart_threshold", DEFAULT_MULTIPART_THRESHOLD)),
            part_size=_optional_int(options.get("part_size")),
            annotate=annotate,
            globus_task_id=task_id,
            part_pool=part_pool,
            stop=EitherEvent(stop, engine.halt),
            breaker=engine.breaker,
            remember=engine.remember_upload,
            stream=_stream_spec(db, ends, options),
            streams=streams,
        )
        engine.run(spec, pool, stop, arrivals)
    if engine.cancel.cancelled:
        abort_uploads(db, route, transfer_id)  # nothing resumes them: stop their billing
    engine.report.held_by_batch = held_by_batch
    report = engine.finish(listing_complete=None if arrivals is None else arrivals.complete)
    report.route = RouteKind.STREAM.value if streams else RouteKind.SERVER_SIDE.value
    return report


def _refuse_overlap(session: Session, transfer: Transfer) -> None:
    """Refuse, before any copy or delete, a transfer whose destination overlaps its source
    (recorded by an older version, or by hand): it fails, and says why."""
    if not same_service(transfer.source_bucket.endpoint_url, transfer.dest_bucket.endpoint_url):
        return  # two stores: the same bucket name is two buckets
    source = Place(transfer.source_bucket.name, transfer.source_prefix)
    dest = Place(transfer.dest_bucket.name, transfer.dest_prefix)
    try:
        check_apart(source, dest, source_is="its source")
    except OverlapError as error:
        transfer.last_error = f"refused before copying: {error.message}"
        move_transfer(session, transfer, TransferState.FAILED, transfer.last_error)
        session.commit()
        error.hint = (
            f"nothing was copied or deleted; `aws-copy-pt transfers cancel {transfer.id}`, then "
            f"watch again with another destination ({error.hint})"
        )
        raise


def _decide_route(session: Session, transfer: Transfer) -> RouteKind:
    """The transfer's route: decided by its first copy run and stored; decided again only when
    ``--route`` asks for another one (a resumed `copy --route stream`)."""
    requested = (transfer.options or {}).get("route")
    if transfer.route is not None and requested in (None, "auto", transfer.route):
        return RouteKind(transfer.route)
    try:
        decision = route_between(transfer.source_bucket, transfer.dest_bucket, requested)
    except UsageError as error:
        transfer.last_error = f"refused before copying: {error.message}"
        move_transfer(session, transfer, TransferState.FAILED, transfer.last_error)
        session.commit()
        raise
    if transfer.route != decision.kind:
        record_event(session, transfer, "route", f"{decision.kind}: {decision.reason}")
        transfer.route = decision.kind.value
        session.commit()
    return decision.kind


def _stream_spec(
    db: Database, ends: tuple[StreamEnd, StreamEnd], options: dict[str, Any]
) -> StreamSpec:
    """The streamed side of a run: ``part_size`` (bytes per ranged GET and part) and
    ``stream_budget`` (bytes held in memory at once, all objects together) from the options."""
    part_size = int(options.get("part_size") or STREAM_PART_SIZE)
    budget = int(options.get("stream_budget") or DEFAULT_STREAM_MEMORY)
    return StreamSpec(*ends, ByteBudget(budget), PartBook(db), part_size)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _transfer_in(session: Session, transfer_id: int, state: TransferState) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFoundError(f"there is no transfer {transfer_id}", hint="see `aws-copy-pt status`")
    if transfer.state != state:
        raise UsageError(
            f"transfer {transfer_id} is {transfer.state}, not {state}: nothing to copy",
            hint=f"`aws-copy-pt transfers retry {transfer_id}` puts failed objects back in line",
        )
    return transfer
