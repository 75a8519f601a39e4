"""What notifications say, which states a target can subscribe to, and the retry schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from aws_copy_pt.core.messages import (
    GIVE_UP_AFTER,
    Notification,
    TransferFacts,
    gives_up,
    is_subscribed,
    parse_events,
    probe_notification,
    render,
    retry_delay,
    transfer_notification,
)
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.errors import UsageError

AT = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
TASK = "0c4f7a52-1234-11ef-9f3a-0242ac120002"


def facts(state: str, **changes: object) -> TransferFacts:
    values: dict[str, object] = {
        "id": 7,
        "label": "cryo-EM run 42",
        "state": state,
        "destination": "lab-archive/runs/42",
        "globus_task_id": TASK,
        "globus_status": "SUCCEEDED",
        "object_counts": {"verified": 338, "failed": 2},
    }
    values.update(changes)
    return TransferFacts(**values)  # type: ignore[arg-type]


def notify(state: str, **changes: object) -> Notification:
    return transfer_notification(facts(state, **changes), host="login1.hpc.example", at=AT)


def test_done_message_says_every_object_is_verified_and_where() -> None:
    message = notify("DONE", object_counts={"verified": 340})
    assert message.subject == 'aws-copy-pt: transfer 7 "cryo-EM run 42" done, 340 objects verified'
    assert "All 340 objects are in s3://lab-archive/runs/42 and verified." in message.text
    assert "340 in total: 340 verified, 0 failed" in message.text
    assert "aws-copy-pt transfers show 7" in message.text


def test_partial_message_counts_failures_and_says_how_to_retry_them() -> None:
    message = notify("PARTIAL", last_error="AccessDenied on s3://lab-archive/runs/42/b.dat")
    assert "partly failed, 2 of 340 objects failed" in message.subject
    assert "2 of 340 objects failed to copy or verify; 338 are in" in message.text
    assert "aws-copy-pt transfers retry 7" in message.text
    assert "Last error:  AccessDenied on s3://lab-archive/runs/42/b.dat" in message.text


def test_failed_message_gives_the_reason() -> None:
    message = notify("FAILED", globus_status="FAILED", last_error="Globus task FAILED: expired")
    assert message.subject.endswith("failed")
    assert "The transfer failed: Globus task FAILED: expired." in message.text


def test_needs_login_message_says_to_log_in_on_the_host_running_aws_copy_pt() -> None:
    message = notify("NEEDS_LOGIN", globus_status="ACTIVE", object_counts={})
    assert "waits for a Globus login" in message.subject
    assert "aws-copy-pt login    # in a terminal on login1.hpc.example" in message.text
    assert "resumes after you log in" in message.text
    assert "Objects:" not in message.text  # nothing listed yet: no row of zeros


def test_globus_inactive_message_links_the_task_in_the_globus_web_app() -> None:
    message = notify("GLOBUS_INACTIVE", globus_status="INACTIVE")
    assert (
        message.subject == 'aws-copy-pt: Globus suspended the task of transfer 7 "cryo-EM run 42"'
    )
    assert f"https://app.globus.org/activity/{TASK}" in message.text


def test_a_task_that_delivered_nothing_is_reported_as_nothing_to_copy() -> None:
    message = notify("DONE", object_counts={})
    assert "delivered no files, so there was nothing to copy" in message.text


def test_labels_cannot_break_the_subject_line_and_long_ones_are_shortened() -> None:
    message = notify("DONE", label="evil\r\nBcc: someone@example.org " + "x" * 100)
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "…" in message.subject
    assert len(message.subject) < 140


def test_transfer_without_label_is_named_by_id() -> None:
    assert notify("FAILED", label=None).subject == "aws-copy-pt: transfer 7 failed"


def test_structured_fields_carry_ids_counts_and_next_steps() -> None:
    fields = notify("PARTIAL", object_counts={"verified": 3, "failed": 1, "pending": 2}).fields
    assert fields["transfer_id"] == 7
    assert fields["state"] == "PARTIAL"
    assert fields["globus_task_id"] == TASK
    assert fields["destination"] == "s3://lab-archive/runs/42"
    assert fields["objects"] == {"total": 6, "verified": 3, "failed": 1, "skipped": 0, "pending": 2}
    assert fields["next"][1].startswith("aws-copy-pt transfers retry 7")
    assert fields["at"] == AT.isoformat()


def test_webhook_rendering_is_json_with_a_slack_text_and_the_fields() -> None:
    message = notify("DONE")
    subject, body = render(message, "webhook")
    payload = json.loads(body)
    assert subject == message.subject
    assert payload["text"].startswith(message.subject + "\n")
    assert payload["transfer_id"] == 7 and payload["label"] == "cryo-EM run 42"


def test_email_rendering_is_the_plain_text() -> None:
    message = notify("DONE")
    assert render(message, "email") == (message.subject, message.text)


def test_rendering_for_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="pager"):
        render(notify("DONE"), "pager")


def test_probe_message_names_the_target_and_the_host() -> None:
    message = probe_notification("team-chat", host="login1", at=AT)
    assert "team-chat" in message.subject
    assert "aws-copy-pt on login1" in message.text
    assert message.fields["event"] == "test"


def test_event_lists_are_case_insensitive_deduplicated_and_ordered() -> None:
    assert parse_events(" needs_login, done ,DONE") == (
        TransferState.DONE,
        TransferState.NEEDS_LOGIN,
    )
    assert TransferState.GLOBUS_INACTIVE in parse_events("globus_inactive")


def test_unknown_event_names_are_refused_with_the_choices() -> None:
    with pytest.raises(UsageError, match="FINISHED is not a transfer state") as info:
        parse_events("DONE,FINISHED")
    assert info.value.hint is not None and "GLOBUS_INACTIVE" in info.value.hint


def test_states_passed_through_unattended_cannot_be_subscribed() -> None:
    with pytest.raises(UsageError, match="does not notify on COPYING"):
        parse_events("COPYING")


def test_an_empty_event_list_is_refused() -> None:
    with pytest.raises(UsageError, match="at least one"):
        parse_events(" , ")


def test_subscription_matches_whole_state_names() -> None:
    assert is_subscribed("DONE,PARTIAL", "PARTIAL")
    assert not is_subscribed("DONE,PARTIAL", "FAILED")
    assert not is_subscribed("NEEDS_LOGIN", "LOGIN")


def test_retry_delay_doubles_from_a_minute_and_stops_at_an_hour() -> None:
    delays = [retry_delay(n) for n in range(1, 9)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays[6:] == [timedelta(hours=1), timedelta(hours=1)]
    assert retry_delay(10_000) == timedelta(hours=1)


def test_messages_are_given_up_after_two_days() -> None:
    assert not gives_up(AT, AT + GIVE_UP_AFTER - timedelta(seconds=1))
    assert gives_up(AT, AT + GIVE_UP_AFTER)
    assert timedelta(hours=48) == GIVE_UP_AFTER


def test_outside_text_is_escaped_in_the_subject_and_text_but_exact_in_the_fields() -> None:
    label = "run\x1b[2J\nBcc: victim@example.org\u202e"
    error = "S3 said \x1b]8;;http://evil\x1b\\"
    message = notify("FAILED", label=label, last_error=error)
    assert "\x1b" not in message.subject + message.text
    assert "\u202e" not in message.subject + message.text
    assert "\nBcc:" not in message.subject + message.text
    assert "run\\x1b[2J" in message.subject
    assert "S3 said \\x1b]8;;http://evil\\x1b\\" in message.text
    assert (message.fields["label"], message.fields["error"]) == (label, error)
    body = json.loads(render(message, "webhook")[1])
    assert body["label"] == label
    assert "\x1b" not in body["text"]
