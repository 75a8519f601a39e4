"""The policies a destination owner (and the staging side) must attach, from what is registered.

The copying principal is the credential that will make the copies, as ``aws check`` identified
it: the registered destination's credential, or, for a destination not registered yet (its
owner has not granted access, so ``bucket add`` would be refused), the credential named, the
staging bucket's, or the only one there is. The documents themselves are built by
``core.policy``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.core.bucket_settings import (
    DEFAULT_ACL,
    check_account_id,
    check_bucket_name,
)
from aws_copy_pt.core.paths import PathError, normalize_prefix
from aws_copy_pt.core.policy import PolicyBucket, PolicySet, build_policies, copier_principal
from aws_copy_pt.db.models import AwsCredential, Bucket
from aws_copy_pt.errors import ConfigError, UsageError
from aws_copy_pt.services.setup.buckets import get_bucket
from aws_copy_pt.services.setup.credentials import get_credential


@dataclass(frozen=True)
class PolicyRequest:
    """What ``aws-copy-pt policy`` was asked (``--bucket``, ``--staging``, ...)."""

    destination: str
    staging: str | None = None
    delete_staging: bool = False
    prefix: str = ""  # grant only keys below it
    account: str | None = None  # the destination owner's account id
    credential: str | None = None  # who copies, for a destination not registered yet


def policies_for(
    session: Session, destination: str, *, staging: str | None = None, delete_staging: bool = False
) -> PolicySet:
    """Policies for copies into the registered ``destination`` (see :func:`build_for`)."""
    return build_for(
        session, PolicyRequest(destination, staging=staging, delete_staging=delete_staging)
    )


def build_for(session: Session, request: PolicyRequest) -> PolicySet:
    """Policies for copies into ``request.destination``, registered or not."""
    if request.staging == request.destination:
        raise UsageError(
            "--staging must be another bucket than --bucket",
            hint="--staging names the bucket Globus writes into, --bucket the destination",
        )
    prefix = _prefix(request.prefix)
    account = check_account_id(request.account)
    row = session.scalar(select(Bucket).where(Bucket.name == request.destination))
    notes: list[str] = []
    if row is not None:
        dest = replace(_policy_bucket(row), prefix=prefix, owner_account=_owner(row, account))
        credential = row.credential
        if request.credential and request.credential != credential.name:
            raise UsageError(
                f"{row.name} is registered with credential {credential.name}, which makes its "
                f"copies, not {request.credential}",
                hint="drop --credentials, or register the bucket again with the other one",
            )
    else:
        check_bucket_name(request.destination, None)
        credential = _copier(session, request)
        dest = PolicyBucket(
            request.destination, owner_account=account, acl=DEFAULT_ACL, prefix=prefix
        )
        notes.append(
            f"{request.destination} is not registered yet: this assumes the default copy "
            "settings (ACL bucket-owner-full-control, tags copied, no KMS key). Register it "
            f"with `aws-copy-pt bucket add {request.destination} --credentials {credential.name}"
            f"{f' --expected-owner {account}' if account else ''} --no-check`"
        )
    if credential.account_id is None:
        raise ConfigError(
            f"the AWS account behind credential {credential.name!r} is not known yet, and the "
            "policy must name it",
            hint=f"run `aws-copy-pt aws check {credential.name}` first",
        )
    staging_row = _staging(session, request, credential, row)
    if request.staging is None and staging_row is not None:
        notes.append(
            f"staging bucket {staging_row.name} assumed: the only other bucket registered with "
            f"credential {credential.name} (choose another with --staging)"
        )
    principal = copier_principal(
        account_id=credential.account_id,
        caller_arn=credential.caller_arn,
        role_arn=credential.role_arn,
        region=row.region if row is not None else None,
    )
    policies = build_policies(
        dest,
        principal,
        staging=None if staging_row is None else _policy_bucket(staging_row),
        delete_staging=request.delete_staging,
    )
    return replace(policies, notes=(*notes, *policies.notes))


def _prefix(text: str) -> str:
    try:
        return normalize_prefix(text)
    except PathError as exc:
        raise UsageError(str(exc), hint="give --prefix as a/b/, e.g. --prefix u/alice/") from None


def _owner(row: Bucket, account: str | None) -> str | None:
    if account and row.expected_owner and account != row.expected_owner:
        raise UsageError(
            f"{row.name} is registered as owned by account {row.expected_owner}, not {account}",
            hint="drop --account, or check which account owns the bucket",
        )
    return row.expected_owner or account


def _copier(session: Session, request: PolicyRequest) -> AwsCredential:
    """Who will copy into a destination not registered yet."""
    if request.credential:
        return get_credential(session, request.credential)
    if request.staging:
        return get_bucket(session, request.staging).credential
    credentials = list(session.scalars(select(AwsCredential)))
    if len(credentials) == 1:
        return credentials[0]
    if not credentials:
        raise ConfigError(
            "no AWS credential is registered yet, and the policy names the one that will copy",
            hint="register it first: `aws-copy-pt aws add NAME --profile P` (or "
            "--access-key-id ID), then run this again",
        )
    raise UsageError(
        f"{request.destination} is not registered, so the credential that will copy into it "
        "must be named",
        hint=f"add --credentials C (or --staging BUCKET), or register it first with "
        f"`aws-copy-pt bucket add {request.destination} --credentials C --no-check`",
    )


def _staging(
    session: Session, request: PolicyRequest, credential: AwsCredential, dest: Bucket | None
) -> Bucket | None:
    """The bucket named with ``--staging``, else the only other bucket of ``credential``."""
    if request.staging:
        return get_bucket(session, request.staging)
    query = select(Bucket).where(Bucket.credential_id == credential.id)
    if dest is not None:
        query = query.where(Bucket.id != dest.id)
    others = list(session.scalars(query))
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
