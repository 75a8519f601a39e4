"""Reading transfers for display: summaries that the CLI and wizard render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.db.models import Transfer


@dataclass(frozen=True)
class TransferSummary:
    id: int
    label: str | None
    kind: str
    globus_task_id: str | None
    state: str
    globus_status: str | None
    nice_status: str | None
    faults: int
    effective_bytes_per_second: int | None
    files_transferred: int
    files_expected: int | None
    bytes_transferred: int
    objects_total: int
    bytes_total: int
    destination: str
    created_at: datetime
    updated_at: datetime
    last_error: str | None


def summarize(transfer: Transfer) -> TransferSummary:
    prefix = transfer.dest_prefix.strip("/")
    destination = transfer.dest_bucket.name + (f"/{prefix}" if prefix else "")
    return TransferSummary(
        id=transfer.id,
        label=transfer.label,
        kind=transfer.kind,
        globus_task_id=transfer.globus_task_id,
        state=transfer.state,
        globus_status=transfer.globus_status,
        nice_status=transfer.nice_status,
        faults=transfer.faults,
        effective_bytes_per_second=transfer.effective_bytes_per_second,
        files_transferred=transfer.files_transferred,
        files_expected=transfer.files_expected,
        bytes_transferred=transfer.bytes_transferred,
        objects_total=transfer.objects_total,
        bytes_total=transfer.bytes_total,
        destination=destination,
        created_at=transfer.created_at,
        updated_at=transfer.updated_at,
        last_error=transfer.last_error,
    )


def list_transfers(session: Session, *, include_finished: bool = True) -> list[TransferSummary]:
    """All transfers, newest first."""
    query = select(Transfer).order_by(Transfer.id.desc())
    if not include_finished:
        query = query.where(Transfer.finished_at.is_(None))
    return [summarize(t) for t in session.scalars(query)]
