"""Checking and normalising what a user registers about a bucket (pure: no I/O).

A registration names the bucket, where it lives (endpoint, region) and the settings applied to
every object copied into it: ACL, storage class, encryption, requester pays, directives and the
expected owner. Everything is validated here, before anything is stored or any request is sent,
so that a mistake fails with a message that says what to type instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import ParseResult, urlparse

from aws_copy_pt.core.batch_engine import (
    check_batch_threshold,
    check_engine,
    check_role_arn,
    role_account,
)
from aws_copy_pt.core.errors import UsageError

AUTO_REGION = "auto"
DEFAULT_ACL = "bucket-owner-full-control"
NO_ACL = "none"  # for stores (or BucketOwnerEnforced buckets) that want no ACL header at all

CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
AWS_STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "OUTPOSTS",
    "SNOW",
    "EXPRESS_ONEZONE",
)
SSE_MODES = ("AES256", "aws:kms", "aws:kms:dsse")
DIRECTIVES = ("COPY", "REPLACE")

_AWS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_OTHER_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_OTHER_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_KMS_ALIAS = re.compile(r"^(alias/|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias/)")
_KMS_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12})$")
_STORAGE_CLASS = re.compile(r"^[A-Z0-9_]{2,40}$")
_KMS_EXAMPLE = (
    "--sse-kms-key-id arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (the Key ARN in the KMS console)"
)


@dataclass(frozen=True)
class BucketRequest:
    """What the user asked to register, as typed (``bucket add`` options)."""

    name: str
    credential: str
    endpoint_url: str | None = None
    region: str = AUTO_REGION
    expected_owner: str | None = None
    storage_class: str | None = None
    acl: str | None = DEFAULT_ACL
    sse: str | None = None
    sse_kms_key_id: str | None = None
    requester_pays: bool = False
    metadata_directive: str = "COPY"
    tagging_directive: str = "COPY"
    engine: str | None = None  # local | batch | auto (None: auto)
    batch_role_arn: str | None = None
    batch_threshold: int | None = None

    @property
    def region_is_auto(self) -> bool:
        return self.region == AUTO_REGION


def normalize(request: BucketRequest) -> BucketRequest:
    """The request with every field checked and in canonical form; raises UsageError."""
    endpoint_url = check_endpoint_url(request.endpoint_url)
    sse, kms_key = check_sse(request.sse, request.sse_kms_key_id, aws=is_aws_endpoint(endpoint_url))
    return replace(
        request,
        name=check_bucket_name(request.name, endpoint_url),
        endpoint_url=endpoint_url,
        region=check_region(request.region, endpoint_url),
        expected_owner=check_account_id(request.expected_owner),
        storage_class=check_storage_class(request.storage_class, endpoint_url),
        acl=check_acl(request.acl),
        sse=sse,
        sse_kms_key_id=kms_key,
        metadata_directive=check_directive("--metadata-directive", request.metadata_directive),
        tagging_directive=check_directive("--tagging-directive", request.tagging_directive),
        engine=None if request.engine is None else check_engine(request.engine).value,
        batch_role_arn=check_batch_role(request.batch_role_arn, request.expected_owner),
        batch_threshold=None
        if request.batch_threshold is None
        else check_batch_threshold(request.batch_threshold),
    )


def check_batch_role(role_arn: str | None, expected_owner: str | None) -> str | None:
    """A batch role runs jobs in its own account: the destination bucket's, when known."""
    if role_arn is None:
        return None
    role_arn = check_role_arn(role_arn)
    if expected_owner and role_account(role_arn) != expected_owner:
        raise UsageError(
            f"the batch role {role_arn} is in account {role_account(role_arn)}, but the bucket "
            f"belongs to {expected_owner}: copy jobs run in the destination account",
            hint=f"register a role of account {expected_owner} "
            "(`aws-copy-pt policy --engine batch --bucket NAME` prints what it needs)",
        )
    return role_arn


