"""Copy a transfer's objects server-side and verify them: the engine behind every copy.

The pipeline, one module per stage (in the order an object meets them):

============ ======================================================================================
``route``    the clients, credentials and request path (the CRT or boto3) for two registered buckets
``rows``     read the transfer's object rows in batches of contiguous source keys; write in bulk
``plan``     per batch: list the staging and destination ranges (one request per 1,000 objects
             instead of a HEAD each); what the listings already decide is decided there
``conflict`` a destination object that exists: identical (content, or the copy's record of its
             source): skip; different: overwrite or refuse; not proven either way: say so
``worker``   one object on a worker thread: CopyObject or a multipart copy, its content checked
             against the copy's answer (checksum, else ETag), a record of its source where nothing
             else could prove it identical later
``flight``   the plain copies (one CopyObject proves them) without a thread each: a bounded
             window of requests in flight, answers judged as they land
``verify``   per batch, once its copies are back: a destination listing must show each size (and
             ETag); then the row is ``verified``
``cleanup``  with ``delete_staging``: the deletes owed by verified and skipped rows, recorded
             before they are sent, each bound to the verified ETag or version
``cancel``   a ``transfers cancel`` from another process, seen while the pass runs
``report``   progress while it runs, the report it returns, the transfer's next state and events
============ ======================================================================================

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
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Transfer
from aws_copy_pt.errors import NotFoundError, UsageError
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.services.copy.cleanup import abort_uploads
from aws_copy_pt.services.copy.engine import CopyEngine
from aws_copy_pt.services.copy.pool import EitherEvent, WorkerPool
from aws_copy_pt.services.copy.report import CopyProgress, CopyReport, ProgressCallback
from aws_copy_pt.services.copy.route import build_route
from aws_copy_pt.services.copy.rows import Arrivals
from aws_copy_pt.services.copy.worker import CopySpec
from aws_copy_pt.services.events import move_transfer

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
) -> CopyReport:
    """Copy, verify and record every object of transfer ``transfer_id`` (state COPYING).

    Options read from ``transfer.options``: ``on_conflict`` (overwrite|fail),
    ``delete_staging``, ``annotate`` (default: Globus transfers), ``multipart_threshold`` and
    ``part_size`` (bytes).
    """
    return _run(db, factory, transfer_id, concurrency, progress, stop, None)


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
    return _run(db, factory, transfer_id, concurrency, progress, stop, arrivals)


def _run(
    db: Database,
    factory: ClientFactory,
    transfer_id: int,
    concurrency: int | None,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    arrivals: Arrivals | None,
) -> CopyReport:
    window = max(1, concurrency or DEFAULT_CONCURRENCY)
    workers = min(window, MAX_WORKERS)
    expected = TransferState.COPYING if arrivals is None else TransferState.LISTING
    with db.session() as session:
        transfer = _transfer_in(session, transfer_id, expected)
        _refuse_overlap(session, transfer)
        route = build_route(factory, transfer.source_bucket, transfer.dest_bucket)
        options = dict(transfer.options or {})
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
        )
        engine.run(spec, pool, stop, arrivals)
    if engine.cancel.cancelled:
        abort_uploads(db, route, transfer_id)  # nothing resumes them: stop their billing
    return engine.finish(listing_complete=None if arrivals is None else arrivals.complete)


def _refuse_overlap(session: Session, transfer: Transfer) -> None:
    """Refuse, before any copy or delete, a transfer whose destination overlaps its source
    (recorded by an older version, or by hand): it fails, and says why."""
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
