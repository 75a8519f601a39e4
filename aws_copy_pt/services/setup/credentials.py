"""Registered AWS credentials: a profile reference or stored keys, optionally plus a role.

A profile credential stores only the profile's name (the secret stays in ~/.aws). A keys
credential stores the access key id and the secret in the private database; the secret is
registered with the log redactor the moment it is handled and never leaves this module in a
return value. ``check`` asks STS who the credential is and remembers the account id and caller
ARN, which ``aws-copy-pt policy`` needs to name the principal.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.db.models import AwsCredential, Bucket
from aws_copy_pt.errors import (
    AwsCopyPtError,
    ConfigError,
    NotFoundError,
    RemoteError,
    UsageError,
)
from aws_copy_pt.log import register_secret

if TYPE_CHECKING:
    from aws_copy_pt.s3.clients import ClientFactory

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ACCESS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_BAD_KEYS = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}


@dataclass(frozen=True)
class NewCredential:
    """What ``aws add`` was given. Exactly one of ``profile`` / ``access_key_id``."""

    name: str
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    role_arn: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class CredentialInfo:
    """A credential as shown to people and scripts: never the secret or the session token."""

    name: str
    kind: str
    profile: str | None
    access_key_id: str | None  # masked: first and last four characters
    role_arn: str | None
    external_id_set: bool
    account_id: str | None
    caller_arn: str | None
    checked_at: datetime | None
    created_at: datetime
    buckets: tuple[str, ...]


def get_credential(session: Session, name: str) -> AwsCredential:
    """The registered credential ``name``, or a NotFoundError saying how to add it."""
    row = session.scalar(select(AwsCredential).where(AwsCredential.name == name))
    if row is None:
        raise NotFoundError(
            f"no AWS credential named {name!r} is registered",
            hint=f"add it with `aws-copy-pt aws add {name} --profile P` "
            f"(or --access-key-id ID); `aws-copy-pt aws list` shows what exists",
        )
    return row


def add_credential(
    session: Session, new: NewCredential, *, verify_with: ClientFactory | None
) -> CredentialInfo:
    """Validate and store a credential; with ``verify_with``, ask STS first and keep the answer.

    A credential that STS refuses is not stored (register it anyway by passing None).
    """
    row = _checked_row(new)
    if session.scalar(select(AwsCredential.id).where(AwsCredential.name == new.name)):
        raise UsageError(
            f"an AWS credential named {new.name!r} is already registered",
            hint=f"pick another name; to give {new.name!r} new keys or another profile, use "
            f"`aws-copy-pt aws update {new.name}`",
        )
    if verify_with is not None:
        _record_identity(row, verify_with)
    session.add(row)
    session.flush()
    log.info("registered AWS credential %s (%s)", row.name, row.kind)
    return describe(session, row)


def update_credential(
    session: Session, new: NewCredential, *, verify_with: ClientFactory | None
) -> CredentialInfo:
    """Replace how credential ``new.name`` signs in (rotated keys, another profile), keeping
    its name, so the buckets registered with it keep working.

    The role and external id stay unless ``new`` names a role. With ``verify_with`` STS is
    asked first: keys it refuses, or keys of another AWS account than the one recorded, change
    nothing. Without it the recorded account is cleared (``aws check`` records it again).
    """
    row = get_credential(session, new.name)
    role_arn = new.role_arn or row.role_arn
    external_id = new.external_id if (new.role_arn or new.external_id) else row.external_id
    candidate = _checked_row(replace(new, role_arn=role_arn, external_id=external_id))
    if verify_with is not None:
        verify_with.forget(row.name)  # its cached session signs with the old keys
        try:
            _record_identity(candidate, verify_with)
            _refuse_other_account(session, row, candidate)
        except BaseException:
            verify_with.forget(row.name)  # nor with the refused ones
            raise
    for column in (
        "kind",
        "profile",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "role_arn",
        "external_id",
        "account_id",
        "caller_arn",
        "checked_at",
    ):
        setattr(row, column, getattr(candidate, column))
    log.info("updated AWS credential %s (%s)", row.name, row.kind)
    return describe(session, row)


def _checked_row(new: NewCredential) -> AwsCredential:
    """``new`` validated, its secrets registered for redaction, as a row not yet stored."""
    _validate(new)
    register_secret(new.secret_access_key)
    register_secret(new.session_token)
    return AwsCredential(
        name=new.name,
        kind="profile" if new.profile else "keys",
        profile=new.profile,
        access_key_id=new.access_key_id,
        secret_access_key=new.secret_access_key,
        session_token=new.session_token,
        role_arn=new.role_arn,
        external_id=new.external_id,
    )


def _refuse_other_account(session: Session, row: AwsCredential, new: AwsCredential) -> None:
    if not row.account_id or new.account_id == row.account_id:
        return
    users = ", ".join(_bucket_names(session, row)) or "no bucket yet"
    raise UsageError(
        f"the new credentials belong to AWS account {new.account_id}, but credential "
        f"{row.name!r} is account {row.account_id} (used by: {users}); nothing was changed",
        hint="register them under a new name with `aws-copy-pt aws add`; to switch "
        f"{row.name!r} to the other account anyway, update it with --no-check",
    )


def list_credentials(session: Session) -> list[CredentialInfo]:
    rows = session.scalars(select(AwsCredential).order_by(AwsCredential.name))
    return [describe(session, row) for row in rows]


def remove_credential(session: Session, name: str) -> None:
    """Forget a credential; refused while a registered bucket still uses it."""
    row = get_credential(session, name)
    users = _bucket_names(session, row)
    if users:
        raise ConfigError(
            f"AWS credential {name!r} is used by bucket(s) {', '.join(users)}",
            hint=f"to replace its keys, use `aws-copy-pt aws update {name}` instead; "
            "to forget it, remove those buckets first (`aws-copy-pt bucket remove NAME`)",
        )
    session.delete(row)
    log.info("removed AWS credential %s", name)


def check_credential(session: Session, factory: ClientFactory, name: str) -> CredentialInfo:
    """STS GetCallerIdentity as this credential; stores the account id and caller ARN."""
    row = get_credential(session, name)
    factory.forget(row.name)
    _record_identity(row, factory)
    return describe(session, row)


def describe(session: Session, row: AwsCredential) -> CredentialInfo:
    return CredentialInfo(
        name=row.name,
        kind=row.kind,
        profile=row.profile,
        access_key_id=mask_key_id(row.access_key_id),
        role_arn=row.role_arn,
        external_id_set=bool(row.external_id),
        account_id=row.account_id,
        caller_arn=row.caller_arn,
        checked_at=row.checked_at,
        created_at=row.created_at,
        buckets=tuple(_bucket_names(session, row)),
    )


def mask_key_id(key_id: str | None) -> str | None:
    if not key_id:
        return None
    return f"{key_id[:4]}****{key_id[-4:]}"


def _bucket_names(session: Session, row: AwsCredential) -> list[str]:
    if row.id is None:
        return []
    query = select(Bucket.name).where(Bucket.credential_id == row.id).order_by(Bucket.name)
    return list(session.scalars(query))


def _validate(new: NewCredential) -> None:
    if not _NAME.match(new.name):
        raise UsageError(
            f"{new.name!r} is not a usable credential name",
            hint="use letters, digits, '.', '_' or '-' (e.g. staging-keys)",
        )
    if bool(new.profile) == bool(new.access_key_id):
        raise UsageError(
            "give either --profile P or --access-key-id ID (exactly one)",
            hint="e.g. --profile staging, or --access-key-id AKIA... with the secret from the "
            "hidden prompt, AWS_COPY_PT_SECRET_ACCESS_KEY or --secret-stdin",
        )
    if new.access_key_id is not None:
        if not _ACCESS_KEY_ID.match(new.access_key_id):
            raise UsageError(
                "--access-key-id does not look like an AWS access key id",
                hint="it is the AKIA... (or ASIA...) identifier, not the secret",
            )
        if not new.secret_access_key:
            raise UsageError(
                "the secret access key is missing or empty",
                hint="give it through the prompt, AWS_COPY_PT_SECRET_ACCESS_KEY or --secret-stdin",
            )
    if new.role_arn is not None and not _ROLE_ARN.match(new.role_arn):
        raise UsageError(
            f"--role-arn {new.role_arn!r} is not an IAM role ARN",
            hint="e.g. arn:aws:iam::111111111111:role/aws-copy-pt",
        )
    if new.external_id is not None:
        if new.role_arn is None:
            raise UsageError(
                "--external-id only makes sense with --role-arn",
                hint="add --role-arn ARN of the role whose trust policy wants the external id",
            )
        if not _EXTERNAL_ID.match(new.external_id):
            raise UsageError(
                "--external-id is not a valid external id",
                hint="2-1224 characters: letters, digits and +=,.@:/-",
            )


def _record_identity(row: AwsCredential, factory: ClientFactory) -> None:
    """Ask STS who ``row`` is (assuming its role if it has one) and store the answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    from aws_copy_pt.s3.clients import CredentialSpec
    from aws_copy_pt.s3.errors import CredentialUnusable

    spec = CredentialSpec.from_row(row)
    try:
        identity = factory.sts(spec).get_caller_identity()
    except CredentialUnusable as exc:
        if row.id is None:
            exc.not_registered_yet()
        raise
    except (BotoCoreError, ClientError) as exc:
        raise sts_error(exc, row) from exc
    row.account_id = identity["Account"]
    row.caller_arn = identity["Arn"]
    row.checked_at = datetime.now(UTC)
    log.info("credential %s is %s (account %s)", row.name, row.caller_arn, row.account_id)


