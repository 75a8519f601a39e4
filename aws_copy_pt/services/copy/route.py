"""From two registered buckets to a :class:`~aws_copy_pt.s3.copier.CopyRoute`.

The destination bucket's credential makes the copies (it needs s3:GetObject on staging and
s3:PutObject on the destination: ``aws-copy-pt policy`` prints both sides); the staging bucket's
credential lists, inspects and cleans staging. Both buckets must be on the same S3 service: a
server-side copy cannot cross from one store to another.
"""

from __future__ import annotations

from typing import Any

from aws_copy_pt.core.bucket_settings import is_aws_endpoint
from aws_copy_pt.db.models import Bucket
from aws_copy_pt.errors import ConfigError
from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec, LazyS3
from aws_copy_pt.s3.copier import CopyRoute, Lister
from aws_copy_pt.s3.fast import FastS3
from aws_copy_pt.services.setup.buckets import copy_settings, lazy_s3_for


def build_route(factory: ClientFactory, source: Bucket, dest: Bucket) -> CopyRoute:
    """Clients, settings and fast request paths for copies from ``source`` to ``dest``."""
    check_same_service(source, dest)
    dest_settings = copy_settings(dest)
    dest_args = dest_settings.destination_args()
    source_args = bucket_args(source)
    if source.requester_pays:
        dest_args["RequestPayer"] = "requester"  # one request reads both buckets
    dest_s3 = lazy_s3_for(factory, dest)
    source_s3 = lazy_s3_for(factory, source)
    return CopyRoute(
        source_bucket=source.name,
        dest_bucket=dest.name,
        source_s3=source_s3,
        dest_s3=dest_s3,
        dest_args=dest_args,
        source_args=source_args,
        metadata_directive=dest_settings.metadata_directive,
        tagging_directive=dest_settings.tagging_directive,
        dest_fast=fast_for(factory, dest, dest_s3),
        source_fast=fast_for(factory, source, source_s3),
        source_endpoint=None if is_aws_endpoint(source.endpoint_url) else source.endpoint_url,
    )


def bucket_args(bucket: Bucket) -> dict[str, Any]:
    """What every request to ``bucket`` carries: the expected owner, requester pays."""
    args: dict[str, Any] = {}
    if bucket.expected_owner:
        args["ExpectedBucketOwner"] = bucket.expected_owner
    if bucket.requester_pays:
        args["RequestPayer"] = "requester"
    return args


def lister_for(factory: ClientFactory, bucket: Bucket) -> Lister:
    """Lists ``bucket`` with its own credential (the fast way when possible)."""
    client = lazy_s3_for(factory, bucket)
    return Lister(client, bucket.name, bucket_args(bucket), fast_for(factory, bucket, client))


def fast_for(factory: ClientFactory, bucket: Bucket, client: LazyS3) -> FastS3 | None:
    """The fast request path beside ``client``, signing with the bucket's credential."""
    spec = CredentialSpec.from_row(bucket.credential)
    return factory.fast_s3(spec, client, region=bucket.region, endpoint_url=bucket.endpoint_url)


def check_same_service(source: Bucket, dest: Bucket) -> None:
    """Refuse a copy between two different S3 services (AWS and MinIO, two endpoints...)."""
    if _service(source.endpoint_url) == _service(dest.endpoint_url):
        return
    raise ConfigError(
        f"{source.name} ({source.endpoint_url or 'AWS'}) and {dest.name} "
        f"({dest.endpoint_url or 'AWS'}) are on different S3 services: a server-side copy "
        "cannot cross between them",
        hint="register both buckets with the same --endpoint-url (`aws-copy-pt bucket list`)",
    )


def _service(endpoint_url: str | None) -> str:
    return "aws" if is_aws_endpoint(endpoint_url) else str(endpoint_url).rstrip("/").lower()
