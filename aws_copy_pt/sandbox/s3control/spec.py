"""A CreateJob request, checked and parsed the way S3 Control reads it.

Only what a copy job uses is modelled; the request's ``Manifest``, ``Operation`` and ``Report``
elements are also kept as sent, so DescribeJob echoes them exactly.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from aws_copy_pt.core.batch_manifest import MANIFEST_FORMAT, REPORT_FORMAT

from .wire import ApiError, members, text

_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:[^:]+:iam::\d{12}:role/.+$")
_OBJECT_ARN = re.compile(r"^arn:[^:]+:s3:::([^/]+)/(.+)$")
_BUCKET_ARN = re.compile(r"^arn:[^:]+:s3:::([^/]+)$")
_FIELDS = (["Bucket", "Key"], ["Bucket", "Key", "VersionId"])
_METADATA_FIELDS = {
    "CacheControl": "CacheControl",
    "ContentDisposition": "ContentDisposition",
    "ContentEncoding": "ContentEncoding",
    "ContentLanguage": "ContentLanguage",
    "ContentType": "ContentType",
}


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidRequest", message)


@dataclass(frozen=True)
class CopySettings:
    """``Operation.S3PutObjectCopy``: what every task's CopyObject request carries."""

    target_bucket: str
    key_prefix: str = ""
    acl: str | None = None
    metadata_directive: str | None = None
    new_metadata: dict[str, str] = field(default_factory=dict)
    user_metadata: dict[str, str] | None = None
    new_tags: list[tuple[str, str]] | None = None  # None: copy the source's tags
    storage_class: str | None = None
    kms_key_id: str | None = None
    checksum_algorithm: str | None = None


@dataclass(frozen=True)
class JobSpec:
    account_id: str
    token: str
    role_arn: str
    priority: int
    confirmation_required: bool
    description: str | None
    manifest_bucket: str
    manifest_key: str
    manifest_version_id: str | None
    manifest_etag: str
    manifest_fields: tuple[str, ...]
    copy: CopySettings
    report_enabled: bool
    report_bucket: str | None
    report_prefix: str | None
    report_scope: str
    echoed: dict[str, ET.Element]  # Manifest, Operation, Report as sent

    @property
    def versioned(self) -> bool:
        return "VersionId" in self.manifest_fields

    def same_request(self, other: JobSpec) -> bool:
        """Two requests with one token must ask for the same job (else IdempotencyException)."""
        mine = {name: ET.tostring(element) for name, element in self.echoed.items()}
        theirs = {name: ET.tostring(element) for name, element in other.echoed.items()}
        return (mine, self.role_arn, self.priority) == (theirs, other.role_arn, other.priority)


def parse_create_job(account_id: str, root: ET.Element) -> JobSpec:
    if not _ACCOUNT.match(account_id):
        raise invalid("The x-amz-account-id header must be a 12-digit AWS account id")
    token = _required(root, "ClientRequestToken")
    if len(token) > 64:
        raise invalid("ClientRequestToken must be at most 64 characters")
    role_arn = _required(root, "RoleArn")
    if not _ROLE_ARN.match(role_arn):
        raise invalid(f"Invalid RoleArn: {role_arn}")
    description = text(root, "Description")
    if description is not None and len(description) > 256:
        raise invalid("Description must be at most 256 characters")
    priority = _required(root, "Priority")
    if not priority.isdigit():
        raise invalid("Priority must be a non-negative integer")
    manifest, operation, report = (root.find(name) for name in ("Manifest", "Operation", "Report"))
    if manifest is None or operation is None or report is None:
        raise invalid(
            "A job needs a Manifest (ManifestGenerator is not simulated), an Operation and a Report"
        )
    bucket, key, version_id, etag, fields = _manifest(manifest)
    report_enabled, report_bucket, report_prefix, scope = _report(report)
    confirmation = text(root, "ConfirmationRequired")
    return JobSpec(
        account_id=account_id,
        token=token,
        role_arn=role_arn,
        priority=int(priority),
        # S3 suspends a job for confirmation unless told not to (the CLI default).
        confirmation_required=confirmation != "false",
        description=description,
        manifest_bucket=bucket,
        manifest_key=key,
        manifest_version_id=version_id,
        manifest_etag=etag,
        manifest_fields=tuple(fields),
        copy=_copy_settings(operation),
        report_enabled=report_enabled,
        report_bucket=report_bucket,
        report_prefix=report_prefix,
        report_scope=scope,
        echoed={"Manifest": manifest, "Operation": operation, "Report": report},
    )


