"""The least-privilege policies a cross-account copy needs (pure: data in, documents out).

A server-side copy is one request made by one principal (the credential registered for the
destination bucket): it needs read access on the staging bucket and write access on the
destination. Across accounts both sides must agree, so two documents come out:

* the **bucket policy** the destination owner attaches, granting that principal exactly what
  the copy engine does there (everywhere in the bucket, or only below one prefix: object ARNs
  ``bucket/prefix*`` and ListBucket with an ``s3:prefix`` condition);
* the **IAM policy** attached to the principal itself, for the staging and destination sides;

plus, for SSE-KMS destinations, the statement the key owner adds to the **key policy**. Every
statement carries a one-line reason, shown next to it. KMS keys are always full key ARNs: an
alias would resolve in the caller's account.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_copy_pt.core.bucket_settings import partition_of

VERSION = "2012-10-17"
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")
_IAM_PRINCIPAL = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(user/.+|role/.+|root)$")


@dataclass(frozen=True)
class PolicyBucket:
    """What the policies need to know about a registered bucket."""

    name: str
    region: str | None = None
    owner_account: str | None = None  # the registered --expected-owner
    acl: str | None = None
    kms_key_arn: str | None = None
    copies_tags: bool = True  # tagging directive COPY
    prefix: str = ""  # grant only keys below this ("u/alice/"); "" is the whole bucket


@dataclass(frozen=True)
class Principal:
    """Who performs the copies, as a policy names it."""

    account_id: str
    partition: str = "aws"
    arn: str | None = None  # a user or role ARN; None means the whole account
    role_name: str | None = None  # an assumed role whose path is unknown (see ``condition``)

    @property
    def display(self) -> str:
        if self.role_name:
            return f"role {self.role_name} in account {self.account_id}"
        return self.arn or f"account {self.account_id}"

    def block(self) -> dict[str, Any]:
        if self.arn:
            return {"AWS": self.arn}
        return {"AWS": f"arn:{self.partition}:iam::{self.account_id}:root"}

    def condition(self) -> dict[str, Any] | None:
        """STS hides an assumed role's path, so match the role name at any path."""
        if not self.role_name:
            return None
        base = f"arn:{self.partition}:iam::{self.account_id}:role"
        patterns = [f"{base}/{self.role_name}", f"{base}/*/{self.role_name}"]
        return {"ArnLike": {"aws:PrincipalArn": patterns}}


def copier_principal(
    *, account_id: str, caller_arn: str | None, role_arn: str | None, region: str | None = None
) -> Principal:
    """The principal from the registered role or ``aws check``'s caller ARN, else the account."""
    for candidate in (role_arn, caller_arn):
        if not candidate:
            continue
        iam = _IAM_PRINCIPAL.match(candidate)
        if iam:
            partition, account, _ = iam.groups()
            return Principal(account, partition, candidate)
        assumed = _ASSUMED_ROLE.match(candidate)
        if assumed:
            partition, account, role = assumed.groups()
            return Principal(account, partition, role_name=role)
    return Principal(account_id, partition_of(region))


@dataclass(frozen=True)
class Statement:
    sid: str
    why: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    principal: dict[str, Any] | None = None
    condition: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"Sid": self.sid, "Effect": "Allow"}
        if self.principal is not None:
            doc["Principal"] = self.principal
        doc["Action"] = list(self.actions) if len(self.actions) > 1 else self.actions[0]
        doc["Resource"] = list(self.resources) if len(self.resources) > 1 else self.resources[0]
        if self.condition:
            doc["Condition"] = self.condition
        return doc


@dataclass(frozen=True)
class PolicyDocument:
    """One policy to hand to someone: what it is, where it goes, and its statements."""

    kind: str  # "bucket-policy" | "iam-policy" | "kms-key-policy-statements"
    attach_to: str
    summary: str
    statements: tuple[Statement, ...]

    def document(self) -> dict[str, Any]:
        return {"Version": VERSION, "Statement": [s.document() for s in self.statements]}

    def explanations(self) -> dict[str, str]:
        return {s.sid: s.why for s in self.statements}

    def as_dict(self) -> dict[str, Any]:
        return {
            "attach_to": self.attach_to,
            "summary": self.summary,
            "explanations": self.explanations(),
            "document": self.document(),
        }


