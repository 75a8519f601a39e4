"""`aws-copy-pt login`: log in to Globus once; unattended runs reuse the stored login."""

from __future__ import annotations

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.core.text import visible

CLIENT_ID_HELP = (
    "Globus native-app client id [env AWS_COPY_PT_GLOBUS_CLIENT_ID; remembered after login]."
)


class TerminalPrompter:
    """The copy-paste login on the terminal: the URL and prompts on stderr, the code from stdin.

    Written without rich, which would wrap a long URL and break copying it.
    """

    def __init__(self, app: AppContext) -> None:
        self._app = app

    def show_url(self, url: str) -> None:
        self._app.stderr.write(
            f"\nOpen this URL in any browser, log in, and allow aws-copy-pt access:\n\n  {url}\n\n"
        )
        self._app.stderr.flush()

    def read_code(self) -> str:
        self._app.stderr.write("Paste the authorization code Globus shows: ")
        self._app.stderr.flush()
        line = self._app.stdin.readline()
        if not self._app.stdin.isatty():
            self._app.stderr.write("\n")  # the pasted line's newline was not echoed
        if not line:
            raise EOFError
        return line

    def notice(self, message: str) -> None:
        self._app.stderr.write(visible(message) + "\n")  # may quote the SDK's or a browser's
        self._app.stderr.flush()


@click.command(short_help="Log in to Globus (once; unattended runs reuse the login).")
@click.option(
    "--no-browser", is_flag=True, help="Use the copy-paste login even if a browser could open."
)
@click.option("--client-id", metavar="UUID", help=CLIENT_ID_HELP)
@click.option(
    "--data-access",
    metavar="COLLECTION_ID",
    multiple=True,
    help="Also ask for a data_access consent on this GCSv5 mapped collection (repeatable); "
    "registered staging collections are always included.",
)
@pass_app
def command(
    app: AppContext, no_browser: bool, client_id: str | None, data_access: tuple[str, ...]
) -> None:
    """Log in to Globus and store refresh tokens in the aws-copy-pt database, so that
    `run --once`, the daemon and every other command work unattended for months (Globus
    expires refresh tokens unused for six months; `logout` revokes them).

    A browser opens where one can (a local desktop session); on SSH sessions, without a
    DISPLAY, with a text-only browser or with --no-browser, aws-copy-pt prints a URL to open in
    any browser and reads back the code Globus shows. Transfers waiting in NEEDS_LOGIN resume at
    the next pass; a running daemon is woken up to make it at once. While a follow rule reads a
    Globus Timer (`follow add --timer`), the login also allows Globus Timers.

    aws-copy-pt needs a Globus native-app client id: register one at
    https://app.globus.org/settings/developers ("thick client or script") and pass it once
    with --client-id.

    \b
    Examples:
      aws-copy-pt login --client-id 6b0a1c5e-8f0e-4c9a-9d39-5a3b1f0c2e7d
      aws-copy-pt login --no-browser
      aws-copy-pt login --data-access 1a2b3c4d-0000-4000-8000-000000000000
    """
    from aws_copy_pt.daemon.wake import request_wake
    from aws_copy_pt.services.setup.globus_login import login

    status = login(
        app.database(),
        TerminalPrompter(app),
        client_id=client_id,
        env=app.env,
        allow_browser=not no_browser,
        data_access=data_access,
    )
    request_wake(app.home)  # a running daemon retries NEEDS_LOGIN transfers now
    if app.json_output:
        render.emit_json(app, status)
        return
    who = status.identity
    name = f"{who.username} ({who.name})" if who and who.name else (who.username if who else "?")
    render.info(app, f"Logged in to Globus as {name}.")
    if status.data_access_collections:
        shown = ", ".join(status.data_access_collections)
        render.info(app, f"Data access consent requested for: {shown}")
    if status.timers_allowed:
        render.info(app, "Globus Timers allowed: follow rules read their timers' runs.")
    if status.transfers_waiting_for_login:
        render.info(
            app,
            f"{status.transfers_waiting_for_login} transfer(s) waiting in NEEDS_LOGIN resume "
            "at the next pass (a running daemon now, else `aws-copy-pt run --once`).",
        )
