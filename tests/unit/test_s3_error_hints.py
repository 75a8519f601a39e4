"""What S3 error answers turn into: the message, the exit status and a next step to run."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.s3.clients import LazyS3
from aws_copy_pt.s3.copier import name_credential
from aws_copy_pt.s3.errors import (
    S3AccessDenied,
    S3CredentialsRejected,
    S3Unreachable,
    is_systemic,
    translate,
)


def _answer(code: str, status: int) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "CopyObject")  # type: ignore[arg-type]


def _client(credential: str | None) -> LazyS3:
    def build() -> object:
        raise AssertionError("no client is needed to name a credential")

    return LazyS3(build, lambda: None, credential=credential)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "code", ["SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken"]
)
def test_rejected_keys_are_a_credentials_error_not_a_missing_permission(code: str) -> None:
    error = translate(_answer(code, 403), operation="CopyObject", bucket="archive", key="a")
    assert isinstance(error, S3CredentialsRejected)
    assert error.exit_code == ExitCode.USAGE
    assert error.message == f"S3 rejected the credentials for s3://archive/a: {code}"
    assert "`aws-copy-pt bucket list` shows the credential of archive" in str(error.hint)
    assert "policy" not in str(error.hint)


def test_whoever_knows_the_bucket_s_credential_names_it_in_the_hint() -> None:
    error = translate(_answer("SignatureDoesNotMatch", 403), operation="CopyObject", bucket="b")
    name_credential(error, "other-bucket", _client("lab"))
    assert "NAME" in str(error.hint)  # not this bucket's credential: unchanged
    name_credential(error, "b", _client(None))
    assert "NAME" in str(error.hint)  # a client without a registered credential: unchanged
    name_credential(error, "b", _client("lab"))
    assert error.hint == (
        "if the keys of credential 'lab' were rotated or deactivated, store the new ones with "
        "`aws-copy-pt aws update lab --access-key-id ID`"
    )


def test_naming_leaves_other_errors_alone() -> None:
    error = translate(_answer("AccessDenied", 403), operation="CopyObject", bucket="b")
    hint = error.hint
    name_credential(error, "b", _client("lab"))
    assert isinstance(error, S3AccessDenied) and error.hint == hint


def test_a_wrong_region_names_the_bucket_to_check_again() -> None:
    error = translate(_answer("PermanentRedirect", 301), operation="ListObjectsV2", bucket="b")
    assert error.hint == "run `aws-copy-pt bucket check b` to detect the region again"


def _translated(code: str, status: int) -> BaseException:
    answer = _answer(code, status)
    error = translate(answer, operation="CopyObject", bucket="archive", key="a")
    error.__cause__ = answer
    return error


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDenied", 403),
        ("NoSuchBucket", 404),
        ("SignatureDoesNotMatch", 403),
        ("RequestTimeTooSkewed", 403),
        ("KMS.DisabledException", 400),
    ],
)
def test_failures_every_object_would_hit_are_systemic(code: str, status: int) -> None:
    assert is_systemic(_translated(code, status))


@pytest.mark.parametrize(("code", "status"), [("NoSuchKey", 404), ("PreconditionFailed", 412)])
def test_failures_of_one_object_are_not_systemic(code: str, status: int) -> None:
    assert not is_systemic(_translated(code, status))


def test_an_unreachable_endpoint_is_systemic() -> None:
    assert is_systemic(S3Unreachable("cannot reach the S3 endpoint"))
