"""`aws-copy-pt watch TASK_ID --to BUCKET[/PREFIX]`: watch a Globus task, then copy its files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.cli.engine_options import engine_options
from aws_copy_pt.cli.route import route_option
from aws_copy_pt.cli.sizes import multipart_threshold_option, stream_memory_option
from aws_copy_pt.core.states import TransferState

if TYPE_CHECKING:
    from aws_copy_pt.services.copy.batch.settings import BatchOptions
    from aws_copy_pt.services.transfers import TransferSummary

ON_CONFLICT = click.Choice(["overwrite", "fail"])


def copy_options(func: click.decorators.FC) -> click.decorators.FC:
    """Options shared by `watch` and `submit`: how the copy into the destination behaves."""
    func = route_option(stream_memory_option(multipart_threshold_option(func)))
    func = click.option(
        "--delete-staging",
        is_flag=True,
        help="Delete each staging object once its copy is verified (and only while it is "
        "still what was verified: a replaced object is kept).",
    )(func)
    func = click.option(
        "--on-conflict",
        type=ON_CONFLICT,
        default="overwrite",
        show_default=True,
        help="A destination key that already holds something not proven identical: replace "
        "it, or refuse that object (the transfer ends PARTIAL).",
    )(func)
    return click.option("--label", metavar="TEXT", help="A label for this transfer.")(func)


def show_registered(app: AppContext, summary: TransferSummary) -> None:
    """Say what was registered, and who finishes it: the running daemon or the command to
    start one."""
    from aws_copy_pt.daemon.process import daemon_status

    if app.json_output:
        render.emit_json(app, summary)
        return
    render.info(
        app,
        f"Transfer {summary.id} watches Globus task {summary.globus_task_id} "
        f"({summary.globus_status}) -> s3://{summary.destination} [{summary.state}].",
    )
    if summary.last_error:
        render.info(app, summary.last_error)
    if summary.state in (TransferState.FAILED, TransferState.DONE):
        return
    progress = f"`aws-copy-pt transfers show {summary.id}` shows its progress."
    daemon = daemon_status(app.home)
    if daemon.running and daemon.next_poll_at is not None:
        render.info(app, f"The running daemon (pid {daemon.pid}) takes it from here; {progress}")
    else:
        render.info(
            app,
            "To finish it, start the daemon with `aws-copy-pt daemon --detach`, or run "
            f"`aws-copy-pt run --once` from cron or scrontab; {progress}",
        )


@click.command(short_help="Watch a Globus task and copy what it delivers to a bucket.")
@click.argument("task_id")
@click.option("--to", "to", required=True, metavar="BUCKET[/PREFIX]", help="Destination.")
@copy_options
@engine_options
@pass_app
def command(
    app: AppContext,
    task_id: str,
    to: str,
    label: str | None,
    on_conflict: str,
    delete_staging: bool,
    multipart_threshold: int | None,
    stream_memory: int | None,
    route: str,
    batch: BatchOptions | None,
) -> None:
    """Register Globus task TASK_ID: when it succeeds, every file it delivered into a
    registered staging collection is copied to BUCKET (a registered bucket), under PREFIX,
    and verified: server-side when the staging bucket and BUCKET are on one S3 service, else
    streamed through this machine (--route; the route is shown by `transfers show`).

    \b
    Where each file goes:
      gateway path  = the collection's --base-path joined with the task's destination path
      staging key   = that path without its first segment (the staging bucket)
      relative key  = the staging key without the mapping root (base path key + --key-prefix)
      destination   = s3://BUCKET/PREFIX/relative key
    A path with . or .. segments, in another bucket or outside the mapping root is not
    copied: it is recorded as a failed object with the reason (`transfers show ID`).

    The task must be yours (see `aws-copy-pt tasks`) and its destination collection
    registered (`aws-copy-pt collection add`). BUCKET/PREFIX must not overlap the staging
    mapping root (the same bucket with either prefix inside the other): that is refused
    (exit 2), as it would overwrite or delete delivered files. A running daemon is woken up
    to poll it at once; otherwise `aws-copy-pt daemon --detach` or `run --once` from cron
    finishes it.

    \b
    Examples:
      aws-copy-pt watch 0b1c2d3e-0000-4000-8000-000000000000 --to archive-dest/run1
      aws-copy-pt watch 0b1c2d3e-0000-4000-8000-000000000000 --to archive-dest \\
          --on-conflict fail --delete-staging
      aws-copy-pt watch 0b1c2d3e-0000-4000-8000-000000000000 --to archive-dest --engine batch

    With --engine batch (or auto above the threshold) an S3 Batch Operations job makes the
    copies of objects of 5 GiB or less, the local engine the rest; every copy is verified
    the same way before staging is cleaned. See `aws-copy-pt policy --engine batch`.
    """
    from aws_copy_pt.daemon.wake import request_wake
    from aws_copy_pt.globus.clients import batch_transfer_client
    from aws_copy_pt.services.watch.submit import WatchOptions, watch_task

    client = batch_transfer_client(app.database(), env=app.env)
    options = WatchOptions(
        on_conflict=on_conflict,
        delete_staging=delete_staging,
        label=label,
        multipart_threshold=multipart_threshold,
        route=route,
        batch=batch,
        stream_memory=stream_memory,
    )
    with app.session() as session:
        summary = watch_task(session, client, task_id, to=to, options=options)
    request_wake(app.home)  # a running daemon polls the new task now
    show_registered(app, summary)
