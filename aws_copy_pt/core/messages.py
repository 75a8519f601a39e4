"""What notifications say, who subscribes to what, and how long failed deliveries are retried.

Pure logic: the service gathers a transfer's facts, this module turns them into a
:class:`Notification` (a subject, a plain-text body a person can act on, and structured fields
for machines) and renders it for a target kind. Email gets the text; a webhook gets a JSON
document with a Slack-compatible ``text`` field plus the structured fields.

Labels, destinations, Globus statuses and error messages come from outside: in the subject and
the text they are shown with control characters escaped (``core.text.visible``), so a label
cannot forge a mail header or a line; the structured fields keep the exact data (JSON escapes
control characters itself).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from aws_copy_pt.core.errors import UsageError
from aws_copy_pt.core.states import TRANSFER_STATE_MEANINGS, ObjectState, TransferState
from aws_copy_pt.core.text import visible

# The states a target can subscribe to, in the order they are listed to users.
NOTIFIABLE_STATES: tuple[TransferState, ...] = (
    TransferState.DONE,
    TransferState.PARTIAL,
    TransferState.FAILED,
    TransferState.NEEDS_LOGIN,
    TransferState.GLOBUS_INACTIVE,
)
# Matches the column default of notification_targets.events.
DEFAULT_EVENTS: tuple[TransferState, ...] = NOTIFIABLE_STATES[:4]

# Failed deliveries: first retry after a minute, doubling up to an hour, dropped after two days
# (by then the news is stale and the transfer's own state says it all).
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=48)

_SUBJECT_LABEL_MAX = 60


GLOBUS_ACTIVITY_URL = "https://app.globus.org/activity/{task_id}"


def globus_activity_url(task_id: str) -> str:
    """The Globus web app's page of a task: its events, and the way to fix a suspended one."""
    return GLOBUS_ACTIVITY_URL.format(task_id=task_id)


def reactivation_hint(task_id: str, source: str | None, destination: str | None) -> str:
    """What a person does in Globus about a task suspended as INACTIVE.

    Globus suspends a task when the credentials it holds for one of the task's collections
    expire (a storage gateway's session, an S3 collection's access keys); the task resumes by
    itself once they are renewed. ``source`` and ``destination`` are the collections' names.
    """
    named = [
        f"{role} collection '{name}'"
        for role, name in (("source", source), ("staging", destination))
        if name
    ]
    which = " or the ".join(named) if named else "one of the task's collections"
    return (
        f"renew the credentials of the {which} in the Globus web app (the task's page "
        f"{globus_activity_url(task_id)} shows which one failed; for an S3 collection, enter "
        "fresh keys under the collection's Credentials tab); Globus then resumes the task and "
        "aws-copy-pt keeps watching"
    )


def parse_events(text: str) -> tuple[TransferState, ...]:
    """``"done, partial"`` -> (DONE, PARTIAL), in canonical order; raise on anything else."""
    choices = ",".join(NOTIFIABLE_STATES)
    wanted = {part.strip().upper() for part in text.split(",") if part.strip()}
    if not wanted:
        raise UsageError("--on needs at least one transfer state", hint=f"choose from {choices}")
    for name in sorted(wanted):
        if name not in TransferState.__members__:
            raise UsageError(f"{name} is not a transfer state", hint=f"choose from {choices}")
        if TransferState(name) not in NOTIFIABLE_STATES:
            raise UsageError(
                f"aws-copy-pt does not notify on {name} (a transfer passes through it unattended)",
                hint=f"choose from {choices}",
            )
    return tuple(state for state in NOTIFIABLE_STATES if state in wanted)


def format_events(states: Iterable[TransferState]) -> str:
    """The stored form: a comma list, e.g. ``DONE,PARTIAL``."""
    return ",".join(state.value for state in states)


