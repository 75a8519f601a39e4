"""Globus login: a browser where one can open, otherwise a URL to open and a code to paste.

The flow itself (browser or copy-paste, refresh tokens, storing them) is the login service's;
this screen only supplies the terminal side and asks for a client id when none is configured.
Offline, or before a Globus app exists, Globus can be skipped: the AWS, bucket and policy
screens work without it, and the next run of the wizard offers the login again.
"""

from __future__ import annotations

from aws_copy_pt.core.paths import PathError, parse_uuid
from aws_copy_pt.daemon.wake import request_wake
from aws_copy_pt.errors import AwsCopyPtError, RemoteError, UsageError
from aws_copy_pt.services.setup.globus_login import LoginStatus, login, whoami
from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.ui import BACK, Option, Ui

REGISTER_URL = "https://app.globus.org/settings/developers"
SKIP = "\0skip"
SKIP_TITLE = "Skip Globus for now: set up AWS and the buckets, log in later"


class WizardPrompter:
    """The terminal side of the login flow (``globus.login.LoginPrompter``)."""

    def __init__(self, ui: Ui) -> None:
        self._ui = ui

    def show_url(self, url: str) -> None:
        self._ui.say("Open this URL in any browser, log in, and allow aws-copy-pt access:")
        self._ui.verbatim(url)

    def read_code(self) -> str:
        return self._ui.secret("Paste the authorization code Globus shows")

    def notice(self, message: str) -> None:
        self._ui.say(message)


def run(wizard: Wizard) -> Outcome:
    db, env = wizard.app.database(), wizard.app.env
    status = whoami(db, env=env, verify=False)
    if status.logged_in:
        keep = wizard.ui.select(
            f"Logged in to Globus as {_who(status)}.",
            [Option("Keep this login", True), Option("Log in again", False)],
        )
        if keep is BACK:
            return Outcome.BACK
        if keep:
            wizard.globus_skipped = False
            return Outcome.NEXT
    return _log_in(wizard, client_id=status.client_id)


def _log_in(wizard: Wizard, *, client_id: str | None) -> Outcome:
    """Log in with ``client_id`` (asked first when None); after a failure the id is asked
    again (the one used is the default), so a wrong id never loops; Globus can be skipped."""
    ui = wizard.ui
    asked = client_id is None
    while True:
        if client_id is None:
            answer = _ask_client_id(ui, default="")
            if answer is BACK:
                return Outcome.BACK
            if answer is SKIP:
                return _skip(wizard)
            client_id = str(answer)
        try:
            status = _login(wizard, client_id if asked else None)
        except AwsCopyPtError as exc:
            # A login's hint names commands (the next question offers more); Globus out of
            # reach has a hint about the network, which nothing here offers.
            ui.error(exc, hint=isinstance(exc, RemoteError))
        else:
            ui.ok(f"Logged in to Globus as {_who(status)}.")
            wizard.globus_skipped = False
            return Outcome.NEXT
        again = ui.select(
            "The login did not complete.",
            [
                Option("Try again (check the client id first)", "retry"),
                Option(SKIP_TITLE, SKIP),
            ],
        )
        if again is BACK:
            return Outcome.BACK
        if again is SKIP:
            return _skip(wizard)
        retried = _ask_client_id(ui, default=client_id, first=False)
        if retried is BACK:
            return Outcome.BACK
        client_id, asked = str(retried), True


def _skip(wizard: Wizard) -> Outcome:
    wizard.globus_skipped = True
    wizard.ui.say("Globus is skipped for now: the AWS credentials, the buckets and the policy")
    wizard.ui.say("come next. Run aws-copy-pt again to log in once your Globus app exists")
    wizard.ui.say("(and Globus can be reached).")
    return Outcome.NEXT


def _login(wizard: Wizard, client_id: str | None) -> LoginStatus:
    app = wizard.app
    status = login(app.database(), WizardPrompter(wizard.ui), client_id=client_id, env=app.env)
    request_wake(app.home)  # a running daemon retries transfers that waited for this login
    return status


def _ask_client_id(ui: Ui, *, default: str, first: bool = True) -> object:
    """A well-formed client id (checked here, asked again until it is), or BACK; the first
    time, after saying where to get one, also SKIP ("skip Globus for now")."""
    if first:
        ui.say("aws-copy-pt needs a Globus client id. Register a native app")
        ui.say(f'("thick client or script") at {REGISTER_URL}')
        ui.say("and paste its client id (a UUID) here.")
        have = ui.select(
            "Do you have the client id of your Globus app?",
            [Option("Yes: paste it", "paste"), Option(SKIP_TITLE, SKIP)],
        )
        if have != "paste":
            return have
    while True:
        typed = ui.text("Globus client id", default=default)
        if typed is None:
            return BACK
        try:
            return parse_uuid(typed, what="Globus client id")
        except PathError as exc:
            ui.error(UsageError(str(exc), hint=f"copy the Client UUID shown at {REGISTER_URL}"))
            default = typed


def _who(status: LoginStatus) -> str:
    identity = status.identity
    if identity is None:
        return "the stored identity"
    name = identity.username or identity.id
    return f"{name} ({identity.name})" if identity.name else name
