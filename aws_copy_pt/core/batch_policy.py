"""The policies the batch engine needs (pure): ``aws-copy-pt policy --engine batch``.

An S3 Batch Operations copy job runs as an IAM **role** in the destination account that S3
assumes (``batchoperations.s3.amazonaws.com``). aws-copy-pt keeps each job's manifest and
completion report in the destination bucket, under ``.aws-copy-pt-batch/`` (same account and
region as the job, so no other bucket has to trust the role for them). Four parties agree:

* the role's **trust policy** lets S3 Batch Operations assume it;
* the role's **permissions**: read staged objects (and their versions and tags), read the
  manifest, write copies and reports into the destination, use the KMS keys;
* the **job creator** (the credential registered for the destination bucket) may create,
  describe and update jobs, pass the role, upload manifests and read reports;
* the credential registered for the **staging** bucket may ask whether it is versioned and list
  its current versions (the manifest pins them);
* the **staging bucket policy** (the staging account) lets the role read the staged objects;
  a destination bucket owned by another account than the role's also grants it writes.

Every statement carries a one-line reason, like ``core.policy``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_copy_pt.core.batch_engine import BATCH_FOLDER, role_account
from aws_copy_pt.core.policy import PolicyBucket, PolicyDocument, Principal, Statement

BATCH_SERVICE = "batchoperations.s3.amazonaws.com"


@dataclass(frozen=True)
class BatchPolicySet:
    role_arn: str
    caller: Principal
    trust_policy: PolicyDocument
    role_policy: PolicyDocument
    caller_policy: PolicyDocument
    staging_reader_policy: PolicyDocument
    staging_bucket_policy: PolicyDocument | None
    destination_bucket_policy: PolicyDocument | None
    key_policies: tuple[PolicyDocument, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def documents(self) -> list[PolicyDocument]:
        docs = (
            self.trust_policy,
            self.role_policy,
            self.caller_policy,
            self.staging_reader_policy,
            self.staging_bucket_policy,
            self.destination_bucket_policy,
            *self.key_policies,
        )
        return [doc for doc in docs if doc is not None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": "batch",
            "role_arn": self.role_arn,
            "job_creator": self.caller.display,
            "documents": [{"kind": doc.kind, **doc.as_dict()} for doc in self.documents()],
            "notes": list(self.notes),
        }


def build_batch_policies(
    destination: PolicyBucket,
    staging: PolicyBucket,
    *,
    role_arn: str,
    caller: Principal,
    partition: str = "aws",
) -> BatchPolicySet:
    """Everything a batch copy from ``staging`` into ``destination`` needs, as documents."""
    role_owner = role_account(role_arn)
    role = Principal(role_owner, partition, role_arn)
    staging_arn = f"arn:{partition}:s3:::{staging.name}"
    dest_arn = f"arn:{partition}:s3:::{destination.name}"
    job_files = f"{dest_arn}/{BATCH_FOLDER}/*"
    notes: list[str] = []
    role_statements = _role_statements(staging_arn, dest_arn, job_files, destination, staging)
    staging_policy = None
    if staging.owner_account != role_owner:
        staging_policy = PolicyDocument(
            "bucket-policy",
            f"s3://{staging.name}" + _owner(staging),
            "the staging bucket's owner attaches this (merge with the existing bucket policy)",
            tuple(_granted(s, role) for s in role_statements[:1]),
        )
    dest_policy = None
    if destination.owner_account and destination.owner_account != role_owner:
        dest_policy = PolicyDocument(
            "bucket-policy",
            f"s3://{destination.name}" + _owner(destination),
            "the destination owner attaches this: the role is in another account",
            tuple(_granted(s, role) for s in role_statements[1:4]),
        )
    if caller.account_id != role_owner:
        notes.append(
            f"jobs are created in account {role_owner} (the role's); the credential registered "
            f"for {destination.name} is {caller.display}: it must be a principal of account "
            f"{role_owner} (`aws-copy-pt bucket update {destination.name} --credentials C`)"
        )
    if destination.owner_account is None:
        notes.append(
            f"no --expected-owner is registered for {destination.name}: the role is assumed "
            f"to be in its account ({role_owner})"
        )
    return BatchPolicySet(
        role_arn=role_arn,
        caller=caller,
        trust_policy=_trust_policy(role_arn, role_owner),
        role_policy=PolicyDocument(
            "iam-policy",
            role_arn,
            "attach to the batch role (its permissions policy)",
            tuple(role_statements),
        ),
        caller_policy=_caller_policy(caller, role_arn, dest_arn, job_files, partition),
        staging_reader_policy=PolicyDocument(
            "iam-policy",
            f"the credential registered for {staging.name}",
            "attach to the credential that lists staging (identity policy)",
            (
                Statement(
                    "AwsCopyPtBatchPinVersions",
                    "ask whether staging is versioned and list the current version of each "
                    "object, so the job copies exactly what was planned",
                    ("s3:GetBucketVersioning", "s3:ListBucketVersions"),
                    (staging_arn,),
                ),
            ),
        ),
        staging_bucket_policy=staging_policy,
        destination_bucket_policy=dest_policy,
        key_policies=_key_policies(role, staging, destination),
        notes=tuple(notes),
    )


def _owner(bucket: PolicyBucket) -> str:
    return f" (account {bucket.owner_account})" if bucket.owner_account else ""


def _granted(statement: Statement, role: Principal) -> Statement:
    return Statement(
        statement.sid, statement.why, statement.actions, statement.resources, role.block()
    )


def _trust_policy(role_arn: str, account: str) -> PolicyDocument:
    statement = Statement(
        "AwsCopyPtBatchOperationsAssumesRole",
        "S3 Batch Operations assumes this role to run the copy jobs aws-copy-pt creates, only "
        f"for jobs of account {account}",
        ("sts:AssumeRole",),
        ("*",),
        {"Service": BATCH_SERVICE},
        {"StringEquals": {"aws:SourceAccount": account}},
    )
    return PolicyDocument(
        "trust-policy",
        role_arn,
        "the role's trust relationship (who may assume it)",
        (statement,),
    )


def _role_statements(
    staging_arn: str,
    dest_arn: str,
    job_files: str,
    destination: PolicyBucket,
    staging: PolicyBucket,
) -> list[Statement]:
    write = ["s3:PutObject"]
    why = "write each copy"
    if destination.acl:
        write.append("s3:PutObjectAcl")
        why += f" with the {destination.acl} ACL"
    write.append("s3:PutObjectTagging")
    why += " and its tags (the Globus task id, or the source's tags)"
    statements = [
        Statement(
            "AwsCopyPtBatchReadStaging",
            "read each staged object, the exact version the manifest names, and its tags",
            (
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetObjectTagging",
                "s3:GetObjectVersionTagging",
            ),
            (f"{staging_arn}/*",),
        ),
        Statement("AwsCopyPtBatchWriteCopies", why, tuple(write), (f"{dest_arn}/*",)),
        Statement(
            "AwsCopyPtBatchReadManifest",
            f"read the manifest aws-copy-pt uploads under {BATCH_FOLDER}/",
            ("s3:GetObject", "s3:GetObjectVersion"),
            (job_files,),
        ),
        Statement(
            "AwsCopyPtBatchWriteReport",
            f"write the completion report under {BATCH_FOLDER}/ (aws-copy-pt reads it back)",
            ("s3:PutObject",),
            (job_files,),
        ),
    ]
    for sid, bucket, actions, what in (
        ("DecryptStaging", staging, ("kms:Decrypt",), "read staged objects encrypted"),
        ("EncryptCopies", destination, ("kms:GenerateDataKey", "kms:Decrypt"), "encrypt copies"),
    ):
        if bucket.kms_key_arn:
            statements.append(
                Statement(
                    f"AwsCopyPtBatch{sid}",
                    f"{what} with the KMS key of {bucket.name}",
                    actions,
                    (bucket.kms_key_arn,),
                )
            )
    return statements


def _caller_policy(
    caller: Principal, role_arn: str, dest_arn: str, job_files: str, partition: str
) -> PolicyDocument:
    account = role_account(role_arn)
    statements = (
        Statement(
            "AwsCopyPtBatchJobs",
            "create the copy job, follow it (DescribeJob), confirm or cancel it "
            "(UpdateJobStatus: `transfers confirm` / `transfers cancel`)",
            ("s3:CreateJob", "s3:DescribeJob", "s3:UpdateJobStatus"),
            ("*",),
        ),
        Statement(
            "AwsCopyPtBatchPassRole",
            "hand the batch role to the job (CreateJob fails with AccessDenied without it)",
            ("iam:PassRole",),
            (role_arn,),
        ),
        Statement(
            "AwsCopyPtBatchJobFiles",
            f"upload each job's manifest and read its completion report under {BATCH_FOLDER}/",
            ("s3:PutObject", "s3:GetObject"),
            (job_files,),
        ),
        Statement(
            "AwsCopyPtBatchFindReport",
            "list the report prefix: the report's file names are found by listing",
            ("s3:ListBucket",),
            (dest_arn,),
        ),
    )
    return PolicyDocument(
        "iam-policy",
        f"{caller.display} (the job creator, in account {account})",
        f"attach to the credential that creates jobs (identity policy); jobs run in {partition} "
        f"account {account}",
        statements,
    )


def _key_policies(
    role: Principal, staging: PolicyBucket, destination: PolicyBucket
) -> tuple[PolicyDocument, ...]:
    documents = []
    for bucket, actions, what in (
        (staging, ("kms:Decrypt",), "decrypt staged objects"),
        (destination, ("kms:GenerateDataKey", "kms:Decrypt"), "encrypt copies"),
    ):
        if bucket.kms_key_arn and bucket.owner_account not in (None, role.account_id):
            statement = Statement(
                "AwsCopyPtBatchRoleUsesKey",
                f"let the batch role {what} of {bucket.name} with this key",
                actions,
                ("*",),  # in a key policy, "*" means this key
                role.block(),
            )
            documents.append(
                PolicyDocument(
                    "kms-key-policy-statements",
                    bucket.kms_key_arn,
                    "the key owner adds this statement to the key policy",
                    (statement,),
                )
            )
    return tuple(documents)
