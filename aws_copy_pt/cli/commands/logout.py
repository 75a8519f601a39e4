"""`aws-copy-pt logout`: revoke the Globus tokens at Globus Auth, then delete them here."""

from __future__ import annotations

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.commands.login import CLIENT_ID_HELP
from aws_copy_pt.cli.context import AppContext, pass_app


@click.command(short_help="Revoke and delete the stored Globus login.")
@click.option("--client-id", metavar="UUID", help=CLIENT_ID_HELP)
@click.option(
    "--local-only",
    is_flag=True,
    help="Delete the tokens here without revoking them (when Globus cannot be reached).",
)
@pass_app
def command(app: AppContext, client_id: str | None, local_only: bool) -> None:
    """Revoke the stored Globus tokens at Globus Auth, then delete them from the database.
    Watched transfers move to NEEDS_LOGIN at the next pass until you log in again.

    \b
    Examples:
      aws-copy-pt logout
      aws-copy-pt logout --local-only
    """
    from aws_copy_pt.services.setup.globus_login import logout

    report = logout(app.database(), client_id=client_id, env=app.env, revoke=not local_only)
    if app.json_output:
        render.emit_json(app, report)
        return
    if not report.removed:
        render.info(app, "No Globus login was stored; nothing to do.")
        return
    who = report.identity.username if report.identity else "the stored identity"
    revoked = f"revoked {report.revoked} token(s) at Globus and " if report.revoked else ""
    render.info(app, f"Logged out {who}: {revoked}deleted the tokens stored here.")