def _required(root: ET.Element, path: str) -> str:
    value = text(root, path)
    if value is None or not value.strip():
        raise invalid(f"{path} is required")
    return value


def _manifest(manifest: ET.Element) -> tuple[str, str, str | None, str, list[str]]:
    if text(manifest, "Spec/Format") != MANIFEST_FORMAT:
        raise invalid(f"Only the {MANIFEST_FORMAT} manifest format is simulated")
    fields = [m.text or "" for m in members(manifest, "Spec/Fields") or []]
    if fields not in _FIELDS:
        raise invalid(f"Manifest fields must be Bucket,Key[,VersionId], not {fields}")
    arn = _required(manifest, "Location/ObjectArn")
    found = _OBJECT_ARN.match(arn)
    if found is None:
        raise invalid(f"Invalid manifest ObjectArn: {arn}")
    etag = _required(manifest, "Location/ETag")
    return found[1], found[2], text(manifest, "Location/ObjectVersionId"), etag, fields


def _report(report: ET.Element) -> tuple[bool, str | None, str | None, str]:
    enabled = text(report, "Enabled") == "true"
    scope = text(report, "ReportScope") or "AllTasks"
    if not enabled:
        return False, None, None, scope
    arn = text(report, "Bucket") or ""
    found = _BUCKET_ARN.match(arn)
    if found is None:
        raise invalid(f"An enabled report needs a bucket ARN, not {arn!r}")
    if text(report, "Format") != REPORT_FORMAT:
        raise invalid(f"An enabled report needs Format {REPORT_FORMAT}")
    if scope not in ("AllTasks", "FailedTasksOnly"):
        raise invalid(f"Invalid ReportScope {scope}")
    return True, found[1], text(report, "Prefix"), scope


def _copy_settings(operation: ET.Element) -> CopySettings:
    kinds = [child.tag for child in operation]
    if kinds != ["S3PutObjectCopy"]:
        raise invalid(f"The stand-in runs S3PutObjectCopy jobs only, not {kinds}")
    copy = operation.find("S3PutObjectCopy")
    arn = text(copy, "TargetResource") or ""
    target = _BUCKET_ARN.match(arn)
    if target is None:
        raise invalid(f"Invalid TargetResource: {arn!r}")
    metadata = copy.find("NewObjectMetadata") if copy is not None else None
    user = metadata.find("UserMetadata") if metadata is not None else None
    tags = members(copy, "NewObjectTagging")
    return CopySettings(
        target_bucket=target[1],
        key_prefix=text(copy, "TargetKeyPrefix") or "",
        acl=text(copy, "CannedAccessControlList"),
        metadata_directive=text(copy, "MetadataDirective"),
        new_metadata={
            boto: value
            for name, boto in _METADATA_FIELDS.items()
            if (value := text(metadata, name)) is not None
        },
        user_metadata=None
        if user is None
        else {text(e, "key") or "": text(e, "value") or "" for e in user.findall("entry")},
        new_tags=None
        if tags is None
        else [(text(tag, "Key") or "", text(tag, "Value") or "") for tag in tags],
        storage_class=text(copy, "StorageClass"),
        kms_key_id=text(copy, "SSEAwsKmsKeyId"),
        checksum_algorithm=text(copy, "ChecksumAlgorithm"),
    )
