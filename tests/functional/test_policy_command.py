"""`aws-copy-pt policy --bucket DEST`: policies built from what is registered and checked."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.s3server import (
    DESTINATION_ACCOUNT_ID,
    STAGING_ACCOUNT_ID,
    MotoS3Server,
    SandboxAccounts,
)
from tests.fixtures.cli import CliRunner
from tests.functional.s3_registration import add_bucket, add_keys

if TYPE_CHECKING:
    from tests.fixtures.s3 import BucketFactory

KEY_ARN = f"arn:aws:kms:eu-west-1:{DESTINATION_ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def registered(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
) -> tuple[str, str]:
    """Staging keys (checked), the staging bucket and a KMS-encrypted foreign destination."""
    add_keys(cli, s3_server, "staging", s3_accounts.staging).ok()
    staging = bucket_factory(s3_accounts.staging, prefix="staging")
    dest = bucket_factory(s3_accounts.destination, "eu-west-1", prefix="dest")
    add_bucket(cli, s3_server, staging, "staging").ok()
    extra = ("--expected-owner", DESTINATION_ACCOUNT_ID, "--sse-kms-key-id", KEY_ARN)
    add_bucket(cli, s3_server, dest, "staging", *extra).ok()
    return staging, dest


def _sids(section: dict[str, Any]) -> list[str]:
    return [s["Sid"] for s in section["document"]["Statement"]]


def test_json_policies_name_the_checked_principal_and_the_registered_buckets(
    cli: CliRunner, registered: tuple[str, str]
) -> None:
    staging, dest = registered
    result = cli("--json", "policy", "--bucket", dest, "--staging", staging, "--delete-staging")
    data = json.loads(result.ok().stdout)
    assert (data["destination_bucket"], data["staging_bucket"]) == (dest, staging)
    assert data["principal"]["account_id"] == STAGING_ACCOUNT_ID
    bucket_policy = data["bucket_policy"]
    assert bucket_policy["attach_to"] == f"s3://{dest} (account {DESTINATION_ACCOUNT_ID})"
    for statement in bucket_policy["document"]["Statement"]:
        assert statement["Principal"] == data["principal"]["policy_principal"]
        assert f"arn:aws:s3:::{dest}" in json.dumps(statement["Resource"])
    assert set(bucket_policy["explanations"]) == set(_sids(bucket_policy))
    iam = json.dumps(data["iam_policy"]["document"])
    assert f"arn:aws:s3:::{staging}/*" in iam and "s3:DeleteObject" in iam
    assert KEY_ARN in iam and "kms:GenerateDataKey" in iam
    assert data["kms_key_policy"]["attach_to"] == KEY_ARN


def test_human_output_explains_every_statement_beside_pasteable_json(
    cli: CliRunner, registered: tuple[str, str]
) -> None:
    staging, dest = registered
    data = json.loads(cli("--json", "policy", "--bucket", dest).ok().stdout)
    text = cli("policy", "--bucket", dest).ok().stdout
    assert f"1. Bucket policy for s3://{dest}" in text
    assert "2. IAM policy for " in text and "3. KMS key policy statement for " in text
    for section in ("bucket_policy", "iam_policy", "kms_key_policy"):
        for sid, why in data[section]["explanations"].items():
            assert f"- {sid}: {why}" in text
    first_json = text[text.index("{") : text.index("\n}\n") + 2]
    assert json.loads(first_json) == data["bucket_policy"]["document"]
    assert f"staging bucket {staging} assumed" in text  # the only other bucket of "staging"


def test_policy_needs_the_account_that_aws_check_finds(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    add_keys(cli, s3_server, "unchecked", s3_accounts.staging, "--no-check").ok()
    add_bucket(cli, s3_server, "archive-dest", "unchecked", "--no-check").ok()
    result = cli("policy", "--bucket", "archive-dest")
    result.fails(ExitCode.CONFIG, says="the AWS account behind credential 'unchecked'")
    assert "aws-copy-pt aws check unchecked" in result.stderr


def test_policy_before_any_credential_says_to_register_the_copying_one(cli: CliRunner) -> None:
    result = cli("policy", "--bucket", "archive-dest")
    result.fails(ExitCode.CONFIG, says="no AWS credential is registered yet")
    assert "aws-copy-pt aws add NAME --profile P" in result.stderr
