"""Recording exactly what a finished Globus task delivered, one object row per file.

``task_successful_transfers`` is paged with ``marker`` until ``next_marker`` is empty. Each page
is committed together with the marker that follows it (``transfers.listing_marker``), so a crash
resumes at the next page and a page seen twice adds nothing (rows are unique per transfer and
source key). Every destination path goes through the collection's mapping (``core.paths``): a
path that cannot be mapped becomes a ``failed`` row saying why — never dropped, never guessed.

The list only exists once a task is finished; Globus answers 400 "still in progress" before that
(a race with the status seen by the poller): that, and transient errors, leave the transfer in
LISTING for the next pass.

With the last page of a SUCCEEDED task, the files Globus skipped (``skip_source_errors``) are
read and recorded in the same transaction (``services.watch.skipped``): a transfer with skipped
files goes on to copy what arrived but ends PARTIAL, never DONE.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from aws_copy_pt.core.paths import CollectionMapping, UnmappablePathError
from aws_copy_pt.core.states import GlobusStatus, ObjectState, TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import ObjectCopy, Transfer
from aws_copy_pt.errors import NeedsLoginError, NotFoundError, UsageError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.errors import Failure, GlobusCallError, classify, describe, login_error
from aws_copy_pt.globus.gateway import TransferClient
from aws_copy_pt.services.events import move_transfer, record_event
from aws_copy_pt.services.setup.collections import mapping_of
from aws_copy_pt.services.watch.poll import mark_needs_login
from aws_copy_pt.services.watch.skipped import (
    read_skipped,
    record_skipped,
    skipped_count,
    skipped_files,
    skipped_summary,
)

log = logging.getLogger(__name__)

EVENT_LISTING = "listing"
EVENT_SKIPPED = "globus_skipped"


@dataclass
class ListingReport:
    transfer_id: int
    pages: int = 0
    entries: int = 0  # successful transfers seen this run
    added: int = 0  # new object rows (pending or failed)
    unmappable: int = 0  # of those, rows failed because their path cannot be mapped
    finished: bool = False  # the whole list is recorded and the transfer moved on
    state: str = TransferState.LISTING.value
    retry_later: str | None = None  # why the list is not complete yet (None when finished)


def list_delivered(
    db: Database, transfer_client: TransferClient, transfer_id: int
) -> ListingReport:
    """Page the task's successful transfers into object rows; LISTING -> COPYING/DONE/FAILED."""
    report = ListingReport(transfer_id)
    task_id, mapping, dest_prefix, marker, succeeded = _start(db, transfer_id)
    while True:
        skipped: list[dict[str, Any]] = []
        try:
            page = gateway.successful_transfers(transfer_client, task_id, marker=marker)
            if page.next_marker is None and succeeded:
                skipped = _read_skipped(db, transfer_client, transfer_id, task_id)
        except (GlobusCallError, NeedsLoginError) as exc:
            return _stop(db, report, exc)
        entries, next_marker = page.entries, page.next_marker
        with db.session() as session:
            transfer = _transfer(session, transfer_id)
            if transfer.state != TransferState.LISTING:  # cancelled meanwhile
                report.state = transfer.state
                return report
            added, unmappable = _insert_page(session, transfer, mapping, dest_prefix, entries)
            transfer.listing_marker = next_marker
            report.pages += 1
            report.entries += len(entries)
            report.added += added
            report.unmappable += unmappable
            if next_marker is None:
                record_skipped(session, transfer.id, skipped)
                _finish(session, transfer, report)
                return report
        marker = next_marker


def _start(db: Database, transfer_id: int) -> tuple[str, CollectionMapping, str, str | None, bool]:
    with db.session() as session:
        transfer = _transfer(session, transfer_id)
        if transfer.state != TransferState.LISTING:
            raise UsageError(
                f"transfer {transfer_id} is {transfer.state}, not LISTING: nothing to list"
            )
        if transfer.collection is None or transfer.globus_task_id is None:
            raise UsageError(f"transfer {transfer_id} has no Globus task and collection to list")
        return (
            transfer.globus_task_id,
            mapping_of(transfer.collection),
            transfer.dest_prefix,
            transfer.listing_marker,
            transfer.globus_status == GlobusStatus.SUCCEEDED,
        )


def _read_skipped(
    db: Database, client: TransferClient, transfer_id: int, task_id: str
) -> list[dict[str, Any]]:
    """The files the task skipped. Globus refusing the question (it may, for a task that did
    not skip any) is noted on the transfer rather than holding its copy back."""
    try:
        return read_skipped(client, task_id)
    except GlobusCallError as exc:
        if exc.failure is not Failure.REJECTED:
            raise
        with db.session() as session:
            record_event(
                session,
                _transfer(session, transfer_id),
                EVENT_LISTING,
                f"could not read which files Globus skipped: {exc.description}",
            )
        return []


