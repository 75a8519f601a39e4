"""Who a credential is, from AWS STS, and what its failures mean for the user.

STS answers GetCallerIdentity (after AssumeRole, for a credential with a role); every botocore
failure on the way becomes one of our errors, naming the credential and the command that fixes
it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_copy_pt.errors import AwsCopyPtError, RemoteError, UsageError
from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec
from aws_copy_pt.s3.errors import CredentialUnusable, clock_skewed, unusable_credential

# STS's codes for keys that are wrong or deactivated, and for temporary keys that expired.
_BAD_KEYS = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}


@dataclass(frozen=True)
class CallerIdentity:
    account_id: str
    arn: str


def caller_identity(
    factory: ClientFactory, spec: CredentialSpec, *, stored: bool
) -> CallerIdentity:
    """Who ``spec`` is (its role assumed first, if it has one); see :func:`sts_error`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        identity = factory.sts(spec).get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        raise sts_error(exc, spec, stored=stored) from exc
    except AwsCopyPtError as exc:  # the session could not be built: worded as if registered
        if stored:
            raise
        if isinstance(exc, CredentialUnusable):
            exc.not_registered_yet()
            raise
        cause = exc.__cause__
        if isinstance(cause, BotoCoreError | ClientError):
            raise sts_error(cause, spec, stored=False) from cause
        raise
    return CallerIdentity(identity["Account"], identity["Arn"])


def sts_error(exc: Exception, spec: CredentialSpec, *, stored: bool) -> AwsCopyPtError:
    """A user-facing error for a failed STS call (AssumeRole, GetCallerIdentity) as ``spec``;
    ``stored``: the credential is registered already (hints may name commands that change it)."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    name = spec.key
    if isinstance(exc, ProfileNotFound | PartialCredentialsError | NoCredentialsError):
        cause = None if isinstance(exc, NoCredentialsError) else exc
        error = unusable_credential(cause, credential=name, profile=spec.profile)
        if not stored:
            error.not_registered_yet()
        return error
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return RemoteError(
            f"cannot reach AWS STS to check credential {name!r}: {exc}",
            hint="check the network (and AWS_ENDPOINT_URL_STS if you set it)",
        )
    if isinstance(exc, ClientError):
        return _sts_client_error(exc, spec, stored=stored)
    return RemoteError(f"checking credential {name!r} failed: {exc}")


def _sts_client_error(exc: Exception, spec: CredentialSpec, *, stored: bool) -> AwsCopyPtError:
    response = dict(getattr(exc, "response", {}))
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    operation = str(getattr(exc, "operation_name", "GetCallerIdentity"))
    if clock_skewed(code, message, response):
        return RemoteError(
            f"AWS refused credential {spec.key!r}: this machine's clock is off by too much",
            hint="sync the clock (e.g. `chronyc makestep` or ask the admins to fix NTP)",
        )
    if code in _BAD_KEYS:
        hint = "check the access key id and secret"
        if stored:
            hint += f"; store new ones with `aws-copy-pt aws update {spec.key} --access-key-id ID`"
        return UsageError(
            f"AWS does not accept the keys of credential {spec.key!r} ({code})", hint=hint
        )
    if code in _EXPIRED:
        instead = f"`aws-copy-pt aws update {spec.key} --profile P`" if stored else "instead"
        return UsageError(
            f"the session token of credential {spec.key!r} has expired",
            hint=f"temporary keys do not last: use a profile or long-term keys {instead}",
        )
    if operation == "AssumeRole":
        return RemoteError(
            f"credential {spec.key!r} may not assume {spec.role_arn}: {code}: {message}",
            hint="the role's trust policy must allow this principal (and the external id, "
            "if one is set)",
        )
    return RemoteError(f"STS {operation} as credential {spec.key!r} failed: {code}: {message}")
