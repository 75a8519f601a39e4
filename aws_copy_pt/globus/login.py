"""The interactive Globus login: a browser when one can be used, otherwise copy-paste.

The SDK's local-server flow opens a browser and catches the redirect on localhost; it refuses
SSH sessions and text-only browsers by raising ``LocalServerEnvironmentalLoginError`` and does
not fall back by itself. :class:`FallbackLoginFlow` tries it only where a graphical browser can
exist, and otherwise (or when it refuses) runs the command-line flow: show a URL, read the code
the user pastes back. All terminal input and output goes through a :class:`LoginPrompter` that
the CLI supplies, so this adapter never prints or reads stdin itself.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Mapping
from typing import Protocol

import globus_sdk
from globus_sdk.gare import GlobusAuthorizationParameters
from globus_sdk.login_flows import (
    CommandLineLoginFlowManager,
    LocalServerEnvironmentalLoginError,
    LocalServerLoginFlowManager,
    LoginFlowManager,
)

from aws_copy_pt.errors import NeedsLoginError
from aws_copy_pt.log import register_secret


class LoginPrompter(Protocol):
    """The terminal side of a login, provided by the CLI."""

    def show_url(self, url: str) -> None:
        """Show the URL where the user logs in and consents."""

    def read_code(self) -> str:
        """Read the authorization code the user pastes; raise EOFError at end of input."""

    def notice(self, message: str) -> None:
        """Tell the user what is happening (e.g. why no browser is opened)."""


def browser_unusable_reason(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why a graphical browser cannot be used here, or None when it might be.

    The SDK itself refuses SSH sessions and text browsers; this adds the case it misses: a
    Linux session without a display, where ``webbrowser`` would pick a text browser or hang.
    """
    if platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return "no DISPLAY: this is not a graphical session"
    return None


def prefill_name(app_name: str) -> str:
    """The name Globus shows for this login on the consent page, e.g. 'aws-copy-pt on hpc1'."""
    host = socket.gethostname().split(".")[0]
    return f"{app_name} on {host}" if host else app_name


class CopyPasteLoginFlow(CommandLineLoginFlowManager):
    """The SDK's command-line flow with its terminal I/O routed through a prompter."""

    def __init__(
        self, login_client: globus_sdk.AuthLoginClient, prompter: LoginPrompter, app_name: str
    ) -> None:
        super().__init__(
            login_client,
            request_refresh_tokens=True,
            native_prefill_named_grant=prefill_name(app_name),
        )
        self._prompter = prompter

    def print_authorize_url(self, authorize_url: str) -> None:
        self._prompter.show_url(authorize_url)

    def prompt_for_code(self) -> str:
        try:
            code = self._prompter.read_code().strip()
        except EOFError:
            code = ""
        register_secret(code)
        if not code:
            raise NeedsLoginError(
                "login did not complete: no authorization code was entered",
                hint="run `aws-copy-pt login` in a terminal and paste the code Globus shows",
            )
        return code


class FallbackLoginFlow(LoginFlowManager):
    """Browser login where possible, else (or when the SDK refuses) the copy-paste flow."""

    def __init__(
        self,
        login_client: globus_sdk.NativeAppAuthClient,
        prompter: LoginPrompter,
        *,
        app_name: str,
        allow_browser: bool,
        env: Mapping[str, str],
    ) -> None:
        super().__init__(login_client, request_refresh_tokens=True)
        self._prompter = prompter
        self._allow_browser = allow_browser
        self._env = env
        self._browser = LocalServerLoginFlowManager(
            login_client,
            request_refresh_tokens=True,
            native_prefill_named_grant=prefill_name(app_name),
        )
        self._copy_paste = CopyPasteLoginFlow(login_client, prompter, app_name)

    def run_login_flow(
        self, auth_parameters: GlobusAuthorizationParameters
    ) -> globus_sdk.OAuthTokenResponse:
        if self._allow_browser:
            reason = browser_unusable_reason(self._env)
            if reason is None:
                try:
                    self._prompter.notice(
                        "Opening a browser for the Globus login "
                        "(no browser? interrupt and rerun with --no-browser)"
                    )
                    return self._browser.run_login_flow(auth_parameters)
                except LocalServerEnvironmentalLoginError as exc:
                    reason = str(exc)
            self._prompter.notice(f"Using the copy-paste login: {reason}")
        return self._copy_paste.run_login_flow(auth_parameters)


class RefuseLoginFlow(LoginFlowManager):
    """The flow of unattended clients: a login would need a person, so it is refused."""

    def run_login_flow(
        self, auth_parameters: GlobusAuthorizationParameters
    ) -> globus_sdk.OAuthTokenResponse:
        raise NeedsLoginError("Globus asked for a new login while running unattended")
