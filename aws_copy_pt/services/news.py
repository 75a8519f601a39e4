"""What a pass tells a person: the news recorded since it began (state changes, Globus faults,
failed notifications) and the transfers that wait for someone, each with the command to run.

Quiet passes have no news; ``run --once`` prints news and attention only (cron mails them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from aws_copy_pt.core.messages import globus_activity_url
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Event, Transfer


@dataclass(frozen=True)
class Attention:
    """A transfer a person has to look at, and what to do about it."""

    transfer_id: int
    state: str
    label: str | None
    last_error: str | None
    globus_task_id: str | None = None
    step: str | None = None  # the command, when the state alone does not say

    @property
    def next_step(self) -> str:
        if self.step is not None:
            return self.step
        if self.state == TransferState.NEEDS_LOGIN:
            return "aws-copy-pt login"
        if self.state == TransferState.GLOBUS_INACTIVE and self.globus_task_id:
            return globus_activity_url(self.globus_task_id)
        return f"aws-copy-pt transfers show {self.transfer_id}"


@dataclass(frozen=True)
class Change:
    """Something a pass did or met that a person should hear about: a state change, a new
    Globus fault, a failed notification. Quiet passes have none."""

    transfer_id: int | None
    label: str | None
    kind: str  # "state", or the event kind (globus_fault, staging, notify_failed, ...)
    from_state: str | None
    to_state: str | None
    message: str


ATTENTION_STATES = frozenset(
    {
        TransferState.PARTIAL,
        TransferState.FAILED,
        TransferState.NEEDS_LOGIN,
        TransferState.GLOBUS_INACTIVE,
    }
)
# Events that are news for whoever reads a pass's output (cron mail); the rest (a transfer
# registered, a notification sent, a copy resumed) is history for `transfers show`.
NEWS_EVENT_KINDS = frozenset(
    {
        "state",
        "globus_fault",
        "globus_missing",
        "listing",
        "staging",
        "conflict",
        "copy",
        "notify_failed",
        "notify_gave_up",
    }
)


def newest_event_id(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.max(Event.id))) or 0)


def changes_since(db: Database, event_id: int) -> list[Change]:
    """The news recorded after event ``event_id``, oldest first."""
    with db.session() as session:
        rows = session.execute(
            select(Event, Transfer.label)
            .outerjoin(Transfer, Transfer.id == Event.transfer_id)
            .where(Event.id > event_id, Event.kind.in_(NEWS_EVENT_KINDS))
            .order_by(Event.id)
        )
        return [
            Change(e.transfer_id, label, e.kind, e.from_state, e.to_state, e.message)
            for e, label in rows
        ]


def needing_attention(db: Database) -> list[Attention]:
    """Transfers that wait for a person: failed objects, a failed or suspended task, a lapsed
    login, a batch job waiting for confirmation."""
    from aws_copy_pt.services.copy.batch.actions import awaiting_confirmation

    with db.session() as session:
        rows = session.execute(
            select(
                Transfer.id,
                Transfer.state,
                Transfer.label,
                Transfer.last_error,
                Transfer.globus_task_id,
            )
            .where(Transfer.state.in_([s.value for s in ATTENTION_STATES]))
            .order_by(Transfer.id)
        )
        found = [Attention(r.id, r.state, r.label, r.last_error, r.globus_task_id) for r in rows]
    for waiting in awaiting_confirmation(db):
        why = f"batch job {waiting.job_id} waits for your confirmation"
        step = f"aws-copy-pt transfers confirm {waiting.transfer_id}"
        found.append(Attention(waiting.transfer_id, waiting.state, waiting.label, why, step=step))
    return found