def sts_error(exc: Exception, row: AwsCredential) -> AwsCopyPtError:
    """A user-facing error for a failed STS call (AssumeRole, GetCallerIdentity) as ``row``."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    from aws_copy_pt.s3.errors import unusable_credential

    name = row.name
    if isinstance(exc, ProfileNotFound | PartialCredentialsError | NoCredentialsError):
        cause = None if isinstance(exc, NoCredentialsError) else exc
        error = unusable_credential(cause, credential=name, profile=row.profile)
        if row.id is None:
            error.not_registered_yet()
        return error
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return RemoteError(
            f"cannot reach AWS STS to check credential {name!r}: {exc}",
            hint="check the network (and AWS_ENDPOINT_URL_STS if you set it)",
        )
    if isinstance(exc, ClientError):
        return _sts_client_error(exc, row)
    return RemoteError(f"checking credential {name!r} failed: {exc}")


def _sts_client_error(exc: Exception, row: AwsCredential) -> AwsCopyPtError:
    from aws_copy_pt.s3.errors import clock_skewed

    response = dict(getattr(exc, "response", {}))
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    operation = str(getattr(exc, "operation_name", "GetCallerIdentity"))
    if clock_skewed(code, message, response):
        return RemoteError(
            f"AWS refused credential {row.name!r}: this machine's clock is off by too much",
            hint="sync the clock (e.g. `chronyc makestep` or ask the admins to fix NTP)",
        )
    stored = row.id is not None  # `aws check`; not yet for `aws add` and `aws update`
    if code in _BAD_KEYS:
        hint = "check the access key id and secret"
        if stored:
            hint += f"; store new ones with `aws-copy-pt aws update {row.name} --access-key-id ID`"
        return UsageError(
            f"AWS does not accept the keys of credential {row.name!r} ({code})", hint=hint
        )
    if code in _EXPIRED:
        instead = f"`aws-copy-pt aws update {row.name} --profile P`" if stored else "instead"
        return UsageError(
            f"the session token of credential {row.name!r} has expired",
            hint=f"temporary keys do not last: use a profile or long-term keys {instead}",
        )
    if operation == "AssumeRole":
        return RemoteError(
            f"credential {row.name!r} may not assume {row.role_arn}: {code}: {message}",
            hint="the role's trust policy must allow this principal (and the external id, "
            "if one is set)",
        )
    return RemoteError(f"STS {operation} as credential {row.name!r} failed: {code}: {message}")
