"""The policies the batch engine needs, from what is registered (``policy --engine batch``).

The job creator is the credential registered for the destination bucket (as ``aws check``
identified it); the role is the one registered with ``bucket update --batch-role`` (or given on
the command line, to print the policies before registering it). The documents are built by
``core.batch_policy``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from aws_copy_pt.core.batch_engine import check_role_arn
from aws_copy_pt.core.batch_policy import BatchPolicySet, build_batch_policies
from aws_copy_pt.core.bucket_settings import partition_of
from aws_copy_pt.core.policy import PolicyBucket, copier_principal
from aws_copy_pt.db.models import Bucket
from aws_copy_pt.errors import ConfigError, UsageError
from aws_copy_pt.services.setup.buckets import get_bucket
from aws_copy_pt.services.setup.policies import policies_for


def batch_policies_for(
    session: Session,
    destination: str,
    *,
    staging: str | None = None,
    role_arn: str | None = None,
) -> BatchPolicySet:
    """Trust, role, job-creator, bucket and key policies for batch copies into ``destination``."""
    dest = get_bucket(session, destination)
    role = check_role_arn(role_arn) if role_arn else dest.batch_role_arn
    if role is None:
        raise UsageError(
            f"no batch role is registered for {destination}",
            hint=f"name the role to print its policies: `aws-copy-pt policy --engine batch "
            f"--bucket {destination} --batch-role arn:aws:iam::ACCOUNT:role/NAME`, then "
            f"register it with `aws-copy-pt bucket update {destination} --batch-role ARN`",
        )
    local = policies_for(session, destination, staging=staging)  # the same staging guess
    if local.staging is None:
        raise UsageError(
            "the batch policies need the staging bucket the job reads from",
            hint="add --staging BUCKET",
        )
    staging_row = get_bucket(session, local.staging.name)
    credential = dest.credential
    if credential.account_id is None:
        raise ConfigError(
            f"the AWS account behind credential {credential.name!r} is not known yet",
            hint=f"run `aws-copy-pt aws check {credential.name}` first",
        )
    caller = copier_principal(
        account_id=credential.account_id,
        caller_arn=credential.caller_arn,
        role_arn=credential.role_arn,
        region=dest.region,
    )
    policies = build_batch_policies(
        _policy_bucket(dest),
        _policy_bucket(staging_row),
        role_arn=role,
        caller=caller,
        partition=partition_of(dest.region),
    )
    return policies


def _policy_bucket(row: Bucket) -> PolicyBucket:
    return PolicyBucket(
        name=row.name,
        region=row.region,
        owner_account=row.expected_owner,
        acl=row.acl,
        kms_key_arn=row.sse_kms_key_id,
        copies_tags=row.tagging_directive == "COPY",
    )
