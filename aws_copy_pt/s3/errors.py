"""Turn botocore failures into errors that say what happened and what to do next.

Every S3/STS call site wraps its failures with :func:`translate`, so the same AccessDenied or
clock-skew message reads the same wherever it happens. Messages name the operation, the bucket
and key, and (for permissions) the IAM action that is missing, pointing at ``aws-copy-pt policy``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from aws_copy_pt.errors import AwsCopyPtError, ConfigError, RemoteError, UsageError

# S3's codes for "these credentials are wrong": every request with them fails the same way.
CREDENTIALS_REJECTED = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
)

# S3's codes for failures every object of a copy would hit (the copy engine's breaker stops
# early on them); any ``KMS.`` code too.
SYSTEMIC_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "NoSuchBucket",
        "RequestTimeTooSkewed",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AllAccessDisabled",
    }
)

MAX_CLOCK_SKEW = timedelta(minutes=15)  # what AWS SigV4 tolerates

# Which IAM permission an S3 operation needs, for AccessDenied messages.
REQUIRED_ACTION = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "GetObjectAttributes": "s3:GetObject",
    "CopyObject": "s3:GetObject on the source and s3:PutObject on the destination",
    "UploadPartCopy": "s3:GetObject on the source and s3:PutObject on the destination",
    "CreateMultipartUpload": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "HeadBucket": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "PutObjectTagging": "s3:PutObjectTagging",
    "GetObjectTagging": "s3:GetObjectTagging",
}


class S3AccessDenied(RemoteError):
    """S3 refused the request for lack of a permission."""


class S3NotFound(RemoteError):
    """The bucket or object does not exist (or is not visible to these credentials)."""


class S3Unreachable(RemoteError):
    """The S3 endpoint could not be reached at all."""


class S3CredentialsRejected(UsageError):
    """S3 refused the keys themselves (wrong, deactivated or expired): no permission would help.

    The S3 layer knows the bucket but not the name of the credential registered for it; whoever
    does calls :meth:`name_credential`, so the hint gives a command to run as it is.
    """

    def __init__(self, message: str, *, bucket: str | None) -> None:
        super().__init__(message, hint=rejected_keys_hint(None, bucket))
        self.bucket = bucket

    def name_credential(self, credential: str) -> None:
        self.hint = rejected_keys_hint(credential, self.bucket)


class CredentialUnusable(ConfigError):
    """A registered credential cannot sign anything: its AWS profile is not defined, holds no
    keys or half a pair, or its keys could not be loaded (an expired SSO login...)."""

    def __init__(self, message: str, *, credential: str, fix: str) -> None:
        use_another = f"`aws-copy-pt aws update {credential} --profile P`"
        super().__init__(message, hint=f"{fix}; or use another profile: {use_another}")
        self.fix = fix

    def not_registered_yet(self) -> None:
        """`aws add` checks a credential before it exists: there is nothing to update yet."""
        self.hint = f"{self.fix}, or name another profile"


def unusable_credential(
    exc: BaseException | None, *, credential: str, profile: str | None
) -> CredentialUnusable:
    """Why the AWS profile of ``credential`` gives no keys (``exc`` None: it simply has none)."""
    from botocore.exceptions import PartialCredentialsError, ProfileNotFound

    which = f"AWS profile {profile!r} of credential {credential!r}"
    define = f"define it with `aws configure --profile {profile}` (AWS_CONFIG_FILE is honoured)"
    log_in = f"check ~/.aws/credentials, or log in first (`aws sso login --profile {profile}`)"
    if isinstance(exc, ProfileNotFound):
        return CredentialUnusable(f"{which} is not defined", credential=credential, fix=define)
    if isinstance(exc, PartialCredentialsError):
        message = f"{which} holds an incomplete key pair ({exc})"
        return CredentialUnusable(message, credential=credential, fix=define)
    if exc is None:
        message = f"{which} holds no usable credentials"
        return CredentialUnusable(message, credential=credential, fix=log_in)
    message = f"the keys of {which} could not be loaded: {exc}"
    return CredentialUnusable(message, credential=credential, fix=log_in)


def rejected_keys_hint(credential: str | None, bucket: str | None) -> str:
    """The next step when S3 refuses the keys of ``credential`` (used for ``bucket``)."""
    if credential is None:
        which = f"the credential of {bucket}" if bucket else "the credential"
        return (
            f"`aws-copy-pt bucket list` shows {which}; if its keys were rotated or deactivated, "
            "store the new ones with `aws-copy-pt aws update NAME --access-key-id ID`"
        )
    return (
        f"if the keys of credential {credential!r} were rotated or deactivated, store the new "
        f"ones with `aws-copy-pt aws update {credential} --access-key-id ID`"
    )


def _where(bucket: str | None, key: str | None) -> str:
    if bucket and key:
        return f"s3://{bucket}/{key}"
    if bucket:
        return f"bucket {bucket}"
    return "S3"


def translate(
    exc: BaseException,
    *,
    operation: str,
    bucket: str | None = None,
    key: str | None = None,
    policy_bucket: str | None = None,
) -> AwsCopyPtError:
    """A user-facing error for a botocore exception raised by ``operation``."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    where = _where(bucket, key)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return S3Unreachable(
            f"cannot reach the S3 endpoint for {where}: {exc}",
            hint="check the network and the bucket's --endpoint-url (`aws-copy-pt bucket list`)",
        )
    if isinstance(exc, ReadTimeoutError):
        return S3Unreachable(
            f"S3 did not answer {operation} on {where} in time",
            hint="it is retried on the next pass; check the endpoint if it keeps happening",
        )
    if isinstance(exc, ProfileNotFound):
        return ConfigError(
            f"AWS profile not found: {exc}", hint="check ~/.aws/config or `aws-copy-pt aws list`"
        )
    if isinstance(exc, NoCredentialsError):
        return ConfigError(
            "no AWS credentials could be found for this request",
            hint="register some with `aws-copy-pt aws add NAME --profile P`",
        )
    if isinstance(exc, ClientError):
        response = dict(exc.response)
        return _from_client_error(
            response, operation, where, bucket=bucket, policy_bucket=policy_bucket or bucket
        )
    return RemoteError(f"{operation} on {where} failed: {exc}")


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a ClientError (``AccessDenied``, ``404``...), else None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def clock_skewed(code: str, message: str, response: dict[str, Any]) -> bool:
    """S3 says RequestTimeTooSkewed; STS says "Signature expired"; a HEAD 403 has no body, so
    compare the server's Date header with our clock (AWS allows 15 minutes)."""
    if code == "RequestTimeTooSkewed" or message.startswith(
        ("Signature expired", "Signature not yet current")
    ):
        return True
    meta = response.get("ResponseMetadata", {})
    date = meta.get("HTTPHeaders", {}).get("date")
    if meta.get("HTTPStatusCode") != 403 or not date:
        return False
    try:
        server_time = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return False
    if server_time.tzinfo is None:
        return False
    return abs(datetime.now(UTC) - server_time) > MAX_CLOCK_SKEW


