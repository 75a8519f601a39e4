"""Moving transfers through their lifecycle, with an event for every move.

Every state change goes through :func:`move_transfer`, which checks the transition table in
``core.states`` and appends an ``events`` row in the same transaction, so the history can never
disagree with the state.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from aws_copy_pt.core.states import FINISHED_TRANSFER_STATES, check_transfer_transition
from aws_copy_pt.db.models import Event, Transfer

log = logging.getLogger(__name__)


def move_transfer(session: Session, transfer: Transfer, target: str, reason: str) -> None:
    """Change ``transfer``'s state to ``target`` (if allowed) and record why."""
    if transfer.state == target:
        return
    new_state = check_transfer_transition(transfer.state, target)
    session.add(
        Event(
            transfer_id=transfer.id,
            kind="state",
            from_state=transfer.state,
            to_state=new_state.value,
            message=reason,
        )
    )
    log.info("transfer %s: %s -> %s (%s)", transfer.id, transfer.state, new_state, reason)
    transfer.state = new_state.value
    transfer.finished_at = datetime.now(UTC) if new_state in FINISHED_TRANSFER_STATES else None


def record_event(session: Session, transfer: Transfer | None, kind: str, message: str) -> None:
    """Append a non-state event (a fault seen, a notification sent, a warning)."""
    session.add(
        Event(transfer_id=None if transfer is None else transfer.id, kind=kind, message=message)
    )
    log.info("transfer %s: %s: %s", None if transfer is None else transfer.id, kind, message)


def locked_transfer(session: Session, transfer_id: int) -> Transfer:
    """``transfer_id`` read inside a write transaction: another process (a ``transfers cancel``)
    cannot change its state between this read and the session's commit."""
    session.execute(update(Transfer).where(Transfer.id == transfer_id).values(id=Transfer.id))
    transfer = session.get(Transfer, transfer_id, populate_existing=True)
    if transfer is None:
        raise LookupError(f"transfer {transfer_id} is gone")
    return transfer
