"""What a pass reports: a cancel the pass saw is news told once, by its note; else quiet."""

from __future__ import annotations

from aws_copy_pt.services.copy.report import CopyReport
from aws_copy_pt.services.cycle import CycleReport
from aws_copy_pt.services.news import Change


def _state(transfer_id: int, before: str, after: str, message: str = "") -> Change:
    return Change(transfer_id, None, "state", before, after, message)


def _copy(transfer_id: int, message: str) -> Change:
    return Change(transfer_id, None, "copy", None, None, message)


def _cancelled(transfer_id: int, copied: int) -> CopyReport:
    return CopyReport(transfer_id, "CANCELLED", single_copies=copied, cancelled=True)


def test_a_pass_that_changed_nothing_and_saw_no_cancel_is_quiet() -> None:
    report = CycleReport()
    report.record_changes([])
    assert report.quiet


def test_a_cancel_the_pass_saw_is_one_note_and_not_also_its_state_move_or_its_history() -> None:
    report = CycleReport()
    report.saw_cancel(_cancelled(4, copied=8))
    report.record_changes(
        [
            _state(4, "COPYING", "CANCELLED", "cancelled by the user"),
            _copy(4, "cancel seen: no new object is copied, nothing more is deleted"),
            _copy(4, "Transfer 4 was cancelled; stopped after 8 object(s) copied in this pass"),
        ]
    )

    assert not report.quiet
    assert report.changes == []
    assert report.notes == [
        "Transfer 4 was cancelled; stopped after 8 object(s) copied in this pass; "
        "nothing more copied or deleted."
    ]


def test_news_of_a_cancelled_transfer_before_its_cancel_and_of_other_transfers_is_kept() -> None:
    report = CycleReport()
    report.saw_cancel(_cancelled(4, copied=0))
    listed = _state(4, "LISTING", "COPYING", "30 object(s) listed")
    other_done = _state(5, "COPYING", "DONE", "all 2 object(s) done")
    report.record_changes(
        [listed, _state(4, "COPYING", "CANCELLED"), other_done, _copy(4, "cancel seen")]
    )

    assert report.changes == [listed, other_done]


def test_a_cancel_no_pass_saw_is_an_ordinary_state_change() -> None:
    report = CycleReport()
    cancelled = _state(6, "WAITING", "CANCELLED", "cancelled by the user")
    report.record_changes([cancelled])

    assert report.changes == [cancelled] and report.notes == []
    assert not report.quiet
