"""Is a request allowed by a policy? Enough of IAM's evaluation to check our own policies.

moto enforces no bucket or IAM policy, so tests check each request the fault proxy saw against
the policy documents ``aws-copy-pt policy`` printed: which IAM actions the S3 operation needs
(the Service Authorization Reference's mapping, for the operations the product sends), on which
resource ARN, with which condition keys (``s3:prefix`` for listings), and whether an Allow
statement covers each. Only what our documents use is evaluated: Allow statements, exact action
names, ARN wildcards, and ``StringLike`` on ``s3:prefix``; principal conditions (``ArnLike`` on
``aws:PrincipalArn``) are taken as met, since the requests are the copier's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.faultproxy import ProxyRecord

# What S3 checks for each operation, on the object (True) or on the bucket (False).
_NEEDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "HeadObject": (("s3:GetObject", True),),
    "GetObject": (("s3:GetObject", True),),
    "GetObjectAttributes": (("s3:GetObject", True),),
    "GetObjectTagging": (("s3:GetObjectTagging", True),),
    "PutObject": (("s3:PutObject", True),),
    "PutObjectTagging": (("s3:PutObjectTagging", True),),
    "CreateMultipartUpload": (("s3:PutObject", True),),
    "UploadPartCopy": (("s3:PutObject", True),),
    "CompleteMultipartUpload": (("s3:PutObject", True),),
    "AbortMultipartUpload": (("s3:AbortMultipartUpload", True),),
    "ListParts": (("s3:ListMultipartUploadParts", True),),
    "DeleteObject": (("s3:DeleteObject", True),),
    "ListObjectsV2": (("s3:ListBucket", False),),
    "ListObjects": (("s3:ListBucket", False),),
    "HeadBucket": (("s3:ListBucket", False),),
    "ListMultipartUploads": (("s3:ListBucketMultipartUploads", False),),
}


@dataclass(frozen=True)
class Need:
    """One permission a request needs: an action on a resource, with its condition keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        where = f" with {dict(self.context)}" if self.context else ""
        return f"{self.action} on {self.resource}{where}"


def needs(record: ProxyRecord, partition: str = "aws") -> Iterator[Need]:
    """The permissions ``record``'s request needs, including its copy source's."""
    operation = record.operation
    headers = record.amz_headers
    bucket = f"arn:{partition}:s3:::{record.bucket}"
    target = f"{bucket}/{record.key}"
    if operation == "DeleteObjects":  # one s3:DeleteObject per key (If-Match: s3:GetObject)
        for key in record.requested_keys:
            yield Need("s3:DeleteObject", f"{bucket}/{key}")
            yield Need("s3:GetObject", f"{bucket}/{key}")
    elif operation in ("CopyObject", "UploadPartCopy"):
        source = f"arn:{partition}:s3:::{headers['x-amz-copy-source']}"
        yield Need("s3:GetObject", source)
        yield Need("s3:PutObject", target)
        tags = headers.get("x-amz-tagging-directive", "COPY").upper() == "COPY"
        if operation == "CopyObject" and tags:
            yield Need("s3:GetObjectTagging", source)
            yield Need("s3:PutObjectTagging", target)
    else:
        if operation not in _NEEDS:
            raise AssertionError(f"no IAM mapping for {operation}: add it to tests/support/iam.py")
        context = {"s3:prefix": record.query["prefix"]} if "prefix" in record.query else {}
        for action, on_object in _NEEDS[operation]:
            yield Need(action, target if on_object else bucket, {} if on_object else context)
    if "x-amz-acl" in headers and operation in ("CopyObject", "CreateMultipartUpload", "PutObject"):
        yield Need("s3:PutObjectAcl", target)


def allows(document: Mapping[str, Any], need: Need) -> bool:
    """True when an Allow statement of ``document`` grants ``need``."""
    return any(_grants(statement, need) for statement in document["Statement"])


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _grants(statement: Mapping[str, Any], need: Need) -> bool:
    if statement.get("Effect") != "Allow" or need.action not in _listed(statement["Action"]):
        return False
    if not any(_like(need.resource, r) for r in _listed(statement["Resource"])):
        return False
    for operator, clauses in statement.get("Condition", {}).items():
        if operator == "ArnLike" and set(clauses) == {"aws:PrincipalArn"}:
            continue
        if operator != "StringLike":
            raise AssertionError(f"condition {operator} is not evaluated here")
        for key, patterns in clauses.items():
            value = need.context.get(key)
            if value is None or not any(_like(value, p) for p in _listed(patterns)):
                return False
    return True


def _like(value: str, pattern: str) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one; nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None