def is_subscribed(events: str, state: str) -> bool:
    """Whether a target whose ``events`` column is ``events`` wants to hear about ``state``."""
    return state in {part.strip() for part in events.split(",")}


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed delivery (1 -> 1 min, 2 -> 2 min...)."""
    exponent = max(0, min(attempts - 1, 16))  # 2**16 minutes is far above the cap already
    delay: timedelta = FIRST_RETRY_DELAY * (1 << exponent)
    return min(delay, MAX_RETRY_DELAY)


def gives_up(created_at: datetime, now: datetime) -> bool:
    """Whether a notification queued at ``created_at`` is too old to keep retrying."""
    return now - created_at >= GIVE_UP_AFTER


@dataclass(frozen=True)
class TransferFacts:
    """What a notification needs to know about a transfer, gathered by the service."""

    id: int
    label: str | None
    state: str
    destination: str
    globus_task_id: str | None = None
    globus_status: str | None = None
    last_error: str | None = None
    object_counts: Mapping[str, int] = field(default_factory=dict)  # ObjectState value -> n
    globus_skipped: int = 0  # files the Globus task left out (skip_source_errors)
    globus_skipped_paths: tuple[str, ...] = ()  # the first few of them

    def count(self, state: ObjectState) -> int:
        return self.object_counts.get(state.value, 0)

    @property
    def objects_total(self) -> int:
        return sum(self.object_counts.values())


@dataclass(frozen=True)
class Notification:
    """A message ready to render: a subject, a plain-text body and fields for machines."""

    subject: str
    text: str
    fields: dict[str, Any]


def transfer_notification(exact: TransferFacts, *, host: str, at: datetime) -> Notification:
    """The message announcing that transfer ``facts.id`` reached ``facts.state``."""
    facts = _shown(exact)
    name = _transfer_name(facts)
    steps = next_steps(facts, host=host)
    lines = [
        f"{name[0].upper()}{name[1:]} is {facts.state}.",
        "",
        what_happened(facts),
        "",
    ]
    if facts.objects_total:
        lines.append(f"Objects:     {_counts_line(facts)}")
    lines.append(f"Destination: s3://{facts.destination}")
    if facts.globus_task_id:
        status = f" ({facts.globus_status})" if facts.globus_status else ""
        lines.append(f"Globus task: {facts.globus_task_id}{status}")
    if facts.globus_skipped:
        lines.append(f"Skipped by Globus ({facts.globus_skipped}):")
        lines += [f"  {path}" for path in facts.globus_skipped_paths]
        if facts.globus_skipped > len(facts.globus_skipped_paths):
            lines.append(f"  … and {facts.globus_skipped - len(facts.globus_skipped_paths)} more")
    if facts.last_error and facts.state != TransferState.DONE:
        lines.append(f"Last error:  {facts.last_error}")
    lines += ["", "Next:", *(f"  {step}" for step in steps), "", _signature(host, at)]
    fields: dict[str, Any] = {
        "event": "transfer.state",
        "transfer_id": facts.id,
        "label": exact.label,
        "state": facts.state,
        "globus_task_id": exact.globus_task_id,
        "globus_status": exact.globus_status,
        "destination": f"s3://{exact.destination}",
        "objects": {
            "total": facts.objects_total,
            "verified": facts.count(ObjectState.VERIFIED),
            "failed": facts.count(ObjectState.FAILED),
            "skipped": facts.count(ObjectState.SKIPPED),
            "pending": _unfinished(facts),
        },
        "globus_skipped": {
            "count": exact.globus_skipped,
            "paths": list(exact.globus_skipped_paths),
        },
        "error": exact.last_error,
        "next": steps,
        "host": host,
        "at": at.isoformat(),
    }
    return Notification(subject=_subject(facts, name), text="\n".join(lines), fields=fields)


def _shown(facts: TransferFacts) -> TransferFacts:
    """The facts as a person reads them: outside text with control characters escaped."""

    def shown(value: str | None) -> str | None:
        return None if value is None else visible(value)

    return replace(
        facts,
        label=shown(facts.label),
        destination=visible(facts.destination),
        globus_task_id=shown(facts.globus_task_id),
        globus_status=shown(facts.globus_status),
        last_error=shown(facts.last_error),
        globus_skipped_paths=tuple(visible(path) for path in facts.globus_skipped_paths),
    )


def probe_notification(target_name: str, *, host: str, at: datetime) -> Notification:
    """The message `notify test` sends, so a user sees a target works before relying on it."""
    text = (
        f"This is a test from aws-copy-pt on {host}: notification target {target_name!r} "
        "works.\nYou will hear here when a transfer finishes, partly fails, fails, or needs a "
        f"Globus login (the states chosen with `--on`).\n\n{_signature(host, at)}"
    )
    fields: dict[str, Any] = {
        "event": "test",
        "target": target_name,
        "host": host,
        "at": at.isoformat(),
    }
    return Notification(
        subject=f"aws-copy-pt: test notification for {target_name}", text=text, fields=fields
    )


def render(notification: Notification, kind: str) -> tuple[str, str]:
    """(subject, body) as stored in the outbox and handed to the sender for ``kind``."""
    if kind == "webhook":
        payload = {"text": f"{notification.subject}\n{notification.text}", **notification.fields}
        return notification.subject, json.dumps(payload, sort_keys=False)
    if kind == "email":
        return notification.subject, notification.text
    raise ValueError(f"unknown notification target kind {kind!r}")


def what_happened(facts: TransferFacts) -> str:
    total, failed = facts.objects_total, facts.count(ObjectState.FAILED)
    verified = facts.count(ObjectState.VERIFIED)
    match facts.state:
        case TransferState.DONE if total == 0:
            return "The Globus task delivered no files, so there was nothing to copy."
        case TransferState.DONE:
            return f"All {total} objects are in s3://{facts.destination} and verified."
        case TransferState.PARTIAL if facts.globus_skipped:
            delivered = (
                f"{failed} of {total} delivered objects failed to copy or verify."
                if failed
                else f"All {total} delivered objects are in s3://{facts.destination} and verified."
            )
            return (
                f"Globus skipped {facts.globus_skipped} file(s) of the task (skip_source_errors): "
                f"they never reached staging and are not in s3://{facts.destination}. {delivered}"
            )
        case TransferState.PARTIAL:
            return (
                f"{failed} of {total} objects failed to copy or verify; {verified} are in "
                f"s3://{facts.destination} and verified."
            )
        case TransferState.FAILED:
            reason = facts.last_error or facts.globus_status or "see the transfer's events"
            return f"The transfer failed: {reason}."
        case TransferState.NEEDS_LOGIN:
            return (
                "The Globus login of aws-copy-pt is missing, expired or was revoked, so the task "
                "cannot be watched. Nothing is lost: the transfer resumes after you log in."
            )
        case TransferState.GLOBUS_INACTIVE:
            return (
                "Globus suspended the task because the credentials it holds for one of the "
                "task's collections expired (see the last error for the collections). Globus "
                "resumes it once they are renewed; aws-copy-pt keeps watching."
            )
    return TRANSFER_STATE_MEANINGS[TransferState(facts.state)].replace("ID", str(facts.id))


def next_steps(facts: TransferFacts, *, host: str) -> list[str]:
    """Commands the reader can run next, each with a shell comment saying why (paste-safe)."""
    show = f"aws-copy-pt transfers show {facts.id}"
    match facts.state:
        case TransferState.PARTIAL if facts.globus_skipped and not facts.count(ObjectState.FAILED):
            return [
                f"{show}    # which files Globus skipped, and why",
                "send those files again with Globus (aws-copy-pt submit, or the Globus web app)",
            ]
        case TransferState.PARTIAL:
            return [
                f"{show}    # which objects failed, and why",
                f"aws-copy-pt transfers retry {facts.id}   # copy the failed objects again",
            ]
        case TransferState.FAILED:
            return [
                f"{show}    # what failed",
                f"aws-copy-pt transfers retry {facts.id}   # try again once the cause is fixed",
            ]
        case TransferState.NEEDS_LOGIN:
            return [f"aws-copy-pt login    # in a terminal on {host}", show]
        case TransferState.GLOBUS_INACTIVE if facts.globus_task_id:
            return [
                f"{globus_activity_url(facts.globus_task_id)}    # renew the collection's "
                "credentials there",
                show,
            ]
    return [show]


def _transfer_name(facts: TransferFacts) -> str:
    if not facts.label:
        return f"transfer {facts.id}"
    label = " ".join(facts.label.split())  # no newlines: the name goes into a mail header
    if len(label) > _SUBJECT_LABEL_MAX:
        label = label[: _SUBJECT_LABEL_MAX - 1] + "…"
    return f'transfer {facts.id} "{label}"'


def _subject(facts: TransferFacts, name: str) -> str:
    total, failed = facts.objects_total, facts.count(ObjectState.FAILED)
    match facts.state:
        case TransferState.DONE:
            return f"aws-copy-pt: {name} done, {total} objects verified"
        case TransferState.PARTIAL if facts.globus_skipped:
            return f"aws-copy-pt: {name} partial, Globus skipped {facts.globus_skipped} file(s)"
        case TransferState.PARTIAL:
            return f"aws-copy-pt: {name} partly failed, {failed} of {total} objects failed"
        case TransferState.FAILED:
            return f"aws-copy-pt: {name} failed"
        case TransferState.NEEDS_LOGIN:
            return f"aws-copy-pt: {name} waits for a Globus login"
        case TransferState.GLOBUS_INACTIVE:
            return f"aws-copy-pt: Globus suspended the task of {name}"
    return f"aws-copy-pt: {name} is {facts.state}"


def _unfinished(facts: TransferFacts) -> int:
    done = (ObjectState.VERIFIED, ObjectState.FAILED, ObjectState.SKIPPED)
    return facts.objects_total - sum(facts.count(state) for state in done)


def _counts_line(facts: TransferFacts) -> str:
    parts = [
        f"{facts.count(ObjectState.VERIFIED)} verified",
        f"{facts.count(ObjectState.FAILED)} failed",
    ]
    if facts.count(ObjectState.SKIPPED):
        parts.append(f"{facts.count(ObjectState.SKIPPED)} skipped")
    if _unfinished(facts):
        parts.append(f"{_unfinished(facts)} not copied yet")
    return f"{facts.objects_total} in total: " + ", ".join(parts)


def _signature(host: str, at: datetime) -> str:
    return f"-- aws-copy-pt on {host}, {at.strftime('%Y-%m-%d %H:%M %Z').strip()}"
