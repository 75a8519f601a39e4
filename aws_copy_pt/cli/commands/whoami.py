"""`aws-copy-pt whoami`: who is logged in to Globus, and whether the login still works."""

from __future__ import annotations

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.commands.login import CLIENT_ID_HELP
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.errors import ExitCode


@click.command(short_help="Show the Globus identity and check the stored login works.")
@click.option("--client-id", metavar="UUID", help=CLIENT_ID_HELP)
@click.option("--offline", is_flag=True, help="Do not contact Globus; show what is stored.")
@pass_app
def command(app: AppContext, client_id: str | None, offline: bool) -> int:
    """Show the Globus identity aws-copy-pt acts as. Unless --offline, one call to Globus Auth
    proves the stored tokens still work (refreshing them if needed), as an unattended run would.
    Exits 5 when no login is stored or it no longer works.

    \b
    Examples:
      aws-copy-pt whoami
      aws-copy-pt --json whoami --offline
    """
    from aws_copy_pt.services.setup.globus_login import whoami

    status = whoami(app.database(), client_id=client_id, env=app.env, verify=not offline)
    if app.json_output:
        render.emit_json(app, status)
    elif not status.logged_in:
        render.note(app, "Not logged in to Globus: run `aws-copy-pt login` in a terminal.")
    else:
        who = status.identity
        rows = [
            ("Username", who.username if who else None),
            ("Name", who.name if who else None),
            ("Email", who.email if who else None),
            ("Identity id", who.id if who else None),
            ("Client id", status.client_id),
            ("Refresh token", "stored" if status.has_refresh_token else "missing"),
            ("Login checked", "yes, it works" if status.verified else "no (--offline)"),
            ("data_access asked at login", ", ".join(status.data_access_collections) or "-"),
            ("Transfers in NEEDS_LOGIN", status.transfers_waiting_for_login),
        ]
        render.console(app).print(render.table(None, ("", "Globus login"), rows))
    return int(ExitCode.OK if status.logged_in else ExitCode.NEEDS_LOGIN)
