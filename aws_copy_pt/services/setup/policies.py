"""The policies a destination owner (and the staging side) must attach, from what is registered.

The copying principal is the credential registered for the destination bucket, as ``aws check``
identified it; the documents themselves are built by ``core.policy``.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.core.policy import PolicyBucket, PolicySet, build_policies, copier_principal
from aws_copy_pt.db.models import Bucket
from aws_copy_pt.errors import ConfigError, UsageError
from aws_copy_pt.services.setup.buckets import get_bucket


def policies_for(
    session: Session, destination: str, *, staging: str | None = None, delete_staging: bool = False
) -> PolicySet:
    """Policies for copies into ``destination`` (from ``staging``, or the one obvious bucket)."""
    dest = get_bucket(session, destination)
    credential = dest.credential
    if credential.account_id is None:
        raise ConfigError(
            f"the AWS account behind credential {credential.name!r} is not known yet, and the "
            "policy must name it",
            hint=f"run `aws-copy-pt aws check {credential.name}` first",
        )
    if staging == destination:
        raise UsageError(
            "--staging must be another bucket than --bucket",
            hint="--staging names the bucket Globus writes into, --bucket the destination",
        )
    notes: list[str] = []
    staging_row = get_bucket(session, staging) if staging else _only_other_bucket(session, dest)
    if staging is None and staging_row is not None:
        notes.append(
            f"staging bucket {staging_row.name} assumed: the only other bucket registered with "
            f"credential {credential.name} (choose another with --staging)"
        )
    principal = copier_principal(
        account_id=credential.account_id,
        caller_arn=credential.caller_arn,
        role_arn=credential.role_arn,
        region=dest.region,
    )
    policies = build_policies(
        _policy_bucket(dest),
        principal,
        staging=None if staging_row is None else _policy_bucket(staging_row),
        delete_staging=delete_staging,
    )
    return replace(policies, notes=(*notes, *policies.notes))


def _only_other_bucket(session: Session, dest: Bucket) -> Bucket | None:
    others = list(
        session.scalars(
            select(Bucket).where(Bucket.credential_id == dest.credential_id, Bucket.id != dest.id)
        )
    )
    return others[0] if len(others) == 1 else None


def _policy_bucket(row: Bucket) -> PolicyBucket:
    return PolicyBucket(
        name=row.name,
        region=row.region,
        owner_account=row.expected_owner,
        acl=row.acl,
        kms_key_arn=row.sse_kms_key_id,
        copies_tags=row.tagging_directive == "COPY",
    )
