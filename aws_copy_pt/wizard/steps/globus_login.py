"""Globus login: a browser where one can open, otherwise a URL to open and a code to paste.

The flow itself (browser or copy-paste, refresh tokens, storing them) is the login service's;
this screen only supplies the terminal side and asks for a client id when none is configured.
"""

from __future__ import annotations

from functools import partial

from aws_copy_pt.daemon.wake import request_wake
from aws_copy_pt.services.setup.globus_login import LoginStatus, login, whoami
from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.ui import BACK, Option, Ui

REGISTER_URL = "https://app.globus.org/settings/developers"


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
            return Outcome.NEXT
    return _log_in(wizard, ask_client_id=status.client_id is None)


def _log_in(wizard: Wizard, *, ask_client_id: bool) -> Outcome:
    ui = wizard.ui
    client_id: str | None = None
    while True:
        if ask_client_id and client_id is None:
            client_id = _ask_client_id(ui)
            if client_id is None:
                return Outcome.BACK
        status = wizard.attempt(partial(_login, wizard, client_id))
        if status is not None:
            ui.ok(f"Logged in to Globus as {_who(status)}.")
            return Outcome.NEXT
        options = [Option("Try again", "retry")]
        if ask_client_id:
            options.append(Option("Enter another client id", "client"))
        again = ui.select("The login did not complete.", options)
        if again is BACK:
            return Outcome.BACK
        if again == "client":
            client_id = None


def _login(wizard: Wizard, client_id: str | None) -> LoginStatus:
    app = wizard.app
    status = login(app.database(), WizardPrompter(wizard.ui), client_id=client_id, env=app.env)
    request_wake(app.home)  # a running daemon retries transfers that waited for this login
    return status


def _ask_client_id(ui: Ui) -> str | None:
    ui.say("aws-copy-pt needs a Globus client id. Register a native app")
    ui.say(f'("thick client or script") at {REGISTER_URL}')
    ui.say("and paste its client id (a UUID) here.")
    return ui.text("Globus client id")


def _who(status: LoginStatus) -> str:
    identity = status.identity
    if identity is None:
        return "the stored identity"
    name = identity.username or identity.id
    return f"{name} ({identity.name})" if identity.name else name
