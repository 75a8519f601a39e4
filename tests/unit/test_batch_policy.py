"""`policy --engine batch`: trust, role permissions, the job creator's, and the bucket policies."""

from __future__ import annotations

from typing import Any

from aws_copy_pt.core.batch_policy import BATCH_SERVICE, build_batch_policies
from aws_copy_pt.core.policy import PolicyBucket, Principal

ROLE = "arn:aws:iam::222222222222:role/aws-copy-pt-batch"
CALLER = Principal("222222222222", arn="arn:aws:iam::222222222222:user/partner")
DEST = PolicyBucket(
    "archive", "eu-west-1", owner_account="222222222222", acl="bucket-owner-full-control"
)
STAGING = PolicyBucket("staging", "us-east-1", owner_account="111111111111")


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def test_the_role_trusts_s3_batch_operations_of_its_own_account_only() -> None:
    policies = build_batch_policies(DEST, STAGING, role_arn=ROLE, caller=CALLER)
    [trust] = policies.trust_policy.document()["Statement"]
    assert trust["Principal"] == {"Service": BATCH_SERVICE}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "222222222222"}}


def test_the_role_reads_staged_versions_writes_copies_and_reports_and_reads_manifests() -> None:
    policies = build_batch_policies(DEST, STAGING, role_arn=ROLE, caller=CALLER)
    statements = _statements(policies.role_policy.document())
    read = statements["AwsCopyPtBatchReadStaging"]
    assert "s3:GetObjectVersion" in read["Action"] and read["Resource"] == "arn:aws:s3:::staging/*"
    write = statements["AwsCopyPtBatchWriteCopies"]
    assert {"s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectTagging"} <= set(write["Action"])
    files = "arn:aws:s3:::archive/.aws-copy-pt-batch/*"
    assert statements["AwsCopyPtBatchReadManifest"]["Resource"] == files
    assert statements["AwsCopyPtBatchWriteReport"]["Resource"] == files


def test_the_job_creator_may_create_follow_and_update_jobs_and_pass_exactly_this_role() -> None:
    policies = build_batch_policies(DEST, STAGING, role_arn=ROLE, caller=CALLER)
    statements = _statements(policies.caller_policy.document())
    jobs = set(statements["AwsCopyPtBatchJobs"]["Action"])
    assert jobs == {"s3:CreateJob", "s3:DescribeJob", "s3:UpdateJobStatus"}
    assert statements["AwsCopyPtBatchPassRole"] == {
        "Sid": "AwsCopyPtBatchPassRole",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": ROLE,
    }


def test_the_staging_owner_grants_the_role_read_and_no_destination_policy_is_needed() -> None:
    policies = build_batch_policies(DEST, STAGING, role_arn=ROLE, caller=CALLER)
    assert policies.staging_bucket_policy is not None
    [grant] = policies.staging_bucket_policy.document()["Statement"]
    assert grant["Principal"] == {"AWS": ROLE}
    assert policies.destination_bucket_policy is None  # the role is in the bucket's account


def test_a_role_of_another_account_needs_the_destination_owners_grant_too() -> None:
    other = PolicyBucket("archive", "eu-west-1", owner_account="333333333333")
    policies = build_batch_policies(other, STAGING, role_arn=ROLE, caller=CALLER)
    assert policies.destination_bucket_policy is not None


def test_kms_keys_appear_in_the_role_policy_and_foreign_keys_get_key_policy_statements() -> None:
    key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    staging = PolicyBucket("staging", "us-east-1", owner_account="111111111111", kms_key_arn=key)
    policies = build_batch_policies(DEST, staging, role_arn=ROLE, caller=CALLER)
    statements = _statements(policies.role_policy.document())
    assert statements["AwsCopyPtBatchDecryptStaging"]["Resource"] == key
    [key_policy] = policies.key_policies
    assert key_policy.attach_to == key


def test_every_statement_is_explained_and_a_caller_of_another_account_is_warned() -> None:
    stranger = Principal("111111111111", arn="arn:aws:iam::111111111111:user/lab")
    policies = build_batch_policies(DEST, STAGING, role_arn=ROLE, caller=stranger)
    for document in policies.documents():
        assert all(why for why in document.explanations().values())
    assert any("must be a principal of account 222222222222" in note for note in policies.notes)


def test_the_staging_credential_may_list_versions_so_the_manifest_pins_them() -> None:
    policies = build_batch_policies(DEST, STAGING, role_arn=ROLE, caller=CALLER)
    [statement] = policies.staging_reader_policy.document()["Statement"]
    assert statement["Action"] == ["s3:GetBucketVersioning", "s3:ListBucketVersions"]
    assert statement["Resource"] == "arn:aws:s3:::staging"
