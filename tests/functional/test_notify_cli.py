"""`aws-copy-pt notify add|list|remove|test`, run as a user would, against real local receivers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.db.models import NotificationTarget, PendingNotification
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.home.paths import resolve_home
from tests.fixtures.cli import CliResult, CliRunner

if TYPE_CHECKING:
    from tests.fixtures.notify import CertFiles, SmtpServer, WebhookReceiver

# The SMTP server, webhook receiver and closed-port fixtures.

SLACK_PATH = "/services/T0AAAA/B0BBBB/k3Yt0k3nSecretValue"


def stored_targets(app_home: Path) -> dict[str, NotificationTarget]:
    db = open_database(resolve_home(app_home, {}))
    try:
        with db.session() as session:
            return {t.name: t for t in session.scalars(select(NotificationTarget))}
    finally:
        db.close()


def add_smtp(
    cli: CliRunner, server: SmtpServer, *extra: str, password: str | None = None
) -> CliResult:
    """`notify add pi` for ``server``, logging in as its user; ``extra`` options follow."""
    return cli(
        "notify", "add", "pi", "--email", "pi@lab.example.org",
        "--smtp-host", "127.0.0.1", "--smtp-port", str(server.port),
        "--smtp-user", server.user, *extra,
        env={"AWS_COPY_PT_SMTP_PASSWORD": password or server.password},
    )  # fmt: skip


def test_no_targets_yet_says_how_to_add_one(cli: CliRunner) -> None:
    assert "aws-copy-pt notify add" in cli("notify", "list").ok().stdout


def test_webhook_target_is_listed_without_the_secret_in_its_url(
    cli: CliRunner, webhook_receiver: WebhookReceiver
) -> None:
    url = webhook_receiver.url(SLACK_PATH)
    added = cli("notify", "add", "team", "--webhook", url, "--on", "done,failed").ok()
    assert "It announces DONE, FAILED." in added.stdout

    table = cli("notify", "list").ok()
    listed = json.loads(cli("--json", "notify", "list").ok().stdout)

    assert "team" in table.stdout and "k3Yt0k3nSecretValue" not in table.stdout
    [target] = listed["targets"]
    assert target["target"] == url.removesuffix(SLACK_PATH) + "/***"
    assert target["events"] == ["DONE", "FAILED"]
    assert target["queued"] == 0
    assert "k3Yt0k3nSecretValue" not in json.dumps(listed)


def test_smtp_password_is_stored_but_never_shown(
    cli: CliRunner, app_home: Path, smtp_tls_server: SmtpServer, smtp_cert: CertFiles
) -> None:
    added = add_smtp(cli, smtp_tls_server, "--smtp-cafile", str(smtp_cert.cert)).ok()
    table = cli("notify", "list").ok()
    listed = cli("--json", "notify", "list").ok()

    for output in (added.stdout, added.stderr, table.stdout, listed.stdout):
        assert smtp_tls_server.password not in output
    [target] = json.loads(listed.stdout)["targets"]
    assert target["settings"]["password_set"] is True
    assert target["settings"]["smtp_user"] == smtp_tls_server.user
    assert stored_targets(app_home)["pi"].options["smtp_password"] == smtp_tls_server.password


def test_password_stdin_takes_the_password_from_a_pipe(
    cli_subprocess: CliRunner, app_home: Path
) -> None:
    result = cli_subprocess(
        "notify", "add", "pi", "--email", "pi@lab.example.org", "--smtp-host", "smtp.example.org",
        "--smtp-user", "pi", "--password-stdin", input="pipe-password-77\n",
    ).ok()  # fmt: skip
    assert "pipe-password-77" not in result.stdout + result.stderr
    assert stored_targets(app_home)["pi"].options["smtp_password"] == "pipe-password-77"


def test_smtp_login_without_a_password_source_is_refused_off_a_terminal(cli: CliRunner) -> None:
    result = cli(
        "notify", "add", "pi", "--email", "pi@lab.example.org",
        "--smtp-host", "smtp.example.org", "--smtp-user", "pi",
    ).fails(ExitCode.USAGE, says="no terminal to ask it")  # fmt: skip
    assert "--password-stdin" in result.stderr and "AWS_COPY_PT_SMTP_PASSWORD" in result.stderr


def test_unknown_state_is_refused_with_the_choices(cli: CliRunner) -> None:
    result = cli("notify", "add", "t", "--webhook", "https://h.example.org/x", "--on", "DONE,OK")
    result.fails(ExitCode.USAGE, says="OK is not a transfer state")
    assert "DONE,PARTIAL,FAILED,NEEDS_LOGIN,GLOBUS_INACTIVE" in result.stderr


def test_email_options_given_to_a_webhook_are_refused(cli: CliRunner) -> None:
    cli(
        "notify", "add", "t", "--webhook", "https://h.example.org/x",
        "--smtp-host", "smtp.example.org", "--no-starttls", "--from", "a@b.c",
    ).fails(
        ExitCode.USAGE, says="--smtp-host, --starttls/--no-starttls, --from only apply to --email"
    )  # fmt: skip


def test_exactly_one_of_email_or_webhook_is_required(cli: CliRunner) -> None:
    cli("notify", "add", "t").fails(ExitCode.USAGE, says="exactly one of --email")
    cli("notify", "add", "t", "--email", "a@b.c", "--webhook", "https://h.example.org/x").fails(
        ExitCode.USAGE, says="exactly one of --email"
    )


def test_bad_addresses_and_urls_are_refused(cli: CliRunner) -> None:
    cli("notify", "add", "t", "--email", "pi at lab", "--smtp-host", "h").fails(
        ExitCode.USAGE, says="is not a plain email address"
    )
    cli("notify", "add", "t", "--webhook", "file:///etc/passwd").fails(
        ExitCode.USAGE, says="is not an http(s) URL"
    )


def test_missing_sendmail_is_a_setup_error(cli: CliRunner) -> None:
    result = cli("notify", "add", "pi", "--email", "pi@lab.example.org", "--sendmail", "/no/mta")
    result.fails(ExitCode.CONFIG, says="there is no executable sendmail program at /no/mta")


def test_replace_changes_a_target_and_retries_its_queue_at_the_next_pass(
    cli: CliRunner, app_home: Path
) -> None:
    cli("notify", "add", "team", "--webhook", "https://old.example.org/hook").ok()
    cli("notify", "add", "team", "--webhook", "https://new.example.org/hook").fails(
        ExitCode.USAGE, says="already exists"
    )
    later = datetime.now(UTC) + timedelta(hours=1)
    db = open_database(resolve_home(app_home, {}))
    with db.session() as session:
        target = session.scalars(select(NotificationTarget)).one()
        session.add(
            PendingNotification(
                target_id=target.id, subject="s", body="{}", attempts=5, next_attempt_at=later
            )
        )
    db.close()

    replaced = cli(
        "notify", "add", "team", "--webhook", "https://new.example.org/hook", "--replace"
    )

    assert "Saved webhook target team" in replaced.ok().stdout
    db = open_database(resolve_home(app_home, {}))
    with db.session() as session:
        [row] = session.scalars(select(PendingNotification))
        assert row.attempts == 0 and row.next_attempt_at < later
    db.close()
    assert stored_targets(app_home)["team"].target == "https://new.example.org/hook"


def test_remove_deletes_the_target_and_unknown_names_point_to_list(cli: CliRunner) -> None:
    cli("notify", "add", "team", "--webhook", "https://h.example.org/x").ok()
    assert "Removed notification target team." in cli("notify", "remove", "team").ok().stdout
    assert "No notification targets" in cli("notify", "list").ok().stdout
    cli("notify", "remove", "team").fails(ExitCode.CONFIG, says="no notification target named")


def test_notify_test_posts_a_test_message_to_the_webhook(
    cli: CliRunner, webhook_receiver: WebhookReceiver
) -> None:
    cli("notify", "add", "team", "--webhook", webhook_receiver.url(SLACK_PATH)).ok()

    result = cli("notify", "test", "team").ok()

    assert "Sent a test message to team" in result.stdout
    [post] = webhook_receiver.received
    assert post.payload["event"] == "test" and post.payload["target"] == "team"
    assert "notification target 'team' works" in post.payload["text"]


@pytest.mark.parametrize(
    ("security", "extra"),
    [("STARTTLS", ()), ("implicit TLS", ("--implicit-tls",))],
    ids=["starttls", "implicit-tls"],
)
def test_notify_test_mails_through_tls_and_a_login_trusting_the_private_ca(
    cli: CliRunner, request: pytest.FixtureRequest, security: str, extra: tuple[str, ...]
) -> None:
    if extra:  # SMTPS, as on port 465: a server certificate signed by a private CA
        server: SmtpServer = request.getfixturevalue("smtps_server")
        ca_file = request.getfixturevalue("mail_ca").ca_cert
    else:  # submission with STARTTLS, as on port 587
        server = request.getfixturevalue("smtp_tls_server")
        ca_file = request.getfixturevalue("smtp_cert").cert
    add_smtp(cli, server, *extra, "--smtp-cafile", str(ca_file)).ok()

    listed = cli("notify", "list").ok()
    result = cli("--json", "notify", "test", "pi").ok()

    assert f"SMTP 127.0.0.1:{server.port}, {security}, trusting" in listed.stdout
    assert json.loads(result.stdout)["sent"] is True
    [mail] = server.received
    assert mail.message["Subject"] == "aws-copy-pt: test notification for pi"
    assert mail.rcpt_tos == ["pi@lab.example.org"]


def test_failed_notify_test_names_the_cause_and_the_next_step(
    cli: CliRunner, closed_port: int
) -> None:
    cli("notify", "add", "team", "--webhook", f"http://127.0.0.1:{closed_port}/hook").ok()

    result = cli("notify", "test", "team").fails(
        ExitCode.REMOTE, says="nothing accepts connections"
    )

    assert "next: check the URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_smtp_password_never_appears_even_with_debug(
    cli: CliRunner, smtp_tls_server: SmtpServer, smtp_cert: CertFiles
) -> None:
    wrong = "wrong-but-secret-9182"
    add_smtp(cli, smtp_tls_server, "--smtp-cafile", str(smtp_cert.cert), password=wrong).ok()

    result = cli("--debug", "notify", "test", "pi").fails(ExitCode.REMOTE, says="refused the login")

    assert "535" in result.stderr
    assert "next: check the user name and password" in result.stderr
    assert wrong not in result.stdout + result.stderr


def test_implicit_tls_to_a_server_of_a_private_ca_names_the_cafile_fix(
    cli: CliRunner, smtps_server: SmtpServer
) -> None:
    add_smtp(cli, smtps_server, "--implicit-tls").ok()

    result = cli("notify", "test", "pi").fails(ExitCode.REMOTE, says="does not trust")

    assert "--smtp-cafile" in result.stderr
    assert smtps_server.received == []


def test_implicit_tls_to_a_starttls_port_says_to_use_starttls(
    cli: CliRunner, smtp_tls_server: SmtpServer, smtp_cert: CertFiles
) -> None:
    add_smtp(cli, smtp_tls_server, "--implicit-tls", "--smtp-cafile", str(smtp_cert.cert)).ok()

    result = cli("notify", "test", "pi").fails(ExitCode.REMOTE, says="TLS with SMTP server")

    assert "--no-implicit-tls" in result.stderr
    assert smtp_tls_server.received == []


def test_port_465_means_implicit_tls_and_587_stays_starttls(cli: CliRunner, app_home: Path) -> None:
    mail = ("--email", "pi@lab.example.org", "--smtp-host", "smtp.example.org")
    cli("notify", "add", "smtps", *mail, "--smtp-port", "465").ok()
    cli("notify", "add", "submission", *mail).ok()

    listed = cli("notify", "list").ok().stdout
    stored = stored_targets(app_home)

    assert (stored["smtps"].options["implicit_tls"], stored["smtps"].options["starttls"]) == (
        True,
        False,
    )
    assert stored["submission"].options["starttls"] is True
    assert stored["submission"].options["implicit_tls"] is False
    assert "smtp.example.org:465, implicit TLS" in listed
    assert "smtp.example.org:587, STARTTLS" in listed


def test_no_starttls_on_port_465_is_refused_as_contradictory(cli: CliRunner) -> None:
    cli(
        "notify", "add", "pi", "--email", "pi@lab.example.org",
        "--smtp-host", "smtp.example.org", "--smtp-port", "465", "--no-starttls",
    ).fails(ExitCode.USAGE, says="implicit TLS encrypts the whole connection")  # fmt: skip
