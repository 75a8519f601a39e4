"""Files Globus skipped: a task submitted with ``skip_source_errors`` can end SUCCEEDED with
files left out (unreadable, vanished). They never reached staging, so nothing can copy them.

When a SUCCEEDED task's delivered files have been listed, ``task_skipped_errors`` is read too
(every page) and each skipped path is stored in ``globus_skipped_files`` (not as an object row:
an object state ``skipped`` already means "identical at the destination"). A transfer with
skipped files never ends DONE: it ends PARTIAL with the paths listed (``transfers show``) and
its notification says so. Only sending the files again with Globus fixes that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from aws_copy_pt.db.models import GlobusSkippedFile

if TYPE_CHECKING:  # the Globus SDK is loaded by what talks to Globus, not by every copy
    from aws_copy_pt.globus.gateway import TransferClient

MAX_PAGES = 1000


@dataclass(frozen=True)
class SkippedByGlobus:
    """One file (or directory) a Globus task left out, and why."""

    source_path: str
    destination_path: str | None
    is_directory: bool
    error_code: str | None
    error_details: str | None


def read_skipped(client: TransferClient, task_id: str) -> list[dict[str, Any]]:
    """Every file a finished task skipped (all pages; usually one call)."""
    from aws_copy_pt.globus import gateway

    entries: list[dict[str, Any]] = []
    marker: str | None = None
    for _ in range(MAX_PAGES):
        page = gateway.skipped_errors(client, task_id, marker=marker)
        entries.extend(page.entries)
        if page.next_marker is None:
            break
        marker = page.next_marker
    return entries


def record_skipped(session: Session, transfer_id: int, entries: Iterable[Mapping[str, Any]]) -> int:
    """Store skipped files (a second time adds nothing); how many the transfer has now."""
    rows = [
        {
            "transfer_id": transfer_id,
            "source_path": str(entry.get("source_path")),
            "destination_path": entry.get("destination_path"),
            "is_directory": bool(entry.get("is_directory")),
            "error_code": entry.get("error_code"),
            "error_details": _short(entry.get("error_details")),
        }
        for entry in entries
    ]
    if rows:
        session.execute(insert(GlobusSkippedFile).on_conflict_do_nothing(), rows)
    return skipped_count(session, transfer_id)


def skipped_count(session: Session, transfer_id: int) -> int:
    query = select(func.count(GlobusSkippedFile.id)).where(
        GlobusSkippedFile.transfer_id == transfer_id
    )
    return int(session.scalar(query) or 0)


def skipped_files(session: Session, transfer_id: int, *, limit: int) -> list[SkippedByGlobus]:
    query = (
        select(GlobusSkippedFile)
        .where(GlobusSkippedFile.transfer_id == transfer_id)
        .order_by(GlobusSkippedFile.id)
        .limit(limit)
    )
    return [
        SkippedByGlobus(
            row.source_path,
            row.destination_path,
            row.is_directory,
            row.error_code,
            row.error_details,
        )
        for row in session.scalars(query)
    ]


def skipped_summary(count: int, examples: Iterable[SkippedByGlobus]) -> str:
    """E.g. "Globus skipped 2 file(s) (skip_source_errors): /a.dat, /b.dat"."""
    shown = [s.destination_path or s.source_path for s in examples]
    more = f" and {count - len(shown)} more" if count > len(shown) else ""
    return (
        f"Globus skipped {count} file(s) of the task (skip_source_errors): "
        f"{', '.join(shown)}{more}; they never reached staging"
    )


def _short(value: Any) -> str | None:
    return None if value is None else str(value)[:2000]
