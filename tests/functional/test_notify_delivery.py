"""Queueing and delivering notifications to real local SMTP, HTTP and sendmail receivers.

Failures are proven against receivers that really fail (HTTP 500, a refused port, a silent
port, a wrong password, an untrusted certificate): each is recorded on the queued row, backed
off and retried by later passes, and never raised to the caller. Time is injected (``now``).
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from aws_copy_pt.db.engine import Database, open_database
from aws_copy_pt.db.models import (
    AwsCredential,
    Bucket,
    Event,
    ObjectCopy,
    PendingNotification,
    Transfer,
)
from aws_copy_pt.home.paths import resolve_home
from aws_copy_pt.notify.base import Target
from aws_copy_pt.notify.mail import EmailSettings
from aws_copy_pt.services.notify import (
    DeliveryReport,
    TargetRequest,
    add_target,
    deliver_pending,
    enqueue_for_transfer,
)

if TYPE_CHECKING:
    from tests.fixtures.notify import CertFiles, FakeSendmail, SmtpServer, WebhookReceiver

# The SMTP server, webhook receiver, closed-port and sendmail fixtures.

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TASK = "5e1f2a9c-0000-11ef-8a1b-0242ac120002"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(resolve_home(tmp_path / "home", {}))
    yield database
    database.close()


def add_transfer(
    db: Database, *, state: str = "DONE", objects: dict[str, int] | None = None
) -> int:
    """A Globus transfer into s3://lab-archive/runs/42 with objects in the given states."""
    counts = {"verified": 3} if objects is None else objects
    with db.session() as session:
        buckets = {b.name: b for b in session.scalars(select(Bucket))}
        if not buckets:
            credential = AwsCredential(name="lab", kind="profile", profile="default")
            for name in ("staging", "lab-archive"):
                buckets[name] = Bucket(name=name, credential=credential)
        transfer = Transfer(
            label="run 42",
            kind="globus",
            state=state,
            source_bucket=buckets["staging"],
            dest_bucket=buckets["lab-archive"],
            dest_prefix="runs/42",
        )
        session.add(transfer)
        session.flush()
        transfer.globus_task_id = f"{TASK[:-4]}{transfer.id:04d}"
        for object_state, n in counts.items():
            for i in range(n):
                key = f"{object_state}/{i}.dat"
                session.add(ObjectCopy(transfer_id=transfer.id, source_key=key, state=object_state))
        return transfer.id


def enqueue(db: Database, transfer_id: int, state: str, now: datetime = T0) -> int:
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        return enqueue_for_transfer(session, transfer, state, now=now)


def add(db: Database, request: TargetRequest) -> None:
    with db.session() as session:
        add_target(session, request)


def add_webhook(
    db: Database, name: str, url: str, *, on: str | None = None, timeout: float | None = None
) -> None:
    add(db, TargetRequest(name, "webhook", url, on, timeout=timeout))


def smtp_target(name: str, port: int, **settings: object) -> TargetRequest:
    email = EmailSettings(smtp_host="127.0.0.1", smtp_port=port, **settings)  # type: ignore[arg-type]
    return TargetRequest(name, "email", "pi@lab.example.org", email=email)


def queued(db: Database) -> list[PendingNotification]:
    with db.session() as session:
        return list(session.scalars(select(PendingNotification).order_by(PendingNotification.id)))


def events(db: Database, kind: str) -> list[Event]:
    with db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_done_transfer_is_mailed_to_subscribed_targets_only(
    db: Database, smtp_server: SmtpServer, webhook_receiver: WebhookReceiver
) -> None:
    add(db, smtp_target("pi", smtp_server.port, starttls=False))
    add_webhook(db, "oncall", webhook_receiver.url(), on="FAILED,NEEDS_LOGIN")
    transfer_id = add_transfer(db, objects={"verified": 3})

    assert enqueue(db, transfer_id, "DONE") == 1
    report = deliver_pending(db, now=T0)

    assert report == DeliveryReport(sent=1, remaining=0)
    assert webhook_receiver.received == []
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["pi@lab.example.org"]
    assert mail.message["Subject"] == 'aws-copy-pt: transfer 1 "run 42" done, 3 objects verified'
    assert mail.message["Auto-Submitted"] == "auto-generated"
    body = mail.message.get_content()
    assert "All 3 objects are in s3://lab-archive/runs/42 and verified." in body
    assert f"aws-copy-pt transfers show {transfer_id}" in body
    assert queued(db) == []
    [sent] = events(db, "notified")
    assert sent.transfer_id == transfer_id and "sent to pi (email)" in sent.message


def test_starttls_and_login_work_with_the_servers_ca_file(
    db: Database, smtp_tls_server: SmtpServer, smtp_cert: CertFiles
) -> None:
    add(
        db,
        smtp_target(
            "pi",
            smtp_tls_server.port,
            smtp_user=smtp_tls_server.user,
            smtp_password=smtp_tls_server.password,
            smtp_cafile=str(smtp_cert.cert),
            from_address="aws-copy-pt@lab.example.org",
        ),
    )
    enqueue(db, add_transfer(db, state="PARTIAL", objects={"verified": 2, "failed": 1}), "PARTIAL")

    assert deliver_pending(db, now=T0).sent == 1
    [mail] = smtp_tls_server.received
    assert mail.mail_from == "aws-copy-pt@lab.example.org"
    assert "partly failed, 1 of 3 objects failed" in mail.message["Subject"]


