"""From two registered buckets to a :class:`~aws_copy_pt.s3.copier.CopyRoute`.

The destination bucket's credential makes the copies (it needs s3:GetObject on staging and
s3:PutObject on the destination: ``aws-copy-pt policy`` prints both sides); the staging bucket's
credential lists, inspects and cleans staging. Between two S3 services (``core.route``) the
objects are streamed instead: :func:`stream_ends` gives the two sides, each with its own
credential, endpoint, region and checksum settings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_copy_pt.core.bucket_settings import is_aws_endpoint
from aws_copy_pt.core.route import RouteChoice, RouteDecision, decide_route, traits_of
from aws_copy_pt.db.models import Bucket
from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec, LazyS3
from aws_copy_pt.s3.copier import CopyRoute, Lister
from aws_copy_pt.s3.fast import FastS3
from aws_copy_pt.s3.streaming import StreamEnd
from aws_copy_pt.services.setup.buckets import copy_settings, lazy_s3_for


def build_route(factory: ClientFactory, source: Bucket, dest: Bucket) -> CopyRoute:
    """Clients, settings and fast request paths for copies from ``source`` to ``dest``."""
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


def route_between(
    source: Bucket, dest: Bucket, requested: RouteChoice | str | None = None
) -> RouteDecision:
    """The route of copies from ``source`` to ``dest`` (``core.route``); ``--route server-side``
    between two services is refused with the reason (exit 2)."""
    return decide_route(
        source.endpoint_url,
        dest.endpoint_url,
        requested or RouteChoice.AUTO,
        names=(source.name, dest.name),
    )


def stream_ends(
    factory: ClientFactory, source: Bucket, dest: Bucket, *, dest_flexible: bool | None = None
) -> tuple[StreamEnd, StreamEnd]:
    """The two sides of a streamed copy: the source read with its own credential, the
    destination written with its own (each client with its endpoint's checksum settings).
    ``dest_flexible``: whether the destination checks ``x-amz-checksum-*`` and takes
    ``ChecksumType=FULL_OBJECT`` (None: AWS does, other stores are not trusted to)."""
    traits = traits_of(dest.endpoint_url)
    if dest_flexible is not None:
        traits = replace(traits, flexible_checksums=dest_flexible)
    source_end = StreamEnd(
        lazy_s3_for(factory, source),
        source.name,
        bucket_args(source),
        traits_of(source.endpoint_url),
    )
    dest_end = StreamEnd(
        lazy_s3_for(factory, dest),
        dest.name,
        bucket_args(dest),
        traits,
        write_args={
            k: v
            for k, v in copy_settings(dest).destination_args().items()
            if k not in ("ExpectedBucketOwner", "RequestPayer")
        },
    )
    return source_end, dest_end
