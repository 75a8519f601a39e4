"""The transfer and object lifecycles as explicit transition tables.

This module is the single source of truth: services move transfers only through
:func:`check_transfer_transition`, the docs' state table is generated from
:data:`TRANSFER_TRANSITIONS` and :data:`TRANSFER_STATE_MEANINGS`, and an illegal move raises
instead of silently corrupting a transfer's history.
"""

from __future__ import annotations

from enum import StrEnum


class TransferState(StrEnum):
    WAITING = "WAITING"
    GLOBUS_INACTIVE = "GLOBUS_INACTIVE"
    NEEDS_LOGIN = "NEEDS_LOGIN"
    LISTING = "LISTING"
    COPYING = "COPYING"
    DONE = "DONE"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class GlobusStatus(StrEnum):
    """A Globus task's status as Transfer reports it (recorded as ``transfers.globus_status``)."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ObjectState(StrEnum):
    PENDING = "pending"
    COPYING = "copying"
    COPIED = "copied"
    VERIFIED = "verified"
    SKIPPED = "skipped"
    FAILED = "failed"


TRANSFER_STATE_MEANINGS: dict[TransferState, str] = {
    TransferState.WAITING: "The Globus task is still running; aws-copy-pt polls it.",
    TransferState.GLOBUS_INACTIVE: (
        "Globus suspended the task: the credentials of one of its collections expired. Renew "
        "them in the Globus web app (`aws-copy-pt transfers show ID` names the collections); "
        "watching resumes by itself."
    ),
    TransferState.NEEDS_LOGIN: (
        "Globus tokens are missing, expired or revoked; run `aws-copy-pt login` in a terminal "
        "and the transfer resumes where it stopped."
    ),
    TransferState.LISTING: "The task finished; the delivered files are being recorded.",
    TransferState.COPYING: "Objects are being copied server-side and verified.",
    TransferState.DONE: "Every delivered object is in the destination and verified.",
    TransferState.PARTIAL: (
        "Some objects failed to copy or verify, were refused (--on-conflict fail), or changed "
        "in staging after their copy, or staging objects could not be deleted, or Globus "
        "skipped files (skip_source_errors); `aws-copy-pt transfers show ID` lists them and "
        "`aws-copy-pt transfers retry ID` tries them again (skipped files must be sent again "
        "with Globus)."
    ),
    TransferState.FAILED: (
        "The Globus task failed, or no object could be copied; see `aws-copy-pt transfers show "
        "ID`. `transfers retry ID --copy-partial` copies what did arrive."
    ),
    TransferState.CANCELLED: (
        "Cancelled by the user; nothing more happens (a pass copying it stops: no new copy, "
        "no more deletes)."
    ),
}

_ANY_ACTIVE = frozenset(
    {
        TransferState.WAITING,
        TransferState.GLOBUS_INACTIVE,
        TransferState.NEEDS_LOGIN,
        TransferState.LISTING,
        TransferState.COPYING,
    }
)

TRANSFER_TRANSITIONS: dict[TransferState, frozenset[TransferState]] = {
    TransferState.WAITING: frozenset(
        {
            TransferState.GLOBUS_INACTIVE,
            TransferState.NEEDS_LOGIN,
            TransferState.LISTING,
            TransferState.FAILED,
            TransferState.CANCELLED,
        }
    ),
    TransferState.GLOBUS_INACTIVE: frozenset(
        {
            TransferState.WAITING,
            TransferState.NEEDS_LOGIN,
            TransferState.LISTING,
            TransferState.FAILED,
            TransferState.CANCELLED,
        }
    ),
    TransferState.NEEDS_LOGIN: frozenset(
        {
            TransferState.WAITING,
            TransferState.GLOBUS_INACTIVE,
            TransferState.LISTING,
            TransferState.FAILED,
            TransferState.CANCELLED,
        }
    ),
    TransferState.LISTING: frozenset(
        {
            TransferState.COPYING,
            TransferState.NEEDS_LOGIN,
            TransferState.DONE,
            TransferState.PARTIAL,  # Globus skipped every file of the task
            TransferState.FAILED,
            TransferState.CANCELLED,
        }
    ),
    TransferState.COPYING: frozenset(
        {
            TransferState.DONE,
            TransferState.PARTIAL,
            TransferState.FAILED,
            TransferState.CANCELLED,
        }
    ),
    TransferState.PARTIAL: frozenset({TransferState.COPYING, TransferState.CANCELLED}),
    TransferState.FAILED: frozenset(
        {TransferState.LISTING, TransferState.COPYING, TransferState.CANCELLED}
    ),
    TransferState.DONE: frozenset(),
    TransferState.CANCELLED: frozenset(),
}

ACTIVE_TRANSFER_STATES = _ANY_ACTIVE
FINISHED_TRANSFER_STATES = frozenset(TransferState) - _ANY_ACTIVE
# States whose Globus task still has to be polled.
POLLED_TRANSFER_STATES = frozenset(
    {TransferState.WAITING, TransferState.GLOBUS_INACTIVE, TransferState.NEEDS_LOGIN}
)

OBJECT_TRANSITIONS: dict[ObjectState, frozenset[ObjectState]] = {
    ObjectState.PENDING: frozenset({ObjectState.COPYING, ObjectState.SKIPPED, ObjectState.FAILED}),
    # COPYING -> PENDING: a crash interrupted the copy; it is redone (or its upload resumed).
    ObjectState.COPYING: frozenset(
        {ObjectState.COPIED, ObjectState.VERIFIED, ObjectState.FAILED, ObjectState.PENDING}
    ),
    ObjectState.COPIED: frozenset({ObjectState.VERIFIED, ObjectState.FAILED}),
    # -> FAILED: the staging object was replaced after its copy was verified (or found
    # identical): it is kept, and a retry copies the newer version.
    ObjectState.VERIFIED: frozenset({ObjectState.FAILED}),
    ObjectState.SKIPPED: frozenset({ObjectState.FAILED}),
    ObjectState.FAILED: frozenset({ObjectState.PENDING}),
}


# A failed row put back in line for a retry. Its source is planned afresh (a changed staging
# object is often why it failed: the retry must copy the newer version, not pin the old ETag);
# ``dest_etag`` stays, naming the row's own earlier copy, which a retry may replace.
RETRY_VALUES: dict[str, object] = {
    "state": ObjectState.PENDING.value,
    "last_error": None,
    "finished_at": None,
    "size": None,
    "source_etag": None,
    "checksum_algorithm": None,
    "source_checksum": None,
    "source_version_id": None,
    "dest_checksum": None,
    "verified_by": None,
    "staging_note": None,
    "delete_owed": False,
}


class IllegalTransitionError(Exception):
    """A programming error: a lifecycle move the transition table does not allow."""


def check_transfer_transition(current: str, target: str) -> TransferState:
    """Return ``target`` as a state if moving there from ``current`` is allowed, else raise."""
    source, dest = TransferState(current), TransferState(target)
    if dest not in TRANSFER_TRANSITIONS[source]:
        raise IllegalTransitionError(f"transfer cannot go from {source} to {dest}")
    return dest


_OBJECT_MOVES: dict[tuple[str, str], ObjectState] = {
    (source.value, dest.value): dest
    for source, dests in OBJECT_TRANSITIONS.items()
    for dest in dests
}


def check_object_transition(current: str, target: str) -> ObjectState:
    """Return ``target`` as a state if moving there from ``current`` is allowed, else raise.
    One dict lookup: the copy engine asks this a few times per object."""
    allowed = _OBJECT_MOVES.get((current, target))
    if allowed is None:
        raise IllegalTransitionError(f"object cannot go from {current} to {target}")
    return allowed


def transfer_state_table() -> list[tuple[str, str, str]]:
    """(state, meaning, next states) rows, for the README and `--help` texts."""
    return [
        (
            state.value,
            TRANSFER_STATE_MEANINGS[state],
            ", ".join(sorted(s.value for s in TRANSFER_TRANSITIONS[state])) or "(final)",
        )
        for state in TransferState
    ]
