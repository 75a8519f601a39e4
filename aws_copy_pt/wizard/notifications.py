"""Menu screen for notifications: who hears about finished, failed or stuck transfers."""

from __future__ import annotations

from dataclasses import dataclass

from aws_copy_pt.notify.base import DEFAULT_SENDMAIL
from aws_copy_pt.notify.mail import DEFAULT_SMTP_PORT, EmailSettings
from aws_copy_pt.services.notify import (
    TargetInfo,
    TargetRequest,
    add_target,
    list_targets,
    remove_target,
    send_test,
)
from aws_copy_pt.wizard.context import Wizard
from aws_copy_pt.wizard.ui import BACK, Option, walk

SMTP = "smtp"


def manage(wizard: Wizard) -> None:
    while True:
        _show(wizard)
        picked = wizard.ui.select(
            "Notifications:",
            [
                Option("Add an email address", "email"),
                Option("Add a webhook (Slack, Mattermost, …)", "webhook"),
                Option("Send a test message", "test"),
                Option("Remove a target", "remove"),
            ],
        )
        if picked is BACK:
            return
        {"email": _add_email, "webhook": _add_webhook, "test": _test, "remove": _remove}[picked](
            wizard
        )


def _show(wizard: Wizard) -> None:
    with wizard.app.session() as session:
        targets = list_targets(session)
    if not targets:
        wizard.ui.say("No notification targets yet.")
        return
    rows = [(t.name, t.kind, t.target, ",".join(t.events), t.last_error or "") for t in targets]
    wizard.ui.table(("Name", "Kind", "Target", "On", "Last error"), rows)


@dataclass
class _Email:
    name: str = "me"
    address: str = ""
    via: str = "sendmail"
    host: str = ""
    port: str = str(DEFAULT_SMTP_PORT)
    user: str = ""
    password: str = ""


def _add_email(wizard: Wizard) -> None:
    ui = wizard.ui
    email = _Email()

    def name() -> bool:
        return _text(wizard, "Name of this target", email, "name")

    def address() -> bool:
        return _text(wizard, "Email address(es), comma-separated", email, "address")

    def via() -> bool:
        picked = ui.select(
            "How is mail sent from this machine?",
            [
                Option(f"The local mail agent ({DEFAULT_SENDMAIL})", "sendmail"),
                Option("An SMTP server", SMTP),
            ],
            default=email.via,
        )
        email.via = email.via if picked is BACK else str(picked)
        return picked is not BACK

    def host() -> bool:
        return email.via != SMTP or _text(wizard, "SMTP server host", email, "host")

    def port() -> bool:
        while email.via == SMTP:
            typed = ui.text(
                "SMTP port", default=email.port, instruction="(587: STARTTLS, 465: implicit TLS)"
            )
            if typed is None:
                return False
            if typed.isdigit():
                email.port = typed
                break
            ui.warn("The port is a number, e.g. 587.")
        return True

    def login() -> bool:
        if email.via == SMTP:
            email.user = ui.optional_text(
                "SMTP user", default=email.user, instruction="(empty: no login)"
            )
            email.password = ui.secret(f"SMTP password for {email.user}") if email.user else ""
        return True

    if walk([name, address, via, host, port, login]):
        _save(wizard, _email_request(email))


def _email_request(email: _Email) -> TargetRequest:
    if email.via == SMTP:
        settings = EmailSettings(
            smtp_host=email.host,
            smtp_port=int(email.port),
            smtp_user=email.user or None,
            smtp_password=email.password or None,
        )
    else:
        settings = EmailSettings(sendmail_path=DEFAULT_SENDMAIL)
    return TargetRequest(email.name, "email", email.address, email=settings)


@dataclass
class _Webhook:
    name: str = "team"
    url: str = ""


def _add_webhook(wizard: Wizard) -> None:
    hook = _Webhook()

    def name() -> bool:
        return _text(wizard, "Name of this target", hook, "name")

    def url() -> bool:
        return _text(wizard, "Webhook URL", hook, "url")

    if walk([name, url]):
        _save(wizard, TargetRequest(hook.name, "webhook", hook.url))


def _text(wizard: Wizard, message: str, answers: object, field: str) -> bool:
    typed = wizard.ui.text(message, default=getattr(answers, field))
    if typed is not None:
        setattr(answers, field, typed)
    return typed is not None


def _save(wizard: Wizard, request: TargetRequest) -> None:
    def add() -> TargetInfo:
        with wizard.app.session() as session:
            return add_target(session, request)

    info = wizard.attempt(add)
    if info is not None:
        wizard.ui.ok(f"Added {info.name}: {info.target} ({info.delivery}).")
        wizard.ui.say(f"It announces {', '.join(info.events)}. Send a test from this menu.")


def _names(wizard: Wizard) -> list[str]:
    with wizard.app.session() as session:
        return [t.name for t in list_targets(session)]


def _pick(wizard: Wizard, message: str) -> str | None:
    names = _names(wizard)
    if not names:
        return None
    picked = wizard.ui.select(message, [Option(n, n) for n in names])
    return None if picked is BACK else str(picked)


def _test(wizard: Wizard) -> None:
    name = _pick(wizard, "Send a test to which target?")
    if name is None:
        return

    def send() -> TargetInfo:
        with wizard.app.session() as session:
            return send_test(session, name)

    info = wizard.attempt(send)
    if info is not None:
        wizard.ui.ok(f"Sent a test message to {info.name}: {info.target}.")


def _remove(wizard: Wizard) -> None:
    name = _pick(wizard, "Remove which target?")
    if name is None or not wizard.ui.confirm(f"Remove {name} and its queued messages?"):
        return

    def remove() -> int:
        with wizard.app.session() as session:
            return remove_target(session, name)

    if wizard.attempt(remove) is not None:
        wizard.ui.ok(f"Removed {name}.")