@dataclass(frozen=True)
class CopySettings:
    """What the copy engine applies to every object it writes into a bucket.

    ``destination_args()`` gives the request parameters common to CopyObject and
    CreateMultipartUpload; the directives apply to CopyObject only. When this bucket is the
    *source* of a copy, ``expected_owner`` becomes ``ExpectedSourceBucketOwner``.
    """

    acl: str | None = DEFAULT_ACL
    storage_class: str | None = None
    sse: str | None = None
    sse_kms_key_id: str | None = None
    requester_pays: bool = False
    metadata_directive: str = "COPY"
    tagging_directive: str = "COPY"
    expected_owner: str | None = None

    def destination_args(self) -> dict[str, Any]:
        """boto3 parameters for writing an object into this bucket."""
        args: dict[str, Any] = {}
        if self.acl:
            args["ACL"] = self.acl
        if self.storage_class:
            args["StorageClass"] = self.storage_class
        if self.sse:
            args["ServerSideEncryption"] = self.sse
        if self.sse_kms_key_id:
            args["SSEKMSKeyId"] = self.sse_kms_key_id
        if self.requester_pays:
            args["RequestPayer"] = "requester"
        if self.expected_owner:
            args["ExpectedBucketOwner"] = self.expected_owner
        return args


def is_aws_endpoint(endpoint_url: str | None) -> bool:
    """True for AWS itself (no custom endpoint, or an *.amazonaws.com host)."""
    if not endpoint_url:
        return True
    host = urlparse(endpoint_url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def bucket_name_problem(name: str, *, aws: bool) -> str | None:
    """Why ``name`` cannot be a bucket name, or None: the one bucket-name rule of the tool.

    On AWS (``aws``) the S3 naming rules apply; S3-compatible stores (and legacy us-east-1
    buckets) also allow capitals and underscores, up to 255 characters.
    """
    pattern = _AWS_BUCKET if aws else _OTHER_BUCKET
    if pattern.match(name) and ".." not in name:
        return None
    if "/" in name or name.startswith("s3:"):
        return "give the bare bucket name, not an s3:// URL or a path"
    if aws:
        return (
            "on Amazon S3 a bucket name has 3-63 lower-case letters, digits, '.' and '-', "
            "and starts and ends with a letter or digit"
        )
    return "3-255 characters: letters, digits, '.', '_' and '-'"


def check_bucket_name(name: str, endpoint_url: str | None) -> str:
    """``name`` if it is a valid bucket name where ``endpoint_url`` points, else UsageError."""
    problem = bucket_name_problem(name, aws=is_aws_endpoint(endpoint_url))
    if problem is not None:
        raise UsageError(f"{name!r} is not a valid bucket name", hint=problem)
    return name


def check_endpoint_url(endpoint_url: str | None, *, asked_as: str = "--endpoint-url") -> str | None:
    """The endpoint URL without a trailing slash; ``asked_as`` names where it was typed (a
    command-line flag, or a question of the wizard) in the error."""
    if endpoint_url is None:
        return None
    parsed = urlparse(endpoint_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not _valid_port(parsed):
        example = "https://storage.googleapis.com or https://minio.example:9000"
        flag = f"{asked_as} " if asked_as.startswith("--") else ""
        raise UsageError(
            f"{asked_as} {endpoint_url!r} is not an http(s) URL",
            hint=f"give the whole URL with http:// or https://, e.g. {flag}{example}",
        )
    return endpoint_url.rstrip("/")


def _valid_port(parsed: ParseResult) -> bool:
    try:
        parsed.port  # noqa: B018 - raises ValueError for a port that is no number in range
    except ValueError:
        return False
    return True


def check_region(region: str, endpoint_url: str | None) -> str:
    """``auto`` or a region name (AWS-shaped on AWS; stores elsewhere name regions freely)."""
    if region == AUTO_REGION:
        return region
    pattern = _AWS_REGION if is_aws_endpoint(endpoint_url) else _OTHER_REGION
    if not pattern.match(region):
        raise UsageError(
            f"--region {region!r} is not a region name",
            hint="use --region auto to detect it, or a name like eu-west-1",
        )
    return region


def check_account_id(value: str | None) -> str | None:
    if value is None:
        return None
    if not _ACCOUNT_ID.match(value):
        raise UsageError(
            f"--expected-owner {value!r} is not an AWS account id",
            hint="give the 12-digit account id of the bucket owner, e.g. 222222222222",
        )
    return value


def check_storage_class(value: str | None, endpoint_url: str | None) -> str | None:
    if value is None:
        return None
    normalized = value.upper()
    known = AWS_STORAGE_CLASSES if is_aws_endpoint(endpoint_url) else None
    if (known is not None and normalized not in known) or not _STORAGE_CLASS.match(normalized):
        raise UsageError(
            f"unknown storage class {value!r}",
            hint="one of " + ", ".join(AWS_STORAGE_CLASSES),
        )
    return normalized


def check_acl(value: str | None) -> str | None:
    """A canned ACL, or ``none`` to send no ACL header (returned as None)."""
    if value is None or value.lower() == NO_ACL:
        return None
    if value not in CANNED_ACLS:
        raise UsageError(
            f"unknown ACL {value!r}",
            hint=f"one of {', '.join(CANNED_ACLS)}, or 'none' to send no ACL "
            f"(default {DEFAULT_ACL})",
        )
    return value


def check_directive(option: str, value: str) -> str:
    normalized = value.upper()
    if normalized not in DIRECTIVES:
        raise UsageError(
            f"{option} must be COPY or REPLACE, not {value!r}",
            hint=f"COPY keeps the source's values (default); e.g. {option} REPLACE",
        )
    return normalized


def check_sse(
    sse: str | None, key_id: str | None, *, aws: bool = True
) -> tuple[str | None, str | None]:
    """Validated (sse, kms key); a key id alone implies ``aws:kms``.

    On AWS the key must be a full key ARN; S3-compatible stores (MinIO KES, Ceph) name keys
    their own way, so their key ids are passed through.
    """
    if sse is not None:
        matches = [mode for mode in SSE_MODES if mode.lower() == sse.lower()]
        if not matches:
            raise UsageError(f"unknown --sse {sse!r}", hint="use AES256 or aws:kms")
        sse = matches[0]
    if key_id is None:
        if sse is not None and sse.startswith("aws:kms"):
            raise UsageError(
                f"--sse {sse} needs --sse-kms-key-id with the full key ARN",
                hint=f"e.g. {_KMS_EXAMPLE}",
            )
        return sse, None
    if sse == "AES256":
        raise UsageError(
            "--sse-kms-key-id is only for --sse aws:kms, not AES256",
            hint="drop --sse-kms-key-id, or use --sse aws:kms",
        )
    return sse or "aws:kms", check_kms_key_arn(key_id) if aws else key_id


def check_kms_key_arn(key_id: str) -> str:
    """Only a full key ARN names the same key whoever sends the request.

    A KMS alias or a bare key id resolves in the account of the *caller*, so in a cross-account
    copy it would pick a key of the staging account (or none) instead of the bucket owner's.
    """
    if _KMS_KEY_ARN.match(key_id):
        return key_id
    why = (
        "it is looked up in the account of the credentials doing the copy, not the bucket "
        "owner's, so a cross-account copy would use the wrong key or fail"
    )
    if _KMS_ALIAS.match(key_id):
        raise UsageError(f"KMS alias {key_id!r} refused: {why}", hint=f"use {_KMS_EXAMPLE}")
    if _KMS_KEY_ID.match(key_id):
        raise UsageError(f"bare KMS key id {key_id!r} refused: {why}", hint=f"use {_KMS_EXAMPLE}")
    raise UsageError(f"{key_id!r} is not a KMS key ARN", hint=f"use {_KMS_EXAMPLE}")


def check_kms_key_region(key_arn: str | None, bucket_region: str | None) -> None:
    """S3 encrypts only with a KMS key of the bucket's own region (``key_arn``: a key ARN)."""
    if not key_arn or not bucket_region or not _KMS_KEY_ARN.match(key_arn):
        return
    key_region = key_arn.split(":")[3]
    if key_region != bucket_region:
        raise UsageError(
            f"the KMS key is in {key_region} but the bucket is in {bucket_region}: S3 only uses "
            "keys of the bucket's region",
            hint=f"give the ARN of a key in {bucket_region} (a multi-Region replica key works)",
        )


def partition_of(region: str | None) -> str:
    """The ARN partition a region belongs to."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