def _transfer(session: Session, transfer_id: int) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFoundError(f"there is no transfer {transfer_id}", hint="see `aws-copy-pt status`")
    return transfer


def _insert_page(
    session: Session,
    transfer: Transfer,
    mapping: CollectionMapping,
    dest_prefix: str,
    entries: Iterable[Mapping[str, Any]],
) -> tuple[int, int]:
    """Insert one page of rows (duplicates ignored); return (rows added, unmappable added)."""
    rows = [_row(transfer.id, mapping, dest_prefix, entry) for entry in entries]
    if not rows:
        return 0, 0
    before = _count(session, transfer.id)
    failed_before = _count(session, transfer.id, ObjectState.FAILED)
    session.execute(insert(ObjectCopy).on_conflict_do_nothing(), rows)
    return _count(session, transfer.id) - before, _count(
        session, transfer.id, ObjectState.FAILED
    ) - failed_before


def _row(
    transfer_id: int, mapping: CollectionMapping, dest_prefix: str, entry: Mapping[str, Any]
) -> dict[str, Any]:
    source_path = str(entry.get("source_path"))
    destination_path = str(entry.get("destination_path"))
    row: dict[str, Any] = {
        "transfer_id": transfer_id,
        "globus_source_path": source_path,
        "globus_destination_path": destination_path,
        "size": None,  # the copy engine reads it from the staging object
    }
    try:
        mapped = mapping.map_path(destination_path, dest_prefix)
    except UnmappablePathError as exc:
        # Mapped keys never start with "/", so the raw path cannot collide with a real key.
        return {
            **row,
            "source_key": destination_path,
            "dest_key": None,
            "state": ObjectState.FAILED.value,
            "last_error": f"Globus path {destination_path!r} {exc.reason}; it was not copied",
        }
    return {
        **row,
        "source_key": mapped.key,
        "dest_key": mapped.dest_key,
        "state": ObjectState.PENDING.value,
        "last_error": None,
    }


def _count(session: Session, transfer_id: int, state: ObjectState | None = None) -> int:
    query = select(func.count(ObjectCopy.id)).where(ObjectCopy.transfer_id == transfer_id)
    if state is not None:
        query = query.where(ObjectCopy.state == state.value)
    return int(session.scalar(query) or 0)


def _finish(session: Session, transfer: Transfer, report: ListingReport) -> None:
    total = _count(session, transfer.id)
    failed = _count(session, transfer.id, ObjectState.FAILED)
    left_out = skipped_count(session, transfer.id)
    transfer.objects_total = total
    report.finished = True
    if left_out:
        summary = skipped_summary(left_out, skipped_files(session, transfer.id, limit=5))
        transfer.last_error = summary
        record_event(session, transfer, EVENT_SKIPPED, summary)
    if total == 0 and transfer.globus_status == GlobusStatus.FAILED:
        move_transfer(session, transfer, TransferState.FAILED, "no file of the failed task arrived")
    elif total == 0 and left_out:
        move_transfer(
            session, transfer, TransferState.PARTIAL, "Globus delivered no file: " + summary
        )
    elif total == 0:
        move_transfer(session, transfer, TransferState.DONE, "the Globus task delivered no files")
    else:
        if failed:
            record_event(
                session,
                transfer,
                EVENT_LISTING,
                f"{failed} delivered path(s) cannot be mapped to the staging bucket; "
                f"see `aws-copy-pt transfers show {transfer.id}`",
            )
        move_transfer(
            session, transfer, TransferState.COPYING, f"{total} delivered file(s) recorded"
        )
    report.state = transfer.state


def _stop(db: Database, report: ListingReport, exc: BaseException) -> ListingReport:
    """A page could not be fetched: wait, give up, or ask for a login, as the error says."""
    kind = classify(exc)
    message = describe(exc)
    if kind in (Failure.LOGIN, Failure.CONSENT):
        error = login_error(exc)
        mark_needs_login(db, error.message, also=[report.transfer_id])
        raise error from exc
    with db.session() as session:
        transfer = _transfer(session, report.transfer_id)
        if kind in (Failure.NOT_FOUND, Failure.DENIED):
            reason = (
                f"Globus no longer gives the file list of task {transfer.globus_task_id} "
                f"({message}); its history may have been deleted after 30 days"
            )
            move_transfer(session, transfer, TransferState.FAILED, reason)
            transfer.last_error = reason
            report.state = transfer.state
            return report
        # 400 "still in progress", 5xx, timeouts: the next pass asks again from the marker.
        transfer.last_error = f"listing paused: {message}"
    log.info("transfer %s: listing paused: %s", report.transfer_id, message)
    report.retry_later = message
    return report