def _from_client_error(
    response: dict[str, Any],
    operation: str,
    where: str,
    *,
    bucket: str | None,
    policy_bucket: str | None,
) -> AwsCopyPtError:
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in {"NoSuchBucket"}:
        return S3NotFound(
            f"{where} does not exist ({operation})",
            hint="check the bucket name with `aws-copy-pt bucket list`",
        )
    if code in {"NoSuchKey", "404", "NotFound"}:
        return S3NotFound(
            f"{where} was not found ({operation}); it may have been deleted since it was staged",
            hint="re-run the Globus transfer for that file, then `aws-copy-pt transfers retry ID`",
        )
    if clock_skewed(code, message, response):
        return RemoteError(
            f"S3 refused {operation} on {where}: this machine's clock is off by too much",
            hint="sync the clock (e.g. `chronyc makestep` or ask the admins to fix NTP)",
        )
    if code in CREDENTIALS_REJECTED:  # a 403 too, but no permission would help
        return S3CredentialsRejected(
            f"S3 rejected the credentials for {where}: {code}", bucket=bucket
        )
    if code in {"KMS.AccessDeniedException", "KMS.DisabledException", "KMS.NotFoundException"} or (
        code == "AccessDenied" and "kms" in message.lower()
    ):
        return S3AccessDenied(
            f"KMS refused the key for {operation} on {where}: {message}",
            hint="the copy needs kms:Decrypt on the source key and kms:GenerateDataKey on the "
            "destination key (full key ARN); see `aws-copy-pt policy`",
        )
    if code in {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"} or status == 403:
        action = REQUIRED_ACTION.get(operation, "the matching s3: permission")
        policy = f" --bucket {policy_bucket}" if policy_bucket else ""
        return S3AccessDenied(
            f"access denied: {operation} on {where} needs {action}",
            hint=f"send the bucket owner the policy from `aws-copy-pt policy{policy}`",
        )
    if code in {"PermanentRedirect", "301", "AuthorizationHeaderMalformed", "IllegalLocation"}:
        return RemoteError(
            f"{where} is in another region than the one registered ({operation})",
            hint=f"run `aws-copy-pt bucket check {bucket or 'NAME'}` to detect the region again",
        )
    return RemoteError(f"{operation} on {where} failed: {code}: {message}")


def is_systemic(error: BaseException) -> bool:
    """Whether every object would fail as ``error`` did: unreachable, refused credentials or
    permissions, a skewed clock, a missing bucket (the S3 code decides, wherever it sits in the
    chain of causes)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, S3Unreachable):
            return True
        code = error_code(seen)
        if code is not None:
            return code in SYSTEMIC_CODES or code.startswith("KMS.")
        seen = seen.__cause__
    return isinstance(error, S3AccessDenied)
