"""`aws-copy-pt bucket add|update|list|remove|check`: staging and destination buckets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.core.bucket_settings import DEFAULT_ACL

if TYPE_CHECKING:
    from aws_copy_pt.services.setup.buckets import BucketInfo


@click.group(short_help="Register, change, list, check and remove S3 buckets.")
def command() -> None:
    """The S3 buckets aws-copy-pt copies from (staging) and into (destination), with the
    credential that reaches each, its region and the settings every copy applies.

    \b
    Examples:
      aws-copy-pt bucket add archive-dest --credentials staging --expected-owner 222222222222
      aws-copy-pt bucket update archive-dest --storage-class GLACIER_IR
      aws-copy-pt bucket list
      aws-copy-pt bucket check archive-dest --write-test
    """


_ENGINE_OPTIONS = (
    click.option(
        "--engine",
        type=click.Choice(["local", "batch", "auto"]),
        help="Default copy engine of transfers into this bucket (default auto).",
    ),
    click.option(
        "--batch-role",
        "batch_role",
        metavar="ARN",
        help="IAM role S3 Batch Operations jobs run as (in this bucket's account).",
    ),
)


@command.command("add", short_help="Register a bucket; finds its region and checks access.")
@click.argument("name")
@click.option("--credentials", "credential", required=True, metavar="C", help="Credential to use.")
@click.option("--endpoint-url", metavar="URL", help="S3-compatible store (MinIO, Ceph, GCS...).")
@click.option(
    "--region", default="auto", show_default=True, metavar="auto|R", help="Region, or detect it."
)
@click.option("--expected-owner", metavar="ID", help="Account id that must own the bucket.")
@click.option("--storage-class", metavar="CLASS", help="Storage class of copies (e.g. GLACIER_IR).")
@click.option(
    "--acl",
    default="bucket-owner-full-control",
    show_default=True,
    metavar="ACL",
    help="Canned ACL on copies; 'none' sends none.",
)
@click.option("--sse", metavar="AES256|aws:kms", help="Server-side encryption of copies.")
@click.option("--sse-kms-key-id", metavar="ARN", help="Full KMS key ARN for --sse aws:kms.")
@click.option("--requester-pays", is_flag=True, help="The bucket is requester-pays.")
@click.option(
    "--metadata-directive",
    default="COPY",
    show_default=True,
    metavar="COPY|REPLACE",
    help="Metadata of copies.",
)
@click.option(
    "--tagging-directive",
    default="COPY",
    show_default=True,
    metavar="COPY|REPLACE",
    help="Tags of copies.",
)
@_ENGINE_OPTIONS[0]
@_ENGINE_OPTIONS[1]
@click.option(
    "--batch-threshold",
    type=click.IntRange(min=1),
    metavar="N",
    help="--engine auto uses a batch job from N objects on (default 100,000).",
)
@click.option("--no-check", is_flag=True, help="Register offline: no request to the bucket.")
@pass_app
def add(
    app: AppContext,
    name: str,
    credential: str,
    endpoint_url: str | None,
    region: str,
    expected_owner: str | None,
    storage_class: str | None,
    acl: str,
    sse: str | None,
    sse_kms_key_id: str | None,
    requester_pays: bool,
    metadata_directive: str,
    tagging_directive: str,
    engine: str | None,
    batch_role: str | None,
    batch_threshold: int | None,
    no_check: bool,
) -> None:
    """Register bucket NAME, reached with credential C. One HeadBucket finds the region
    (never GetBucketLocation, which another account's bucket answers only if its policy says
    so) and proves access; --no-check skips it (for a bucket whose owner has not granted
    access yet: `aws-copy-pt policy --bucket NAME --account ID` prints what to ask for).

    \b
    Examples:
      aws-copy-pt bucket add staging-bucket --credentials staging
      aws-copy-pt bucket add archive-dest --credentials staging --expected-owner 222222222222 \\
          --sse aws:kms --sse-kms-key-id arn:aws:kms:eu-west-1:222222222222:key/1234abcd-...
      aws-copy-pt bucket add lab-data --credentials minio --endpoint-url https://minio.lab:9000
    """
    from aws_copy_pt.core.bucket_settings import BucketRequest
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.setup.buckets import add_bucket

    request = BucketRequest(
        name=name,
        credential=credential,
        endpoint_url=endpoint_url,
        region=region,
        expected_owner=expected_owner,
        storage_class=storage_class,
        acl=acl,
        sse=sse,
        sse_kms_key_id=sse_kms_key_id,
        requester_pays=requester_pays,
        metadata_directive=metadata_directive,
        tagging_directive=tagging_directive,
        engine=engine,
        batch_role_arn=batch_role,
        batch_threshold=batch_threshold,
    )
    with app.session() as session:
        info = add_bucket(session, request, factory=None if no_check else ClientFactory())
    if app.json_output:
        render.emit_json(app, {"bucket": info})
        return
    checked = "reachable" if info.checked_at else "not checked"
    render.info(app, f"Registered bucket {info.name} ({_where(info)}; {checked}).")
    render.info(app, f"Copy settings: {_settings(info)}.")
    if info.sse_kms_key_id:
        render.info(app, f"KMS key: {info.sse_kms_key_id}")
    if info.checked_at is None:
        render.info(app, f"Check it later with `aws-copy-pt bucket check {info.name}`.")


@command.command("update", short_help="Change a registered bucket's settings.")
@click.argument("name")
@click.option("--credentials", "credential", metavar="C", help="Credential to use from now on.")
@click.option("--endpoint-url", metavar="URL|none", help="S3-compatible store; none: AWS.")
@click.option("--region", metavar="auto|R", help="Region, or auto to detect it.")
@click.option("--expected-owner", metavar="ID|none", help="Account id that must own the bucket.")
@click.option("--storage-class", metavar="CLASS|none", help="Storage class of copies.")
@click.option("--acl", metavar="ACL|none", help="Canned ACL on copies; none sends none.")
@click.option("--sse", metavar="AES256|aws:kms|none", help="Server-side encryption of copies.")
@click.option("--sse-kms-key-id", metavar="ARN", help="Full KMS key ARN for --sse aws:kms.")
@click.option(
    "--requester-pays/--no-requester-pays", default=None, help="The bucket is requester-pays."
)
@click.option("--metadata-directive", metavar="COPY|REPLACE", help="Metadata of copies.")
@click.option("--tagging-directive", metavar="COPY|REPLACE", help="Tags of copies.")
@_ENGINE_OPTIONS[0]
@click.option(
    "--batch-role",
    "batch_role",
    metavar="ARN|none",
    help="IAM role S3 Batch Operations jobs run as (in this bucket's account); none: forget it.",
)
@click.option(
    "--batch-threshold",
    metavar="N|default",
    help="--engine auto uses a batch job from N objects on (default 100,000).",
)
@click.option("--no-check", is_flag=True, help="Do not HeadBucket a changed location.")
@pass_app
def update(app: AppContext, /, name: str, no_check: bool, **changes: Any) -> None:
    """Change settings of bucket NAME; everything not given stays as it is. Values are
    checked by the same rules as `bucket add`; 'none' clears an optional setting. A new
    credential, endpoint, region or expected owner is proved with one HeadBucket, like
    `bucket check` (skip with --no-check).

    \b
    Examples:
      aws-copy-pt bucket update archive-dest --storage-class GLACIER_IR --sse aws:kms \\
          --sse-kms-key-id arn:aws:kms:eu-west-1:222222222222:key/1234abcd-...
      aws-copy-pt bucket update archive-dest --expected-owner none
      aws-copy-pt bucket update archive-dest --credentials partner-role \\
          --batch-role arn:aws:iam::222222222222:role/aws-copy-pt-batch --engine auto
    """
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.setup.bucket_update import BucketUpdate, update_bucket

    changes["batch_role_arn"] = changes.pop("batch_role")
    with app.session() as session:
        result = update_bucket(
            session,
            name,
            BucketUpdate(**changes),
            factory=None if no_check else ClientFactory(),
        )
    if app.json_output:
        render.emit_json(app, {"bucket": result.bucket, "changed": list(result.changed)})
        return
    info = result.bucket
    changed = ", ".join(result.changed) or "nothing (the values were already set)"
    render.info(app, f"Updated bucket {info.name}: {changed}.")
    render.info(app, f"Now: {_where(info)}; copy settings: {_settings(info)}.")
    if result.check is not None:
        render.info(app, f"Checked: reachable, region {result.check.bucket.region}.")


@command.command("list", short_help="Show registered buckets and their copy settings.")
@pass_app
def list_(app: AppContext) -> None:
    """Show every registered bucket: credential, region, endpoint, owner and copy settings.

    \b
    Examples:
      aws-copy-pt bucket list
      aws-copy-pt --json bucket list
    """
    from aws_copy_pt.services.setup.buckets import list_buckets

    with app.session() as session:
        buckets = list_buckets(session)
    render.listing(
        app,
        "buckets",
        buckets,
        empty="No buckets yet. Add one with `aws-copy-pt bucket add NAME --credentials C`.",
        columns=("Name", "Credential", "Where", "Owner", "Copy settings", "Checked"),
        row=lambda b: (
            b.name,
            b.credential,
            _where(b),
            b.expected_owner or "-",
            _settings(b),
            b.checked_at.strftime("%Y-%m-%d") if b.checked_at else "never",
        ),
    )


@command.command("remove", short_help="Forget a bucket no collection or transfer uses.")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Forget bucket NAME (nothing in the bucket is touched). Refused while a collection or
    a transfer refers to it.

    \b
    Examples:
      aws-copy-pt bucket remove old-archive
    """
    from aws_copy_pt.services.setup.buckets import remove_bucket

    with app.session() as session:
        remove_bucket(session, name)
    if app.json_output:
        render.emit_json(app, {"removed": name})
        return
    render.info(app, f"Removed bucket {name} (its contents are untouched).")


