"""`aws-copy-pt collection add|list|remove`: Globus staging collections and their mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app

if TYPE_CHECKING:
    from aws_copy_pt.services.setup.collections import CollectionSummary

COLUMNS = ("Collection", "Name", "Bucket", "Base path", "Mapping root", "S3", "Consent", "Uses")


@click.group(short_help="Register, list and remove Globus staging collections.")
def command() -> None:
    """The Globus collections that deliver into a staging bucket, and how their paths map
    onto it. `watch` only accepts tasks whose destination is a registered collection.

    \b
    Examples:
      aws-copy-pt collection add 1a2b3c4d-0000-4000-8000-000000000000 --bucket staging-bucket
      aws-copy-pt collection list
      aws-copy-pt collection remove 1a2b3c4d-0000-4000-8000-000000000000
    """


@command.command("add", short_help="Register a staging collection, checked at Globus.")
@click.argument("collection_id", metavar="UUID")
@click.option("--bucket", required=True, metavar="STAGING_BUCKET", help="Registered bucket.")
@click.option(
    "--base-path",
    default="/",
    show_default=True,
    metavar="PATH",
    help="The collection's root on the S3 gateway: / (buckets are top-level directories), "
    "/BUCKET/ or /BUCKET/DIR/.",
)
@click.option(
    "--key-prefix",
    default="",
    metavar="PREFIX",
    help="Only files below this prefix (under the base path) are mapped, and it is cut from "
    "destination keys.",
)
@pass_app
def add(app: AppContext, collection_id: str, bucket: str, base_path: str, key_prefix: str) -> None:
    """Register the Globus collection UUID as writing into STAGING_BUCKET.

    The GCS S3 connector shows each bucket as a top-level directory: a collection rooted at
    the gateway root (--base-path /) sees /STAGING_BUCKET/key; one rooted at /STAGING_BUCKET/
    sees keys directly. Globus is asked whether the collection exists; its name is cached.

    \b
    Examples:
      aws-copy-pt collection add 1a2b3c4d-0000-4000-8000-000000000000 --bucket staging-bucket
      aws-copy-pt collection add 1a2b3c4d-0000-4000-8000-000000000000 --bucket staging-bucket \\
          --base-path /staging-bucket/incoming/
    """
    from aws_copy_pt.globus.clients import batch_transfer_client
    from aws_copy_pt.services.setup.collections import add_collection

    client = batch_transfer_client(app.database(), env=app.env)
    with app.session() as session:
        summary = add_collection(
            session,
            client,
            collection_id,
            bucket=bucket,
            base_path=base_path,
            key_prefix=key_prefix,
        )
    if app.json_output:
        render.emit_json(app, summary)
        return
    render.info(app, f"Registered {summary.display_name or summary.collection_id}.")
    render.info(
        app,
        f"A delivered Globus path {summary.example_path} is staging object "
        f"s3://{summary.bucket}/{summary.example_key}, copied to DEST_PREFIX/run1/data.bin.",
    )
    if summary.needs_data_access_consent:
        render.note(
            app,
            "This GCSv5 mapped collection needs a data_access consent for `submit`: "
            "run `aws-copy-pt login` once more to grant it (watching tasks does not need it).",
        )


@command.command("list", short_help="List registered staging collections.")
@pass_app
def list_(app: AppContext) -> None:
    """List the registered staging collections with their bucket and path mapping.

    \b
    Examples:
      aws-copy-pt collection list
      aws-copy-pt --json collection list
    """
    from aws_copy_pt.services.setup.collections import list_collections

    with app.session() as session:
        collections = list_collections(session)
    render.listing(
        app,
        "collections",
        collections,
        empty="No staging collections yet: `aws-copy-pt collection add UUID --bucket B`.",
        columns=COLUMNS,
        row=_row,
    )


@command.command("remove", short_help="Unregister a staging collection.")
@click.argument("collection_id", metavar="UUID")
@pass_app
def remove(app: AppContext, collection_id: str) -> None:
    """Unregister collection UUID. Refused while a transfer still needs its mapping; finished
    transfers keep their history.

    \b
    Examples:
      aws-copy-pt collection remove 1a2b3c4d-0000-4000-8000-000000000000
    """
    from aws_copy_pt.services.setup.collections import remove_collection

    with app.session() as session:
        summary = remove_collection(session, collection_id)
    if app.json_output:
        render.emit_json(app, {"removed": summary})
        return
    render.info(app, f"Removed {summary.display_name or summary.collection_id}.")


def _row(c: CollectionSummary) -> tuple[object, ...]:
    s3 = {True: "yes", False: "no", None: "?"}[c.is_s3_gateway]
    consent = "needed" if c.needs_data_access_consent else "-"
    return (
        c.collection_id,
        c.display_name,
        c.bucket,
        c.base_path,
        c.mapping_root,
        s3,
        consent,
        c.transfers,
    )
