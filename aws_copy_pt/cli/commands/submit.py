"""`aws-copy-pt submit SRC:PATH STAGING:PATH --to BUCKET`: start a Globus transfer, watch it."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import click

from aws_copy_pt.cli.commands.watch import copy_options, show_registered
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.cli.engine_options import engine_options

if TYPE_CHECKING:
    from aws_copy_pt.services.copy.batch.settings import BatchOptions


@click.command(short_help="Submit a Globus transfer into staging and watch it.")
@click.argument("source", metavar="SRC_COLLECTION:PATH")
@click.argument("staging", metavar="STAGING_COLLECTION:PATH")
@click.option("--to", "to", required=True, metavar="BUCKET[/PREFIX]", help="Destination.")
@click.option("-r", "--recursive", is_flag=True, help="PATH is a directory: transfer all of it.")
@click.option(
    "--sync-level",
    type=click.Choice(["exists", "size", "mtime", "checksum"]),
    help="Skip files already in staging that match (Globus sync).",
)
@click.option("--no-verify-checksum", is_flag=True, help="Do not have Globus verify checksums.")
@copy_options
@engine_options
@pass_app
def command(
    app: AppContext,
    source: str,
    staging: str,
    to: str,
    recursive: bool,
    sync_level: str | None,
    no_verify_checksum: bool,
    label: str | None,
    on_conflict: str,
    delete_staging: bool,
    multipart_threshold: int | None,
    stream_memory: int | None,
    route: str,
    batch: BatchOptions | None,
) -> None:
    """Submit a Globus transfer from SRC_COLLECTION:PATH into a registered staging
    collection, then watch it like `aws-copy-pt watch` (same mapping and options). Globus
    verifies checksums unless --no-verify-checksum. A GCSv5 mapped collection may ask for a
    data_access consent: the error names the `aws-copy-pt login --data-access ...` to run.
    A running daemon is woken up to poll the new task at once.

    \b
    Examples:
      aws-copy-pt submit 5e6f7a8b-0000-4000-8000-000000000000:/data/run1/ \\
          1a2b3c4d-0000-4000-8000-000000000000:/staging-bucket/run1/ -r --to archive-dest/run1
      aws-copy-pt submit SRC_ID:/data/file.h5 STAGING_ID:/staging-bucket/file.h5 \\
          --to archive-dest --sync-level checksum --label "nightly run"
    """
    from aws_copy_pt.daemon.wake import request_wake
    from aws_copy_pt.globus.clients import batch_transfer_client
    from aws_copy_pt.services.watch.submit import SyncLevel, WatchOptions, submit_and_watch

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
        summary = submit_and_watch(
            session,
            client,
            source,
            staging,
            to=to,
            options=options,
            recursive=recursive,
            sync_level=cast("SyncLevel | None", sync_level),
            verify_checksum=not no_verify_checksum,
        )
    request_wake(app.home)  # a running daemon polls the new task now
    show_registered(app, summary)