def test_untrusted_certificate_is_recorded_with_the_cafile_fix(
    db: Database, smtp_tls_server: SmtpServer
) -> None:
    request = smtp_target(
        "pi",
        smtp_tls_server.port,
        smtp_user=smtp_tls_server.user,
        smtp_password=smtp_tls_server.password,
    )
    add(db, request)
    enqueue(db, add_transfer(db), "DONE")

    report = deliver_pending(db, now=T0)

    assert (report.sent, report.failed, report.remaining) == (0, 1, 1)
    [row] = queued(db)
    assert row.last_error is not None
    assert "does not trust" in row.last_error and "--smtp-cafile" in row.last_error
    assert smtp_tls_server.received == []


def test_wrong_smtp_password_is_recorded_and_never_written_anywhere(
    db: Database,
    smtp_tls_server: SmtpServer,
    smtp_cert: CertFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "not-the-password-0451"
    add(
        db,
        smtp_target(
            "pi",
            smtp_tls_server.port,
            smtp_user=smtp_tls_server.user,
            smtp_password=wrong,
            smtp_cafile=str(smtp_cert.cert),
        ),
    )
    enqueue(db, add_transfer(db), "DONE")

    with caplog.at_level(logging.DEBUG, logger="aws_copy_pt"):
        report = deliver_pending(db, now=T0)

    assert report.failed == 1
    [row] = queued(db)
    assert (
        row.last_error is not None
        and f"refused the login of user {smtp_tls_server.user}" in row.last_error
    )
    assert "535" in row.last_error
    assert wrong not in row.last_error and wrong not in caplog.text
    assert "notification 1 to pi failed" in caplog.text


def test_target_requiring_starttls_refuses_a_server_without_it(
    db: Database, smtp_server: SmtpServer
) -> None:
    add(db, smtp_target("pi", smtp_server.port))
    enqueue(db, add_transfer(db), "DONE")

    assert deliver_pending(db, now=T0).failed == 1
    [row] = queued(db)
    assert row.last_error is not None and "does not offer STARTTLS" in row.last_error
    assert smtp_server.received == []


def test_webhook_gets_slack_text_and_structured_fields(
    db: Database, webhook_receiver: WebhookReceiver
) -> None:
    add_webhook(db, "chat", webhook_receiver.url("/services/T1/B2/secret-token-xyz"))
    transfer_id = add_transfer(db, state="FAILED", objects={"verified": 1, "failed": 2})
    enqueue(db, transfer_id, "FAILED")

    assert deliver_pending(db, now=T0).sent == 1

    [post] = webhook_receiver.received
    assert post.path == "/services/T1/B2/secret-token-xyz"
    assert post.headers["Content-Type"].startswith("application/json")
    payload = post.payload
    assert payload["text"].startswith(f'aws-copy-pt: transfer {transfer_id} "run 42" failed\n')
    assert payload["transfer_id"] == transfer_id
    assert payload["label"] == "run 42"
    assert payload["state"] == "FAILED"
    assert payload["objects"]["failed"] == 2 and payload["objects"]["verified"] == 1
    assert payload["globus_task_id"] == f"{TASK[:-4]}{transfer_id:04d}"
    assert payload["destination"] == "s3://lab-archive/runs/42"


def test_failed_webhook_is_backed_off_and_retried_until_it_goes_through(
    db: Database, webhook_receiver: WebhookReceiver
) -> None:
    add_webhook(db, "chat", webhook_receiver.url())
    transfer_id = add_transfer(db)
    enqueue(db, transfer_id, "DONE")
    webhook_receiver.status = 500

    first = deliver_pending(db, now=T0)
    [row] = queued(db)
    assert (first.failed, first.remaining) == (1, 1)
    assert first.next_attempt_at == T0 + timedelta(minutes=1)
    assert row.attempts == 1 and row.next_attempt_at == T0 + timedelta(minutes=1)
    assert row.last_error is not None and "answered HTTP 500" in row.last_error
    assert "receiver is broken" in row.last_error

    too_early = deliver_pending(db, now=T0 + timedelta(seconds=30))
    assert too_early == DeliveryReport(remaining=1, next_attempt_at=T0 + timedelta(minutes=1))
    assert len(webhook_receiver.received) == 1

    deliver_pending(db, now=T0 + timedelta(minutes=1))
    [row] = queued(db)
    assert row.attempts == 2 and row.next_attempt_at == T0 + timedelta(minutes=3)

    webhook_receiver.status = 200
    last = deliver_pending(db, now=T0 + timedelta(minutes=3))
    assert (last.sent, last.remaining) == (1, 0)
    assert len(webhook_receiver.received) == 3
    assert queued(db) == []
    assert len(events(db, "notify_failed")) == 1  # one event per message, not per retry
    assert len(events(db, "notified")) == 1


def test_unreachable_target_costs_one_attempt_per_pass(db: Database, closed_port: int) -> None:
    add_webhook(db, "chat", f"http://127.0.0.1:{closed_port}/hook")
    for _ in range(3):
        enqueue(db, add_transfer(db), "DONE")

    report = deliver_pending(db, now=T0)

    assert (report.failed, report.deferred, report.remaining) == (1, 2, 3)
    assert report.errors[0].startswith("chat: nothing accepts connections at webhook http://127")
    rows = queued(db)
    assert [row.attempts for row in rows] == [1, 0, 0]
    assert {row.next_attempt_at for row in rows} == {T0 + timedelta(minutes=1)}


def test_silent_webhook_times_out_without_stalling_the_caller(db: Database) -> None:
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        add_webhook(db, "chat", f"http://127.0.0.1:{silent.getsockname()[1]}/h", timeout=0.2)
        enqueue(db, add_transfer(db), "DONE")
        report = deliver_pending(db, now=T0)
    assert report.failed == 1
    assert "did not answer within 0.2 s" in report.errors[0]


def test_redirecting_webhook_is_a_failure_not_a_silent_get(
    db: Database, webhook_receiver: WebhookReceiver
) -> None:
    add_webhook(db, "chat", webhook_receiver.url())
    enqueue(db, add_transfer(db), "DONE")
    webhook_receiver.status = 301

    report = deliver_pending(db, now=T0)

    assert report.failed == 1 and "answered HTTP 301, a redirect" in report.errors[0]
    assert len(webhook_receiver.received) == 1


def test_messages_failing_for_two_days_are_given_up_with_an_event(
    db: Database, closed_port: int
) -> None:
    add_webhook(db, "chat", f"http://127.0.0.1:{closed_port}/hook")
    transfer_id = add_transfer(db)
    enqueue(db, transfer_id, "DONE", now=T0)

    deliver_pending(db, now=T0 + timedelta(hours=47))
    report = deliver_pending(db, now=T0 + timedelta(hours=48))

    assert (report.given_up, report.remaining) == (1, 0)
    [gave_up] = events(db, "notify_gave_up")
    assert gave_up.transfer_id == transfer_id
    assert "gave up notifying chat after 2 attempts" in gave_up.message
    assert "nothing accepts connections" in gave_up.message


def test_sendmail_gets_the_mail_with_recipients_in_its_headers(
    db: Database, tmp_path: Path, fake_sendmail: FakeSendmail
) -> None:
    sendmail = fake_sendmail()
    email = EmailSettings(sendmail_path=str(sendmail), from_address="acp@lab.example.org")
    add(db, TargetRequest("pi", "email", "pi@lab.example.org,tech@lab.example.org", email=email))
    enqueue(db, add_transfer(db), "DONE")

    assert deliver_pending(db, now=T0).sent == 1

    args = (tmp_path / "sendmail.args").read_text().split()
    assert args == ["-t", "-oi", "-f", "acp@lab.example.org"]
    mail = (tmp_path / "sendmail.mail").read_text()
    assert "To: pi@lab.example.org, tech@lab.example.org" in mail
    assert 'Subject: aws-copy-pt: transfer 1 "run 42" done, 3 objects verified' in mail


def test_failing_sendmail_is_recorded_with_its_own_words(
    db: Database, fake_sendmail: FakeSendmail
) -> None:
    sendmail = fake_sendmail(exit_status=75)
    add(
        db,
        TargetRequest(
            "pi", "email", "pi@lab.example.org", email=EmailSettings(sendmail_path=str(sendmail))
        ),
    )
    enqueue(db, add_transfer(db), "NEEDS_LOGIN")

    report = deliver_pending(db, now=T0)

    assert report.failed == 1
    assert "exited with status 75: sendmail: queue is full" in report.errors[0]


def test_a_message_still_queued_is_not_queued_again(db: Database, closed_port: int) -> None:
    add_webhook(db, "chat", f"http://127.0.0.1:{closed_port}/hook")
    transfer_id = add_transfer(db, state="NEEDS_LOGIN", objects={})
    assert enqueue(db, transfer_id, "NEEDS_LOGIN") == 1
    assert enqueue(db, transfer_id, "NEEDS_LOGIN") == 0  # bounced back before delivery
    assert enqueue(db, transfer_id, "GLOBUS_INACTIVE") == 0  # not subscribed by default


def test_a_crashing_sender_is_recorded_and_never_raised(db: Database) -> None:
    class Broken:
        def send(self, target: Target, subject: str, body: str) -> None:
            raise RuntimeError("unexpected library failure")

    add_webhook(db, "chat", "https://hooks.example.org/x")
    enqueue(db, add_transfer(db), "DONE")

    report = deliver_pending(db, now=T0, senders={"webhook": Broken()})

    assert report.failed == 1
    [row] = queued(db)
    assert row.last_error == "RuntimeError: unexpected library failure"
    assert json.loads(row.body)["state"] == "DONE"  # the rendered message is kept for the retry
