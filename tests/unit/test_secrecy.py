"""The variables that may carry a secret are known, and kept from what we start."""

from __future__ import annotations

import re
from pathlib import Path

import aws_copy_pt
from aws_copy_pt.secrecy import SECRET_ENV_VARS, scrub_environment, without_secrets

SECRET_LOOKING = re.compile(r"AWS_COPY_PT_[A-Z_]*(?:SECRET|TOKEN|PASSWORD|PASSPHRASE)[A-Z_]*")


def test_every_secret_looking_variable_named_in_the_code_is_scrubbed() -> None:
    package = Path(aws_copy_pt.__file__).parent
    named = {
        name
        for source in package.rglob("*.py")
        for name in SECRET_LOOKING.findall(source.read_text())
    }
    assert named  # the scan finds the ones we know
    assert named <= SECRET_ENV_VARS


def test_an_environment_without_secrets_keeps_everything_else() -> None:
    env = {"PATH": "/bin", "AWS_COPY_PT_HOME": "/h", "AWS_COPY_PT_SMTP_PASSWORD": "pw"}
    assert without_secrets(env) == {"PATH": "/bin", "AWS_COPY_PT_HOME": "/h"}


def test_scrubbing_removes_the_secret_variables_in_place() -> None:
    env = {"AWS_COPY_PT_SECRET_ACCESS_KEY": "k", "AWS_COPY_PT_SESSION_TOKEN": "t", "HOME": "/u"}
    scrub_environment(env)
    assert env == {"HOME": "/u"}
