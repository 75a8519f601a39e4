"""Registering the sandbox accounts' credentials and buckets the way a user does (the CLI).

The "keys" are the STS-assumed credentials of the sandbox accounts; STS itself is the moto
server, reached through boto3's own ``AWS_ENDPOINT_URL_STS`` variable.
"""

from __future__ import annotations

from aws_copy_pt.sandbox.s3server import Account, MotoS3Server
from tests.fixtures.cli import CliResult, CliRunner


def sts_env(server: MotoS3Server) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL_STS": server.endpoint_url}


def secret_env(account: Account) -> dict[str, str]:
    """The secret (and session token) of ``account`` as the CLI reads them from the environment."""
    env = {"AWS_COPY_PT_SECRET_ACCESS_KEY": account.secret_access_key}
    if account.session_token:
        env["AWS_COPY_PT_SESSION_TOKEN"] = account.session_token
    return env


def add_keys(
    cli: CliRunner, server: MotoS3Server, name: str, account: Account, *extra: str
) -> CliResult:
    """`aws add NAME --access-key-id ...` with the secret from the environment."""
    env = {**sts_env(server), **secret_env(account)}
    return cli("aws", "add", name, "--access-key-id", account.access_key_id, *extra, env=env)


def add_bucket(
    cli: CliRunner, server: MotoS3Server, bucket: str, credential: str, *extra: str
) -> CliResult:
    """`bucket add BUCKET --credentials C --endpoint-url <moto>`."""
    return cli(
        "bucket",
        "add",
        bucket,
        "--credentials",
        credential,
        "--endpoint-url",
        server.endpoint_url,
        *extra,
        env=sts_env(server),
    )
