"""``bucket update NAME``: change any setting of a registered bucket, validated like ``bucket add``.

The registration as it is and the changes are merged into one ``BucketRequest`` and checked by
``core.bucket_settings.normalize``, the same rules ``bucket add`` applies, so a setting can never
be stored by one command that the other would refuse. ``none`` clears an optional setting
(``--expected-owner none``, ``--batch-role none``...); ``--batch-threshold default`` goes back to
the default. A change of credential, endpoint, region or expected owner is proved with one
HeadBucket (``bucket check``) unless ``factory`` is None (offline).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from aws_copy_pt.core.batch_engine import role_account
from aws_copy_pt.core.bucket_settings import (
    AUTO_REGION,
    BucketRequest,
    check_kms_key_region,
    is_aws_endpoint,
    normalize,
)
from aws_copy_pt.db.models import Bucket
from aws_copy_pt.errors import UsageError
from aws_copy_pt.services.setup.buckets import (
    BucketCheck,
    BucketInfo,
    check_bucket,
    describe,
    get_bucket,
)
from aws_copy_pt.services.setup.credentials import get_credential

if TYPE_CHECKING:
    from aws_copy_pt.s3.clients import ClientFactory

CLEAR = "none"
DEFAULT = "default"
_CLEARABLE = frozenset(
    {"endpoint_url", "expected_owner", "storage_class", "sse", "sse_kms_key_id", "batch_role_arn"}
)
_LOCATION = frozenset({"credential", "endpoint_url", "region", "expected_owner"})


@dataclass(frozen=True)
class BucketUpdate:
    """What ``bucket update`` was asked to change; None leaves a setting as it is."""

    credential: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    expected_owner: str | None = None
    storage_class: str | None = None
    acl: str | None = None
    sse: str | None = None
    sse_kms_key_id: str | None = None
    requester_pays: bool | None = None
    metadata_directive: str | None = None
    tagging_directive: str | None = None
    engine: str | None = None
    batch_role_arn: str | None = None
    batch_threshold: str | None = None  # a number of objects, or "default"

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class BucketUpdated:
    bucket: BucketInfo
    changed: tuple[str, ...]  # setting names, as `bucket list --json` shows them
    check: BucketCheck | None  # the HeadBucket that proved a new location, if one was made


def update_bucket(
    session: Session, name: str, update: BucketUpdate, *, factory: ClientFactory | None
) -> BucketUpdated:
    """Merge, validate, store; then prove a changed location unless ``factory`` is None."""
    given = update.given()
    if not given:
        raise UsageError(
            f"nothing to change for bucket {name}",
            hint="give at least one setting, e.g. `aws-copy-pt bucket update "
            f"{name} --storage-class GLACIER_IR`; see `aws-copy-pt bucket update --help`",
        )
    row = get_bucket(session, name)
    current = normalize(_as_request(row))
    merged = normalize(replace(current, **_merged_values(current, given)))
    _check_batch_role(merged, row, session)
    if is_aws_endpoint(merged.endpoint_url) and not merged.region_is_auto:
        check_kms_key_region(merged.sse_kms_key_id, merged.region)
    changed = tuple(
        f.name for f in fields(BucketRequest) if getattr(merged, f.name) != getattr(current, f.name)
    )
    _apply(session, row, merged)
    check = None
    if factory is not None and _LOCATION & set(changed):
        session.flush()
        check = check_bucket(session, factory, name)
    return BucketUpdated(describe(row), changed, check)


def _as_request(row: Bucket) -> BucketRequest:
    return BucketRequest(
        name=row.name,
        credential=row.credential.name,
        endpoint_url=row.endpoint_url,
        region=row.region if row.region_source == "manual" and row.region else AUTO_REGION,
        expected_owner=row.expected_owner,
        storage_class=row.storage_class,
        acl=row.acl if row.acl is not None else CLEAR,
        sse=row.sse,
        sse_kms_key_id=row.sse_kms_key_id,
        requester_pays=bool(row.requester_pays),
        metadata_directive=row.metadata_directive,
        tagging_directive=row.tagging_directive,
        engine=row.engine,
        batch_role_arn=row.batch_role_arn,
        batch_threshold=row.batch_threshold,
    )


def _merged_values(current: BucketRequest, given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, value in given.items():
        if field in _CLEARABLE and isinstance(value, str) and value.lower() == CLEAR:
            values[field] = None
        elif field == "batch_threshold":
            values[field] = None if value.lower() == DEFAULT else _number(value)
        else:
            values[field] = value
    if "sse" in given and values["sse"] is None and "sse_kms_key_id" not in given:
        values["sse_kms_key_id"] = None  # --sse none drops the key with the encryption
    if "sse_kms_key_id" in values and values["sse_kms_key_id"] and "sse" not in given:
        values["sse"] = None if current.sse == "AES256" else current.sse
    return values


def _number(text: str) -> int:
    try:
        return int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise UsageError(
            f"--batch-threshold must be a number of objects or 'default', not {text!r}",
            hint="e.g. --batch-threshold 250000",
        ) from None


def _check_batch_role(merged: BucketRequest, row: Bucket, session: Session) -> None:
    if merged.batch_role_arn is None:
        if merged.engine == "batch":
            raise UsageError(
                f"--engine batch needs a batch role for {merged.name}",
                hint=f"add --batch-role ARN (`aws-copy-pt policy --engine batch --bucket "
                f"{merged.name} --batch-role ARN` prints what the role needs)",
            )
        return
    if not (is_aws_endpoint(merged.endpoint_url) or batch_standin_configured()):
        raise UsageError(
            f"{merged.name} is not on AWS ({merged.endpoint_url}): S3 Batch Operations exists "
            "only on AWS",
            hint="use --batch-role none, or --engine local",
        )
    account = get_credential(session, merged.credential).account_id
    owner = role_account(merged.batch_role_arn)
    if account is not None and account != owner:
        raise UsageError(
            f"copy jobs run in the role's account {owner}, but credential "
            f"{merged.credential!r} is account {account}: it could not create them",
            hint=f"register a credential of account {owner} and use `aws-copy-pt bucket update "
            f"{row.name} --credentials C`",
        )


def batch_standin_configured() -> bool:
    """The sandbox's S3 Control stand-in is configured (demo, tests): buckets on the local S3
    server may then use the batch engine."""
    from aws_copy_pt.s3.control_route import S3CONTROL_URL_ENV

    return bool(os.environ.get(S3CONTROL_URL_ENV))


def _apply(session: Session, row: Bucket, merged: BucketRequest) -> None:
    if merged.credential != row.credential.name:
        row.credential = get_credential(session, merged.credential)
    row.endpoint_url = merged.endpoint_url
    if merged.region_is_auto:
        row.region_source = "auto"
    else:
        row.region, row.region_source = merged.region, "manual"
    row.expected_owner = merged.expected_owner
    row.storage_class = merged.storage_class
    row.acl = merged.acl
    row.sse = merged.sse
    row.sse_kms_key_id = merged.sse_kms_key_id
    row.requester_pays = merged.requester_pays
    row.metadata_directive = merged.metadata_directive
    row.tagging_directive = merged.tagging_directive
    row.engine = merged.engine
    row.batch_role_arn = merged.batch_role_arn
    row.batch_threshold = merged.batch_threshold
