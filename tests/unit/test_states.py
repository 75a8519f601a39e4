"""The transfer lifecycle: which moves are legal, and that every state is documented."""

from __future__ import annotations

import itertools

import pytest

from aws_copy_pt.core.states import (
    TRANSFER_STATE_MEANINGS,
    TRANSFER_TRANSITIONS,
    IllegalTransitionError,
    ObjectState,
    TransferState,
    check_object_transition,
    check_transfer_transition,
    transfer_state_table,
)


def test_happy_path_of_a_globus_transfer_is_allowed() -> None:
    path = ["WAITING", "LISTING", "COPYING", "DONE"]
    for current, target in itertools.pairwise(path):
        assert check_transfer_transition(current, target) == TransferState(target)


def test_done_and_cancelled_are_final() -> None:
    for final in ("DONE", "CANCELLED"):
        for target in TransferState:
            with pytest.raises(IllegalTransitionError):
                check_transfer_transition(final, target)


def test_copying_cannot_jump_back_to_waiting() -> None:
    with pytest.raises(IllegalTransitionError, match="COPYING to WAITING"):
        check_transfer_transition("COPYING", "WAITING")


def test_needs_login_resumes_into_watching_again() -> None:
    assert check_transfer_transition("NEEDS_LOGIN", "WAITING") == TransferState.WAITING


def test_every_unfinished_transfer_can_be_cancelled() -> None:
    for state in TransferState:
        if TRANSFER_TRANSITIONS[state]:
            assert TransferState.CANCELLED in TRANSFER_TRANSITIONS[state], state


def test_every_state_has_a_meaning_and_a_table_row() -> None:
    assert set(TRANSFER_STATE_MEANINGS) == set(TransferState)
    assert [row[0] for row in transfer_state_table()] == [s.value for s in TransferState]


def test_an_interrupted_object_copy_goes_back_to_pending() -> None:
    assert check_object_transition("copying", "pending") == ObjectState.PENDING


def test_a_verified_object_is_never_copied_again() -> None:
    with pytest.raises(IllegalTransitionError):
        check_object_transition("verified", "copying")


def test_an_object_whose_staging_copy_changed_after_verification_fails_for_a_retry() -> None:
    # Its staging object was replaced: kept, and only a retry (failed -> pending) copies it.
    for done in ("verified", "skipped"):
        assert check_object_transition(done, "failed") == ObjectState.FAILED
        with pytest.raises(IllegalTransitionError):
            check_object_transition(done, "pending")