@dataclass(frozen=True)
class PolicySet:
    principal: Principal
    destination: PolicyBucket
    staging: PolicyBucket | None
    bucket_policy: PolicyDocument | None
    iam_policy: PolicyDocument
    key_policy: PolicyDocument | None
    notes: tuple[str, ...] = field(default=())

    def documents(self) -> list[PolicyDocument]:
        """The documents to hand out, in the order to read them."""
        docs = (self.bucket_policy, self.iam_policy, self.key_policy)
        return [doc for doc in docs if doc is not None]

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable form (``--json``)."""
        return {
            "destination_bucket": self.destination.name,
            "destination_prefix": self.destination.prefix,
            "staging_bucket": self.staging.name if self.staging else None,
            "principal": {
                "account_id": self.principal.account_id,
                "arn": self.principal.arn,
                "role_name": self.principal.role_name,
                "policy_principal": self.principal.block(),
            },
            "bucket_policy": self.bucket_policy.as_dict() if self.bucket_policy else None,
            "iam_policy": self.iam_policy.as_dict(),
            "kms_key_policy": self.key_policy.as_dict() if self.key_policy else None,
            "notes": list(self.notes),
        }


def build_policies(
    destination: PolicyBucket,
    principal: Principal,
    *,
    staging: PolicyBucket | None = None,
    delete_staging: bool = False,
) -> PolicySet:
    """The bucket, IAM and key policies for copying from ``staging`` into ``destination``."""
    partition = principal.partition
    dest_side = _destination_statements(destination, partition)
    same_account = destination.owner_account == principal.account_id
    notes: list[str] = []
    bucket_policy = None
    if same_account:
        notes.append(
            f"{destination.name} belongs to the copying principal's own account: "
            "the IAM policy alone grants access, no bucket policy is needed"
        )
    else:
        bucket_policy = _bucket_policy(destination, principal, dest_side)
        if destination.owner_account is None:
            notes.append(
                f"no --expected-owner is registered for {destination.name}: registering it "
                "makes copies into the wrong account fail fast"
            )
    if destination.prefix:
        notes.append(
            f"access is limited to {destination.name}/{destination.prefix}: transfers must copy "
            f"below it (e.g. --to {destination.name}/{destination.prefix}run42), and HeadBucket "
            "needs s3:ListBucket without a prefix, so `bucket add` and `bucket check` report "
            f"access denied: register {destination.name} with `bucket add ... --no-check`"
        )
    iam = list(dest_side)
    if staging is not None:
        iam += _staging_statements(staging, partition, destination, delete_staging=delete_staging)
        if staging.owner_account and staging.owner_account != principal.account_id:
            notes.append(
                f"the staging bucket {staging.name} belongs to account {staging.owner_account}: "
                f"its owner must also grant {principal.display} s3:GetObject and s3:ListBucket"
            )
    else:
        notes.append("no staging bucket given: add --staging BUCKET for the read side")
    key_policy = None
    if destination.kms_key_arn:
        iam.append(_kms_statement("UseDestinationKey", destination, decrypt_only=False))
        if not same_account:
            key_policy = _key_policy(destination, principal)
    return PolicySet(
        principal=principal,
        destination=destination,
        staging=staging,
        bucket_policy=bucket_policy,
        iam_policy=PolicyDocument(
            "iam-policy",
            principal.display,
            "attach to the principal that runs the copies (identity policy)",
            tuple(iam),
        ),
        key_policy=key_policy,
        notes=tuple(notes),
    )


def _bucket_arn(partition: str, bucket: str) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def _destination_statements(dest: PolicyBucket, partition: str) -> list[Statement]:
    bucket = _bucket_arn(partition, dest.name)
    objects = f"{bucket}/{dest.prefix}*"
    write = ["s3:PutObject"]
    why = "write the copied objects (CopyObject, UploadPartCopy, CompleteMultipartUpload)"
    if dest.acl:
        write.append("s3:PutObjectAcl")
        why += f" with the {dest.acl} ACL"
    if dest.copies_tags:
        write.append("s3:PutObjectTagging")
        why += ", keeping the source's tags"
    listing = "list keys to skip identical objects and verify copies"
    below = None
    if dest.prefix:
        listing += f", only below {dest.prefix}"
        below = {"StringLike": {"s3:prefix": [f"{dest.prefix}*"]}}
    else:
        listing += "; HeadBucket (region, reachability); 404 rather than 403 for absent keys"
    strays = "find multipart uploads a crash left unfinished, to abort them (billed until then)"
    if dest.prefix:
        strays += (
            "; S3 cannot limit this action to a prefix: it shows the keys of unfinished "
            "uploads in the whole bucket (without it, a lifecycle rule must abort them)"
        )
    return [
        Statement("AwsCopyPtWriteCopies", why, tuple(write), (objects,)),
        Statement(
            "AwsCopyPtCheckCopies",
            "HeadObject on destination keys: skip identical objects, detect conflicts, verify",
            ("s3:GetObject",),
            (objects,),
        ),
        Statement(
            "AwsCopyPtMultipartHousekeeping",
            "resume interrupted multipart copies and abort failed ones (no orphaned parts billed)",
            ("s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"),
            (objects,),
        ),
        Statement("AwsCopyPtFindBucket", listing, ("s3:ListBucket",), (bucket,), condition=below),
        Statement(
            "AwsCopyPtFindStrayUploads", strays, ("s3:ListBucketMultipartUploads",), (bucket,)
        ),
    ]


def _staging_statements(
    staging: PolicyBucket, partition: str, dest: PolicyBucket, *, delete_staging: bool
) -> list[Statement]:
    bucket = _bucket_arn(partition, staging.name)
    objects = f"{bucket}/*"
    read = ["s3:GetObject"]
    why = "read the staged objects as the copy source"
    if delete_staging:
        why += " (conditional deletes, bound to the verified ETag, need it too)"
    if dest.copies_tags:
        read.append("s3:GetObjectTagging")
        why += " (and their tags)"
    statements = [
        Statement("AwsCopyPtReadStaging", why, tuple(read), (objects,)),
        Statement(
            "AwsCopyPtListStaging",
            "list and HeadBucket the staging bucket to plan copies",
            ("s3:ListBucket",),
            (bucket,),
        ),
    ]
    if delete_staging:
        statements.append(
            Statement(
                "AwsCopyPtDeleteVerifiedStaging",
                "--delete-staging: remove a staged object only after its copy was verified, "
                "and only while it is what was verified (its ETag; on a versioned bucket, "
                "the version copied)",
                ("s3:DeleteObject", "s3:DeleteObjectVersion"),
                (objects,),
            )
        )
    if staging.kms_key_arn:
        statements.append(_kms_statement("DecryptStaging", staging, decrypt_only=True))
    return statements


def _kms_statement(sid: str, bucket: PolicyBucket, *, decrypt_only: bool) -> Statement:
    assert bucket.kms_key_arn is not None
    if decrypt_only:
        return Statement(
            f"AwsCopyPt{sid}",
            f"read objects of {bucket.name} encrypted with its KMS key",
            ("kms:Decrypt",),
            (bucket.kms_key_arn,),
        )
    return Statement(
        f"AwsCopyPt{sid}",
        f"encrypt copies into {bucket.name} with its KMS key (Decrypt: multipart copies)",
        ("kms:GenerateDataKey", "kms:Decrypt"),
        (bucket.kms_key_arn,),
    )


def _bucket_policy(
    dest: PolicyBucket, principal: Principal, statements: Sequence[Statement]
) -> PolicyDocument:
    granted = tuple(
        Statement(
            s.sid,
            s.why,
            s.actions,
            s.resources,
            principal.block(),
            _both(s.condition, principal.condition()),
        )
        for s in statements
    )
    owner = f" (account {dest.owner_account})" if dest.owner_account else ""
    return PolicyDocument(
        "bucket-policy",
        f"s3://{dest.name}{owner}",
        "the destination owner attaches this as the bucket policy (merge with any existing one)",
        granted,
    )


def _both(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    """Two conditions that must both hold (their operators differ: StringLike, ArnLike)."""
    if not first or not second:
        return first or second
    assert not set(first) & set(second), "one operator in both conditions"
    return {**first, **second}


def _key_policy(dest: PolicyBucket, principal: Principal) -> PolicyDocument:
    statement = Statement(
        "AwsCopyPtUseKeyForCopies",
        f"let {principal.display} encrypt copies into {dest.name} with this key",
        ("kms:GenerateDataKey", "kms:Decrypt"),
        ("*",),  # in a key policy, "*" means this key
        principal.block(),
        principal.condition(),
    )
    return PolicyDocument(
        "kms-key-policy-statements",
        str(dest.kms_key_arn),
        "the key owner adds this statement to the key policy of the destination key",
        (statement,),
    )
