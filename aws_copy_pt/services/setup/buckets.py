"""Registered buckets: where they are, which credential reaches them, how copies are written.

``add`` validates everything first (``core.bucket_settings``), then — unless told not to — asks
the bucket itself with one HeadBucket: that finds the region (``s3.regions``; never
GetBucketLocation) and proves the credential can reach it, so a typo, a wrong region, a missing
permission or a dead endpoint fails at registration instead of in the middle of a copy.

The copy pipeline's route (``services.copy.route``) calls :func:`lazy_s3_for` and
:func:`copy_settings`; a direct copy and ``policy`` look buckets up with :func:`get_bucket`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aws_copy_pt.core.bucket_settings import (
    BucketRequest,
    CopySettings,
    check_kms_key_region,
    is_aws_endpoint,
    normalize,
)
from aws_copy_pt.db.models import Bucket, Collection, FollowRule, Transfer
from aws_copy_pt.errors import ConfigError, NotFoundError, UsageError
from aws_copy_pt.services.setup.credentials import get_credential

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from aws_copy_pt.s3.clients import ClientFactory, LazyS3
    from aws_copy_pt.s3.regions import BucketProbe

log = logging.getLogger(__name__)

WRITE_TEST_PREFIX = ".aws-copy-pt-write-test/"
WriteTest = Literal["not run", "passed", "marker left"]


@dataclass(frozen=True)
class BucketInfo:
    """A registration as shown to people and scripts."""

    name: str
    credential: str
    credential_account_id: str | None
    endpoint_url: str | None
    region: str | None
    region_source: str
    expected_owner: str | None
    storage_class: str | None
    acl: str | None
    sse: str | None
    sse_kms_key_id: str | None
    requester_pays: bool
    metadata_directive: str
    tagging_directive: str
    engine: str | None
    batch_role_arn: str | None
    batch_threshold: int | None
    checked_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class BucketCheck:
    """What ``bucket check`` found."""

    bucket: BucketInfo
    previous_region: str | None
    write_test: WriteTest
    marker_key: str | None = None  # set when the write-test marker could not be deleted

    @property
    def region_changed(self) -> bool:
        return self.previous_region != self.bucket.region


def get_bucket(session: Session, name: str) -> Bucket:
    """The registered bucket ``name``, or a NotFoundError saying how to register it."""
    row = session.scalar(select(Bucket).where(Bucket.name == name))
    if row is None:
        raise NotFoundError(
            f"bucket {name!r} is not registered",
            hint=f"register it with `aws-copy-pt bucket add {name} --credentials C`; "
            "`aws-copy-pt bucket list` shows what exists",
        )
    return row


def s3_client_for(factory: ClientFactory, bucket: Bucket) -> S3Client:
    """The shared S3 client for this bucket: its credential, region and endpoint."""
    from aws_copy_pt.s3.clients import CredentialSpec

    spec = CredentialSpec.from_row(bucket.credential)
    return factory.s3(spec, region=bucket.region, endpoint_url=bucket.endpoint_url)


def lazy_s3_for(factory: ClientFactory, bucket: Bucket) -> LazyS3:
    """:func:`s3_client_for`, built only when first used."""
    from aws_copy_pt.s3.clients import CredentialSpec

    spec = CredentialSpec.from_row(bucket.credential)
    return factory.lazy_s3(spec, region=bucket.region, endpoint_url=bucket.endpoint_url)


def copy_settings(bucket: Bucket) -> CopySettings:
    """What every copy into (or, for ``expected_owner``, out of) this bucket applies."""
    return CopySettings(
        acl=bucket.acl,
        storage_class=bucket.storage_class,
        sse=bucket.sse,
        sse_kms_key_id=bucket.sse_kms_key_id,
        requester_pays=bucket.requester_pays,
        metadata_directive=bucket.metadata_directive,
        tagging_directive=bucket.tagging_directive,
        expected_owner=bucket.expected_owner,
    )


def add_bucket(
    session: Session, request: BucketRequest, *, factory: ClientFactory | None
) -> BucketInfo:
    """Validate, locate (unless ``factory`` is None: offline) and store a bucket."""
    request = normalize(request)
    credential = get_credential(session, request.credential)
    if session.scalar(select(Bucket.id).where(Bucket.name == request.name)):
        raise UsageError(
            f"bucket {request.name!r} is already registered",
            hint=f"`aws-copy-pt bucket check {request.name}` re-checks it; "
            f"`aws-copy-pt bucket update {request.name} --OPTION VALUE` changes its settings",
        )
    row = Bucket(
        name=request.name,
        credential=credential,
        endpoint_url=request.endpoint_url,
        region=None if request.region_is_auto else request.region,
        region_source="auto" if request.region_is_auto else "manual",
        expected_owner=request.expected_owner,
        storage_class=request.storage_class,
        acl=request.acl,
        sse=request.sse,
        sse_kms_key_id=request.sse_kms_key_id,
        requester_pays=request.requester_pays,
        metadata_directive=request.metadata_directive,
        tagging_directive=request.tagging_directive,
        engine=request.engine,
        batch_role_arn=request.batch_role_arn,
        batch_threshold=request.batch_threshold,
    )
    if factory is not None:
        probe = _locate(row, factory)
        if probe.region and row.region_source == "manual" and probe.region != row.region:
            raise UsageError(
                f"bucket {row.name} is in {probe.region}, not in {row.region} as given",
                hint=f"use --region {probe.region} or --region auto",
            )
        _require_reachable(row, probe, registering=True)
        row.region = probe.region_or(row.region or _default_region())
        row.checked_at = datetime.now(UTC)
    if is_aws_endpoint(row.endpoint_url):
        check_kms_key_region(row.sse_kms_key_id, row.region)
    session.add(row)
    session.flush()
    log.info("registered bucket %s (region %s)", row.name, row.region)
    return describe(row)


def list_buckets(session: Session) -> list[BucketInfo]:
    return [describe(row) for row in session.scalars(select(Bucket).order_by(Bucket.name))]


def remove_bucket(session: Session, name: str) -> None:
    """Forget a bucket; refused while a collection or a transfer refers to it."""
    row = get_bucket(session, name)
    users = _users_of(session, row)
    if users:
        raise ConfigError(
            f"bucket {name!r} is still used by {'; '.join(users)}",
            hint="their records refer to it and must stay consistent; "
            "`aws-copy-pt bucket check` re-detects a moved region without removing it",
        )
    session.delete(row)
    log.info("removed bucket %s", name)


def check_bucket(
    session: Session, factory: ClientFactory, name: str, *, write_test: bool = False
) -> BucketCheck:
    """HeadBucket again: update the region if it moved, prove access, optionally write."""
    row = get_bucket(session, name)
    previous = row.region
    probe = _locate(row, factory)
    _require_reachable(row, probe, registering=False)
    if probe.region and probe.region != row.region:
        log.warning("bucket %s: region %s -> %s", row.name, row.region, probe.region)
        row.region, row.region_source = probe.region, "auto"
    row.region = row.region or _default_region()
    outcome: WriteTest = "not run"
    marker: str | None = None
    if write_test:
        outcome, marker = _write_test(row, factory)
    row.checked_at = datetime.now(UTC)
    return BucketCheck(describe(row), previous, outcome, marker)


def describe(row: Bucket) -> BucketInfo:
    return BucketInfo(
        name=row.name,
        credential=row.credential.name,
        credential_account_id=row.credential.account_id,
        endpoint_url=row.endpoint_url,
        region=row.region,
        region_source=row.region_source,
        expected_owner=row.expected_owner,
        storage_class=row.storage_class,
        acl=row.acl,
        sse=row.sse,
        sse_kms_key_id=row.sse_kms_key_id,
        requester_pays=bool(row.requester_pays),
        metadata_directive=row.metadata_directive,
        tagging_directive=row.tagging_directive,
        engine=row.engine,
        batch_role_arn=row.batch_role_arn,
        batch_threshold=row.batch_threshold,
        checked_at=row.checked_at,
        created_at=row.created_at,
    )


def _default_region() -> str:
    from aws_copy_pt.s3.clients import DEFAULT_REGION

    return DEFAULT_REGION


def _check_client(row: Bucket, factory: ClientFactory, region: str | None) -> S3Client:
    from aws_copy_pt.s3.clients import CredentialSpec

    spec = CredentialSpec.from_row(row.credential)
    return factory.s3_check(spec, region=region, endpoint_url=row.endpoint_url)


def _locate(row: Bucket, factory: ClientFactory) -> BucketProbe:
    """HeadBucket signed for the known region; once more from the region S3 named, if any.

    botocore already follows AWS's 301/400 wrong-region answers; a 403 from the wrong region
    still names the right one, and asking there gives the real answer.
    """
    from aws_copy_pt.s3.regions import probe_bucket

    probe = probe_bucket(
        _check_client(row, factory, row.region), row.name, expected_owner=row.expected_owner
    )
    asked = row.region or _default_region()
    if not probe.reachable and probe.region and probe.region != asked:
        again = probe_bucket(
            _check_client(row, factory, probe.region), row.name, expected_owner=row.expected_owner
        )
        probe = replace(again, region=again.region or probe.region)
    if probe.status == 403:
        _raise_if_credentials_rejected(row, factory, probe.region or asked)
    return probe


def _raise_if_credentials_rejected(row: Bucket, factory: ClientFactory, region: str) -> None:
    """Wrong keys are not a missing permission, and the bucket owner cannot fix them."""
    from aws_copy_pt.s3.errors import S3CredentialsRejected
    from aws_copy_pt.s3.regions import rejected_keys

    error = rejected_keys(_check_client(row, factory, region), row.name)
    if error is None:
        return
    if isinstance(error, S3CredentialsRejected):
        error.name_credential(row.credential.name)
    raise error


def _require_reachable(row: Bucket, probe: BucketProbe, *, registering: bool) -> None:
    from aws_copy_pt.s3.errors import S3AccessDenied, S3CredentialsRejected, translate
    from aws_copy_pt.s3.regions import bucket_not_found

    if probe.reachable:
        return
    if probe.status == 404:
        raise bucket_not_found(row.name, row.endpoint_url)
    assert probe.error is not None
    error = translate(probe.error, operation="HeadBucket", bucket=row.name)
    if isinstance(error, S3CredentialsRejected):
        error.name_credential(row.credential.name)
    if not isinstance(error, S3AccessDenied):
        raise error from probe.error
    who = row.credential.caller_arn or f"credential {row.credential.name}"
    message = f"access denied: {who} may not HeadBucket {row.name} (needs s3:ListBucket)"
    if row.expected_owner:
        message += f", or the bucket is not owned by account {row.expected_owner}"
    hint = _denied_hint(row, probe, registering=registering)
    raise S3AccessDenied(message, hint=hint) from probe.error


def _denied_hint(row: Bucket, probe: BucketProbe, *, registering: bool) -> str:
    policy = f"`aws-copy-pt policy --bucket {row.name}`"
    if not registering:
        return f"send the bucket owner the policy from {policy}"
    region = probe.region or row.region or "REGION"
    return (
        f"if the owner has not granted access yet, register it offline with `aws-copy-pt "
        f"bucket add {row.name} --credentials {row.credential.name} --region {region} "
        f"--no-check`, then send them the policy from {policy}"
    )


def _write_test(row: Bucket, factory: ClientFactory) -> tuple[WriteTest, str | None]:
    """PutObject a tiny marker with the bucket's copy settings, then delete it.

    The put proves what copies need (s3:PutObject, the ACL, the KMS key). The destination
    policy grants no s3:DeleteObject, so a marker that cannot be deleted is reported, not fatal.
    """
    from aws_copy_pt.s3.arguments import settings_for
    from aws_copy_pt.s3.copier import call
    from aws_copy_pt.s3.errors import S3AccessDenied

    client = _check_client(row, factory, row.region)
    key = f"{WRITE_TEST_PREFIX}{uuid.uuid4().hex}"
    where: dict[str, Any] = {"Bucket": row.name, "Key": key}
    args = copy_settings(row).destination_args()
    args.pop("StorageClass", None)  # a marker never belongs in an archive tier
    body, owner = b"aws-copy-pt write test\n", settings_for("DeleteObject", args)
    call("PutObject", row.name, key, lambda: client.put_object(**where, Body=body, **args))
    try:
        call("DeleteObject", row.name, key, lambda: client.delete_object(**where, **owner))
    except S3AccessDenied:
        log.warning("write test marker s3://%s/%s could not be deleted", row.name, key)
        return "marker left", key
    return "passed", None


def _users_of(session: Session, row: Bucket) -> list[str]:
    collections = list(
        session.scalars(select(Collection.collection_id).where(Collection.bucket_id == row.id))
    )
    transfers = list(
        session.scalars(
            select(Transfer.id)
            .where(or_(Transfer.source_bucket_id == row.id, Transfer.dest_bucket_id == row.id))
            .order_by(Transfer.id)
        )
    )
    users = []
    if collections:
        users.append("collection(s) " + ", ".join(collections))
    rules = list(
        session.scalars(select(FollowRule.name).where(FollowRule.dest_bucket_id == row.id))
    )
    if rules:
        users.append("follow rule(s) " + ", ".join(rules) + " (`aws-copy-pt follow remove NAME`)")
    if transfers:
        users.append("transfer(s) " + ", ".join(str(t) for t in transfers))
    return users