@command.command("check", short_help="Re-detect the region, prove access, optionally write.")
@click.argument("name")
@click.option(
    "--write-test", is_flag=True, help="Also write a tiny marker object with the copy settings."
)
@pass_app
def check(app: AppContext, name: str, write_test: bool) -> None:
    """HeadBucket NAME again: update its region if it changed and prove the credential reaches
    it. --write-test also writes a small marker object (with the bucket's ACL and encryption)
    and deletes it, proving copies will be accepted.

    \b
    Examples:
      aws-copy-pt bucket check archive-dest
      aws-copy-pt bucket check archive-dest --write-test
    """
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.setup.buckets import check_bucket

    with app.session() as session:
        result = check_bucket(session, ClientFactory(), name, write_test=write_test)
    if app.json_output:
        render.emit_json(
            app,
            {
                "bucket": result.bucket,
                "previous_region": result.previous_region,
                "region_changed": result.region_changed,
                "write_test": result.write_test,
                "marker_key": result.marker_key,
            },
        )
        return
    info = result.bucket
    moved = f" (was {result.previous_region})" if result.region_changed else ""
    render.info(app, f"Bucket {info.name}: reachable, region {info.region}{moved}.")
    if result.write_test == "passed":
        render.info(app, "Write test passed: a marker object was written and deleted.")
    elif result.write_test == "marker left":
        render.note(
            app,
            f"Write test passed, but the marker s3://{info.name}/{result.marker_key} could not "
            "be deleted (no s3:DeleteObject); ask the bucket owner to delete it.",
        )


def _where(info: BucketInfo) -> str:
    region = info.region or "region unknown"
    how = " (given)" if info.region_source == "manual" else ""
    endpoint = f" at {info.endpoint_url}" if info.endpoint_url else ""
    return f"{region}{how}{endpoint}"


def _settings(info: BucketInfo) -> str:
    """The copy settings that differ from the defaults."""
    parts = []
    if info.acl != DEFAULT_ACL:
        parts.append(f"ACL {info.acl}" if info.acl else "no ACL")
    if info.storage_class:
        parts.append(info.storage_class)
    if info.sse:
        parts.append(f"SSE {info.sse}")
    if info.requester_pays:
        parts.append("requester pays")
    if info.metadata_directive != "COPY":
        parts.append(f"metadata {info.metadata_directive}")
    if info.tagging_directive != "COPY":
        parts.append(f"tags {info.tagging_directive}")
    if info.engine:
        parts.append(f"engine {info.engine}")
    if info.batch_role_arn:
        threshold = f" from {info.batch_threshold:,} objects" if info.batch_threshold else ""
        parts.append(f"batch role {info.batch_role_arn}{threshold}")
    return ", ".join(parts) or "defaults"
