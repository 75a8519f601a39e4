"""`aws-copy-pt tasks`: your recent Globus tasks into registered staging collections."""

from __future__ import annotations

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app

COLUMNS = ("Task id", "Label", "Status", "Requested", "From", "Into", "Files", "Watched as")


@click.command(short_help="List your recent Globus tasks into staging collections.")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 200), help="How many."
)
@pass_app
def command(app: AppContext, limit: int) -> None:
    """List your most recent Globus transfer tasks whose destination is a registered staging
    collection, newest first, with the transfer watching each (if any). Pass a task id to
    `aws-copy-pt watch`.

    \b
    Examples:
      aws-copy-pt tasks
      aws-copy-pt --json tasks --limit 5
    """
    from aws_copy_pt.globus.clients import batch_transfer_client
    from aws_copy_pt.services.watch.submit import recent_tasks

    client = batch_transfer_client(app.database(), env=app.env)
    with app.session() as session:
        tasks = recent_tasks(session, client, limit=limit)
    if app.json_output:
        render.emit_json(app, {"tasks": tasks})
        return
    if not tasks:
        render.info(
            app,
            "No recent Globus task writes into a registered staging collection "
            "(`aws-copy-pt collection list`).",
        )
        return
    rows = [
        (
            t.task_id,
            t.label,
            t.status,
            (t.request_time or "")[:16].replace("T", " "),
            t.source,
            t.destination,
            t.files,
            t.watched_as or "-",
        )
        for t in tasks
    ]
    render.console(app).print(render.table(None, COLUMNS, rows))
