"""Files Globus skipped: a transfer with any never ends DONE, and its message says so."""

from __future__ import annotations

from datetime import UTC, datetime

from aws_copy_pt.core.copy_plan import outcome_state
from aws_copy_pt.core.messages import TransferFacts, transfer_notification
from aws_copy_pt.core.states import TransferState

AT = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _message(**changes: object) -> tuple[str, str, dict[str, object]]:
    values: dict[str, object] = {
        "id": 9,
        "label": "nightly",
        "state": "PARTIAL",
        "destination": "archive/nightly",
        "globus_task_id": "0b1c2d3e-0000-4000-8000-000000000000",
        "globus_status": "SUCCEEDED",
        "object_counts": {"verified": 4},
        "globus_skipped": 2,
        "globus_skipped_paths": ("/staging/run1/a.bin", "/staging/run1/b.bin"),
    }
    values.update(changes)
    note = transfer_notification(TransferFacts(**values), host="login1", at=AT)  # type: ignore[arg-type]
    return note.subject, note.text, note.fields


def test_every_object_verified_with_files_left_out_by_globus_is_partial_not_done() -> None:
    counts = {"verified": 4, "skipped": 1, "failed": 0, "remaining": 0, "ended_early": False}
    assert outcome_state(**counts) is TransferState.DONE
    assert outcome_state(**counts, left_out=2) is TransferState.PARTIAL


def test_failures_still_decide_between_partial_and_failed() -> None:
    none_copied = {"verified": 0, "skipped": 0, "failed": 3, "remaining": 0, "ended_early": False}
    assert outcome_state(**none_copied, left_out=2) is TransferState.FAILED
    still_copying = {"verified": 1, "skipped": 0, "failed": 0, "remaining": 5, "ended_early": False}
    assert outcome_state(**still_copying, left_out=2) is None


def test_the_notification_names_the_skipped_files_and_that_globus_must_send_them() -> None:
    subject, text, fields = _message()

    assert subject == 'aws-copy-pt: transfer 9 "nightly" partial, Globus skipped 2 file(s)'
    assert "Globus skipped 2 file(s) of the task (skip_source_errors)" in text
    assert "are not in s3://archive/nightly" in text
    assert "All 4 delivered objects are in s3://archive/nightly and verified." in text
    assert "  /staging/run1/a.bin" in text
    assert "send those files again with Globus" in text
    assert fields["globus_skipped"] == {
        "count": 2,
        "paths": ["/staging/run1/a.bin", "/staging/run1/b.bin"],
    }


def test_more_skipped_files_than_shown_are_counted() -> None:
    _, text, _ = _message(globus_skipped=12)
    assert "… and 10 more" in text


def test_failed_objects_and_skipped_files_are_both_told() -> None:
    _, text, fields = _message(object_counts={"verified": 3, "failed": 1})
    assert "1 of 4 delivered objects failed to copy or verify." in text
    assert any("transfers retry 9" in step for step in fields["next"])  # type: ignore[attr-defined]
