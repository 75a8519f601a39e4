"""Notifications: manage targets, queue a message when a transfer changes state, deliver the queue.

Messages go through an outbox (``pending_notifications``): :func:`enqueue_for_transfer` adds
rows in the same transaction as the state change, and :func:`deliver_pending` sends what is due.
A failed delivery is logged, recorded on its row and retried with exponential back-off; it is
never raised, so a dead mail server cannot stop a transfer. Delivery is at-least-once: a crash
between sending and recording can repeat a message, never lose one.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from aws_copy_pt.core.messages import (
    DEFAULT_EVENTS,
    TransferFacts,
    format_events,
    gives_up,
    is_subscribed,
    parse_events,
    probe_notification,
    render,
    retry_delay,
    transfer_notification,
)
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import NotificationTarget, ObjectCopy, PendingNotification, Transfer
from aws_copy_pt.errors import AwsCopyPtError, ConfigError, NotFoundError, UsageError
from aws_copy_pt.log import redact
from aws_copy_pt.notify.base import SECRET_OPTIONS, Sender, Target, display_url
from aws_copy_pt.notify.mail import EmailSender, EmailSettings, describe_email, email_options
from aws_copy_pt.notify.webhook import WebhookSender, webhook_options
from aws_copy_pt.services.events import record_event
from aws_copy_pt.services.transfers import summarize
from aws_copy_pt.services.watch.skipped import skipped_count, skipped_files

log = logging.getLogger(__name__)

Senders = Mapping[str, Sender]  # target kind ("email" | "webhook") -> sender
# While one pass sends, other callers leave its rows alone for this long.
CLAIM_LEASE = timedelta(minutes=15)
SKIPPED_PATHS_SHOWN = 10  # files Globus skipped, named in a notification
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def default_senders() -> dict[str, Sender]:
    return {"email": EmailSender(), "webhook": WebhookSender()}


@dataclass(frozen=True)
class TargetRequest:
    """A target as `notify add` describes it; ``email`` holds the mail settings for email."""

    name: str
    kind: str  # "email" | "webhook"
    target: str  # address(es) or URL
    events: str | None = None  # comma list as typed; None means the default states
    email: EmailSettings = field(default_factory=EmailSettings)
    timeout: float | None = None


@dataclass(frozen=True)
class TargetInfo:
    """A target for display: no secrets (the password is only flagged, URL paths are hidden)."""

    name: str
    kind: str
    target: str
    events: list[str]
    delivery: str
    settings: dict[str, Any]
    queued: int
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True)
class DeliveryReport:
    """What one :func:`deliver_pending` pass did."""

    sent: int = 0
    failed: int = 0  # attempts that failed; each is retried later
    deferred: int = 0  # not attempted because their target already failed in this pass
    given_up: int = 0  # dropped after failing for too long
    remaining: int = 0  # still queued after the pass
    next_attempt_at: datetime | None = None  # when the earliest remaining one is due
    errors: list[str] = field(default_factory=list)  # "target: what went wrong"


def add_target(session: Session, request: TargetRequest, *, replace: bool = False) -> TargetInfo:
    """Register (or, with ``replace``, update in place) a notification target."""
    if not _NAME.fullmatch(request.name):
        raise UsageError(
            f"{request.name!r} is not a usable target name",
            hint="use letters, digits, '.', '_' and '-' (up to 100), e.g. me-mail",
        )
    events = format_events(parse_events(request.events or format_events(DEFAULT_EVENTS)))
    if request.kind == "email":
        options = email_options(request.target, request.email, timeout=request.timeout)
    elif request.kind == "webhook":
        options = webhook_options(request.target, timeout=request.timeout)
    else:
        raise UsageError(f"unknown notification target kind {request.kind!r}")
    row = session.scalar(select(NotificationTarget).where(NotificationTarget.name == request.name))
    if row is not None and not replace:
        raise UsageError(
            f"a notification target named {request.name} already exists",
            hint="choose another name, or add --replace to change it (queued messages are kept)",
        )
    if row is not None and row.kind != request.kind:
        # Queued messages are rendered for the old kind (mail text vs. JSON): keep them valid.
        raise UsageError(
            f"{request.name} is a target of kind {row.kind} and cannot become {request.kind}",
            hint=f"remove it first (`aws-copy-pt notify remove {request.name}`), then add it",
        )
    if row is None:
        row = NotificationTarget(name=request.name)
        session.add(row)
    row.kind, row.target, row.options, row.events = request.kind, request.target, options, events
    session.flush()
    _retry_now(session, row.id)
    Target.from_row(row)  # registers the new secrets for redaction
    return _info(session, row)


def list_targets(session: Session) -> list[TargetInfo]:
    rows = session.scalars(select(NotificationTarget).order_by(NotificationTarget.name))
    return [_info(session, row) for row in rows]


def remove_target(session: Session, name: str) -> int:
    """Remove a target; returns how many queued messages for it were dropped."""
    row = _get_target(session, name)
    dropped = _queued(session, row.id)
    session.delete(row)  # pending rows go with it (ON DELETE CASCADE)
    return dropped


def send_test(
    session: Session, name: str, *, senders: Senders | None = None, now: datetime | None = None
) -> TargetInfo:
    """Send a test message to target ``name`` now; raises a typed error saying why it failed."""
    row = _get_target(session, name)
    target = Target.from_row(row)
    message = probe_notification(name, host=socket.gethostname(), at=now or datetime.now(UTC))
    subject, body = render(message, target.kind)
    _sender_for(senders or default_senders(), target.kind).send(target, subject, body)
    return _info(session, row)


def enqueue_for_transfer(
    session: Session, transfer: Transfer, state: str, *, now: datetime | None = None
) -> int:
    """Queue a message about ``transfer`` reaching ``state`` for every target subscribed to it.

    Call it in the transaction that moved the transfer, so the message and the move commit
    together. A message identical to one still queued for the same target is not added again
    (a transfer bouncing in and out of NEEDS_LOGIN announces it once). Returns how many rows
    were queued.
    """
    state = TransferState(state).value
    targets = [
        row
        for row in session.scalars(select(NotificationTarget).order_by(NotificationTarget.id))
        if is_subscribed(row.events, state)
    ]
    if not targets:
        return 0
    now = now or datetime.now(UTC)
    message = transfer_notification(
        transfer_facts(session, transfer, state), host=socket.gethostname(), at=now
    )
    queued = 0
    for target in targets:
        subject, body = render(message, target.kind)
        if _already_queued(session, target.id, transfer.id, subject):
            continue
        session.add(
            PendingNotification(
                target_id=target.id,
                transfer_id=transfer.id,
                subject=subject,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
        )
        queued += 1
    log.info("transfer %s: queued %d notification(s) for %s", transfer.id, queued, state)
    return queued


def transfer_facts(session: Session, transfer: Transfer, state: str) -> TransferFacts:
    counts = session.execute(
        select(ObjectCopy.state, func.count())
        .where(ObjectCopy.transfer_id == transfer.id)
        .group_by(ObjectCopy.state)
    )
    summary = summarize(transfer)
    return TransferFacts(
        id=transfer.id,
        label=transfer.label,
        state=state,
        destination=summary.destination,
        globus_task_id=transfer.globus_task_id,
        globus_status=transfer.globus_status,
        last_error=transfer.last_error,
        object_counts={object_state: count for object_state, count in counts},
        globus_skipped=skipped_count(session, transfer.id),
        globus_skipped_paths=tuple(
            f.destination_path or f.source_path
            for f in skipped_files(session, transfer.id, limit=SKIPPED_PATHS_SHOWN)
        ),
    )


@dataclass(frozen=True)
class _Claimed:
    """A queued row taken out for sending, detached from its session."""

    id: int
    target_id: int
    transfer_id: int | None
    target: Target
    subject: str
    body: str


def deliver_pending(
    db: Database, *, now: datetime | None = None, senders: Senders | None = None
) -> DeliveryReport:
    """Send every queued message that is due; never raises for a failed delivery.

    Each outcome is committed on its own, so an interrupted pass keeps what it did. A target
    that fails is not tried again in the same pass: its other messages wait for its retry, so
    one unreachable server costs one timeout per pass, not one per message.
    """
    now = now or datetime.now(UTC)
    senders = senders if senders is not None else default_senders()
    with db.session() as session:
        claimed = _claim_due(session, now)
    sent = failed = deferred = given_up = 0
    errors: list[str] = []
    retry_at: dict[int, datetime] = {}  # target id -> when its failed message is retried
    for item in claimed:
        if item.target_id in retry_at:
            with db.session() as session:
                _defer(session, item.id, retry_at[item.target_id])
            deferred += 1
            continue
        error = _attempt(senders, item)
        with db.session() as session:
            if error is None:
                _record_sent(session, item)
                sent += 1
                continue
            errors.append(f"{item.target.name}: {error}")
            next_at = _record_failure(session, item, error, now)
            if next_at is None:
                given_up += 1
            else:
                failed += 1
                retry_at[item.target_id] = next_at
    with db.session() as session:
        remaining, next_attempt_at = session.execute(
            select(func.count(), func.min(PendingNotification.next_attempt_at))
        ).one()
    return DeliveryReport(sent, failed, deferred, given_up, remaining, next_attempt_at, errors)


def _claim_due(session: Session, now: datetime) -> list[_Claimed]:
    rows = session.scalars(
        select(PendingNotification)
        .where(PendingNotification.next_attempt_at <= now)
        .order_by(PendingNotification.next_attempt_at, PendingNotification.id)
    ).all()
    targets = {row.id: row for row in session.scalars(select(NotificationTarget))}
    claimed = []
    for row in rows:
        row.next_attempt_at = now + CLAIM_LEASE
        target = Target.from_row(targets[row.target_id])
        claimed.append(
            _Claimed(row.id, row.target_id, row.transfer_id, target, row.subject, row.body)
        )
    return claimed


def _attempt(senders: Senders, item: _Claimed) -> str | None:
    """Send one message; the error text if it failed (logged here, never raised)."""
    try:
        _sender_for(senders, item.target.kind).send(item.target, item.subject, item.body)
    except AwsCopyPtError as exc:
        log.warning("notification %s to %s failed: %s", item.id, item.target.name, exc)
        return redact(str(exc))
    except Exception as exc:  # a bug or an unforeseen library error must not stop the daemon
        log.warning("notification %s to %s failed", item.id, item.target.name, exc_info=True)
        return redact(f"{type(exc).__name__}: {exc}")
    log.info("notification %s sent to %s: %s", item.id, item.target.name, item.subject)
    return None


def _record_sent(session: Session, item: _Claimed) -> None:
    row = session.get(PendingNotification, item.id)
    if row is not None:
        session.delete(row)
    message = f"sent to {item.target.name} ({item.target.kind}): {item.subject}"
    _transfer_event(session, item.transfer_id, "notified", message)


def _record_failure(session: Session, item: _Claimed, error: str, now: datetime) -> datetime | None:
    """Count the failed attempt; the retry time, or None when the message is given up."""
    row = session.get(PendingNotification, item.id)
    if row is None:  # the target was removed while we were sending
        return None
    row.attempts += 1
    row.last_error = error
    if gives_up(row.created_at, now):
        session.delete(row)
        message = (
            f"gave up notifying {item.target.name} after {row.attempts} attempts since "
            f"{row.created_at:%Y-%m-%d %H:%M} UTC: {error}"
        )
        log.error("notification %s: %s", item.id, message)
        _transfer_event(session, item.transfer_id, "notify_gave_up", message)
        return None
    row.next_attempt_at = now + retry_delay(row.attempts)
    if row.attempts == 1:  # one event per message, not one per retry
        message = f"could not notify {item.target.name}, retrying: {error}"
        _transfer_event(session, item.transfer_id, "notify_failed", message)
    return row.next_attempt_at


def _defer(session: Session, row_id: int, until: datetime) -> None:
    row = session.get(PendingNotification, row_id)
    if row is not None:
        row.next_attempt_at = until


def _transfer_event(session: Session, transfer_id: int | None, kind: str, message: str) -> None:
    transfer = None if transfer_id is None else session.get(Transfer, transfer_id)
    record_event(session, transfer, kind, message)


def _sender_for(senders: Senders, kind: str) -> Sender:
    try:
        return senders[kind]
    except KeyError:
        raise ConfigError(f"no sender for notification targets of kind {kind!r}") from None


def _get_target(session: Session, name: str) -> NotificationTarget:
    row = session.scalar(select(NotificationTarget).where(NotificationTarget.name == name))
    if row is None:
        raise NotFoundError(
            f"there is no notification target named {name}",
            hint="`aws-copy-pt notify list` shows the registered targets",
        )
    return row


def _queued(session: Session, target_id: int) -> int:
    query = select(func.count()).where(PendingNotification.target_id == target_id)
    return int(session.scalar(query) or 0)


def _already_queued(session: Session, target_id: int, transfer_id: int, subject: str) -> bool:
    query = select(PendingNotification.id).where(
        PendingNotification.target_id == target_id,
        PendingNotification.transfer_id == transfer_id,
        PendingNotification.subject == subject,
    )
    return session.scalar(query.limit(1)) is not None


def _retry_now(session: Session, target_id: int) -> None:
    """After a target is changed, its queued messages are tried again at the next pass."""
    session.execute(
        update(PendingNotification)
        .where(PendingNotification.target_id == target_id)
        .values(attempts=0, next_attempt_at=datetime.now(UTC))
    )


def _info(session: Session, row: NotificationTarget) -> TargetInfo:
    target = Target.from_row(row)
    last_error = session.scalar(
        select(PendingNotification.last_error)
        .where(PendingNotification.target_id == row.id, PendingNotification.last_error.is_not(None))
        .order_by(PendingNotification.id.desc())
        .limit(1)
    )
    settings = {key: value for key, value in row.options.items() if key not in SECRET_OPTIONS}
    if row.kind == "email":
        settings["password_set"] = bool(row.options.get("smtp_password"))
    return TargetInfo(
        name=row.name,
        kind=row.kind,
        target=display_url(row.target) if row.kind == "webhook" else row.target,
        events=row.events.split(","),
        delivery=describe_email(target) if row.kind == "email" else "JSON POST",
        settings=settings,
        queued=_queued(session, row.id),
        last_error=last_error,
        created_at=row.created_at,
    )
