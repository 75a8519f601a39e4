"""A credential whose AWS profile gives no keys: one error (CredentialUnusable, exit 6), worded
for a registered credential (`aws update` fixes it) or one being registered (nothing to update)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec
from aws_copy_pt.s3.errors import CredentialUnusable
from aws_copy_pt.s3.sts import caller_identity


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """AWS configuration files of our own (empty until a test writes them), nothing else."""
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("")
    credentials.write_text("")
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return credentials


def _identity_of(profile: str, *, stored: bool) -> CredentialUnusable:
    spec = CredentialSpec(key="lab2", kind="profile", profile=profile)
    with pytest.raises(CredentialUnusable) as caught:
        caller_identity(ClientFactory(), spec, stored=stored)
    return caught.value


def test_a_registered_credentials_undefined_profile_names_the_update_that_fixes_it(
    aws_files: Path,
) -> None:
    error = _identity_of("gone", stored=True)

    assert error.exit_code == ExitCode.CONFIG
    assert error.message == "AWS profile 'gone' of credential 'lab2' is not defined"
    assert "`aws-copy-pt aws update lab2 --profile P`" in (error.hint or "")


def test_a_credential_not_registered_yet_is_not_told_to_update_itself(aws_files: Path) -> None:
    error = _identity_of("gone", stored=False)

    assert "aws update" not in (error.hint or "")
    assert (error.hint or "").endswith("or name another profile")


def test_a_profile_with_half_a_key_pair_is_an_incomplete_pair(aws_files: Path) -> None:
    aws_files.write_text("[half]\naws_access_key_id = AKIAEXAMPLEEXAMPLE12\n")

    error = _identity_of("half", stored=True)

    assert error.message.startswith("AWS profile 'half' of credential 'lab2' holds an incomplete")
