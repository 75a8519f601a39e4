"""`aws add|list|update|remove|check` against the local STS/S3 server, with two sandbox accounts."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.s3server import (
    DESTINATION_ACCOUNT_ID,
    STAGING_ACCOUNT_ID,
    MotoS3Server,
    SandboxAccounts,
    free_loopback_port,
)
from tests.fixtures.cli import CliResult, CliRunner, installed_script, isolated_env
from tests.functional.s3_registration import add_bucket, add_keys, secret_env, sts_env

if TYPE_CHECKING:
    from tests.fixtures.s3 import BucketFactory


def _stored(app_home: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(app_home / "aws-copy-pt.db") as db:
        return db.execute(query).fetchall()


def _listed(cli: CliRunner) -> dict[str, dict[str, object]]:
    result = cli("--json", "aws", "list").ok()
    return {c["name"]: c for c in json.loads(result.stdout)["credentials"]}


def _assert_no_secret(accounts: SandboxAccounts, *results: CliResult) -> None:
    secrets = [accounts.staging.secret_access_key, accounts.staging.session_token]
    for result in results:
        for secret in filter(None, secrets):
            assert secret not in result.stdout + result.stderr, result.explain()


def test_keys_with_the_secret_from_the_environment_are_checked_and_store_the_account_id(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts, app_home: Path
) -> None:
    added = add_keys(cli, s3_server, "staging", s3_accounts.staging).ok()
    assert STAGING_ACCOUNT_ID in added.stdout
    listed = _listed(cli)["staging"]
    assert listed["account_id"] == STAGING_ACCOUNT_ID
    assert str(listed["caller_arn"]).startswith(f"arn:aws:sts::{STAGING_ACCOUNT_ID}:assumed-role/")
    assert listed["kind"] == "keys" and listed["checked_at"]
    assert _stored(app_home, "SELECT secret_access_key, session_token FROM aws_credentials") == [
        (s3_accounts.staging.secret_access_key, s3_accounts.staging.session_token)
    ]


def test_secret_piped_to_the_installed_script_with_secret_stdin(
    cli_subprocess: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    staging = s3_accounts.staging
    env = {**sts_env(s3_server), "AWS_COPY_PT_SESSION_TOKEN": staging.session_token or ""}
    args = ("aws", "add", "piped", "--access-key-id", staging.access_key_id, "--secret-stdin")
    added = cli_subprocess(*args, env=env, input=staging.secret_access_key + "\n").ok()
    listed = cli_subprocess("--json", "aws", "list").ok()
    assert json.loads(listed.stdout)["credentials"][0]["account_id"] == STAGING_ACCOUNT_ID
    _assert_no_secret(s3_accounts, added, listed)


@pytest.mark.parametrize(
    "option", ["--secret-access-key", "--secret", "--aws-secret-access-key", "--session-token"]
)
def test_a_secret_on_the_command_line_is_refused_without_echoing_it(
    cli: CliRunner, s3_accounts: SandboxAccounts, app_home: Path, option: str
) -> None:
    staging = s3_accounts.staging
    result = cli(
        "aws", "add", "leaky", "--access-key-id", staging.access_key_id,
        f"{option}={staging.secret_access_key}",
    )  # fmt: skip
    result.fails(ExitCode.USAGE, says=f"refusing {option} on the command line")
    assert "`ps`" in result.stderr and "--secret-stdin" in result.stderr
    assert "AWS_COPY_PT_SECRET_ACCESS_KEY" in result.stderr
    _assert_no_secret(s3_accounts, result)
    assert _listed(cli) == {}


def test_no_secret_and_no_terminal_says_where_to_put_it(
    cli: CliRunner, s3_accounts: SandboxAccounts
) -> None:
    result = cli("aws", "add", "keys", "--access-key-id", s3_accounts.staging.access_key_id)
    result.fails(ExitCode.USAGE, says="no secret access key given")
    assert "--secret-stdin" in result.stderr


def test_profile_credential_stores_only_the_profile_name(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts, app_home: Path
) -> None:
    staging = s3_accounts.staging
    config = app_home.parent / "user-home" / "aws-config"
    config.write_text(
        "[profile globus-staging]\n"
        f"aws_access_key_id = {staging.access_key_id}\n"
        f"aws_secret_access_key = {staging.secret_access_key}\n"
        f"aws_session_token = {staging.session_token}\n"
    )
    cli("aws", "add", "prof", "--profile", "globus-staging", env=sts_env(s3_server)).ok()
    assert _listed(cli)["prof"]["account_id"] == STAGING_ACCOUNT_ID
    stored = _stored(
        app_home, "SELECT kind, profile, access_key_id, secret_access_key FROM aws_credentials"
    )
    assert stored == [("profile", "globus-staging", None, None)]


def test_an_undefined_profile_is_refused_with_how_to_define_it(
    cli: CliRunner, s3_server: MotoS3Server
) -> None:
    result = cli("aws", "add", "prof", "--profile", "nowhere", env=sts_env(s3_server))
    result.fails(ExitCode.CONFIG, says="AWS profile 'nowhere' of credential 'prof' is not defined")
    assert _listed(cli) == {}


def test_a_role_is_assumed_for_the_check_and_its_account_stored(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    role = f"arn:aws:iam::{DESTINATION_ACCOUNT_ID}:role/archive-writer"
    extra = ("--role-arn", role, "--external-id", "globus-42")
    add_keys(cli, s3_server, "writer", s3_accounts.staging, *extra).ok()
    listed = _listed(cli)["writer"]
    assert listed["account_id"] == DESTINATION_ACCOUNT_ID
    assert listed["role_arn"] == role and listed["external_id_set"] is True


def test_no_check_stores_offline_and_aws_check_fills_in_the_account(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    closed = {"AWS_ENDPOINT_URL_STS": f"http://127.0.0.1:{free_loopback_port()}"}
    env = {**closed, **secret_env(s3_accounts.staging)}
    key_id = s3_accounts.staging.access_key_id
    cli("aws", "add", "later", "--access-key-id", key_id, "--no-check", env=env).ok()
    assert _listed(cli)["later"]["account_id"] is None
    checked = cli("aws", "check", "later", env=sts_env(s3_server)).ok()
    assert STAGING_ACCOUNT_ID in checked.stdout
    assert _listed(cli)["later"]["account_id"] == STAGING_ACCOUNT_ID


def test_secrets_never_reach_output_json_or_debug_logs(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    results = [
        add_keys(cli, s3_server, "staging", s3_accounts.staging, "--no-check").ok(),
        cli("--debug", "-vv", "aws", "check", "staging").ok(),
        cli("--debug", "--json", "aws", "check", "staging").ok(),
        cli("--debug", "aws", "list").ok(),
        cli("--json", "aws", "list").ok(),
    ]
    _assert_no_secret(s3_accounts, *results)
    assert s3_accounts.staging.access_key_id not in results[-1].stdout  # only a masked form


def test_remove_is_refused_while_a_bucket_uses_the_credential(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
) -> None:
    add_keys(cli, s3_server, "staging", s3_accounts.staging).ok()
    bucket = bucket_factory(s3_accounts.staging)
    add_bucket(cli, s3_server, bucket, "staging").ok()
    refused = cli("aws", "remove", "staging")
    refused.fails(ExitCode.CONFIG, says=f"used by bucket(s) {bucket}")
    assert "bucket remove" in refused.stderr
    cli("bucket", "remove", bucket).ok()
    cli("aws", "remove", "staging").ok()
    assert _listed(cli) == {}


def test_names_must_be_unique_and_unknown_names_say_how_to_add_them(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    add_keys(cli, s3_server, "staging", s3_accounts.staging).ok()
    again = add_keys(cli, s3_server, "staging", s3_accounts.destination)
    again.fails(ExitCode.USAGE, says="already registered")
    cli("aws", "check", "nobody").fails(ExitCode.CONFIG, says="aws-copy-pt aws add nobody")
    cli("aws", "remove", "nobody").fails(ExitCode.CONFIG, says="no AWS credential named")


def test_update_stores_rotated_keys_and_the_buckets_using_them_keep_working(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    app_home: Path,
) -> None:
    add_keys(cli, s3_server, "staging", s3_accounts.staging).ok()
    bucket = bucket_factory(s3_accounts.staging)
    add_bucket(cli, s3_server, bucket, "staging").ok()
    rotated = s3_server.assume_account("staging", STAGING_ACCOUNT_ID)
    env = {**sts_env(s3_server), **secret_env(rotated)}
    updated = cli("aws", "update", "staging", "--access-key-id", rotated.access_key_id, env=env)
    assert STAGING_ACCOUNT_ID in updated.ok().stdout
    assert f"Buckets using it: {bucket}." in updated.stdout
    assert _stored(app_home, "SELECT access_key_id, secret_access_key FROM aws_credentials") == [
        (rotated.access_key_id, rotated.secret_access_key)
    ]
    assert (
        _listed(cli)["staging"]["access_key_id"]
        == f"{rotated.access_key_id[:4]}****" + (rotated.access_key_id[-4:])
    )
    checked = cli("bucket", "check", bucket, env=sts_env(s3_server)).ok()
    assert "reachable" in checked.stdout
    for result in (updated, checked):
        for secret in (rotated.secret_access_key, rotated.session_token):
            assert secret and secret not in result.stdout + result.stderr


def test_update_refuses_keys_of_another_account_unless_told_not_to_check(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts, app_home: Path
) -> None:
    add_keys(cli, s3_server, "staging", s3_accounts.staging).ok()
    other = s3_accounts.destination
    env = {**sts_env(s3_server), **secret_env(other)}
    args = ("aws", "update", "staging", "--access-key-id", other.access_key_id)
    refused = cli(*args, env=env)
    refused.fails(ExitCode.USAGE, says=f"belong to AWS account {DESTINATION_ACCOUNT_ID}")
    assert "nothing was changed" in refused.stderr and "--no-check" in refused.stderr
    query = "SELECT secret_access_key, account_id FROM aws_credentials"
    assert _stored(app_home, query) == [(s3_accounts.staging.secret_access_key, STAGING_ACCOUNT_ID)]
    cli(*args, "--no-check", env=env).ok()
    assert _stored(app_home, query) == [(other.secret_access_key, None)]


def test_update_keeps_the_role_unless_another_is_named(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    role = f"arn:aws:iam::{DESTINATION_ACCOUNT_ID}:role/archive-writer"
    add_keys(
        cli, s3_server, "writer", s3_accounts.staging, "--role-arn", role, "--external-id", "x-1"
    )
    rotated = s3_server.assume_account("staging", STAGING_ACCOUNT_ID)
    env = {**sts_env(s3_server), **secret_env(rotated)}
    cli("aws", "update", "writer", "--access-key-id", rotated.access_key_id, env=env).ok()
    listed = _listed(cli)["writer"]
    assert listed["role_arn"] == role and listed["external_id_set"] is True
    assert listed["account_id"] == DESTINATION_ACCOUNT_ID  # checked through the role
    other = f"arn:aws:iam::{DESTINATION_ACCOUNT_ID}:role/another"
    args = ("aws", "update", "writer", "--access-key-id", rotated.access_key_id)
    cli(*args, "--role-arn", other, env=env).ok()
    listed = _listed(cli)["writer"]
    assert listed["role_arn"] == other and listed["external_id_set"] is False


def test_update_of_an_unknown_name_says_how_to_add_it_and_argv_secrets_are_refused(
    cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    staging = s3_accounts.staging
    env = {**sts_env(s3_server), **secret_env(staging)}
    args = ("aws", "update", "nobody", "--access-key-id", staging.access_key_id)
    cli(*args, env=env).fails(ExitCode.CONFIG, says="aws-copy-pt aws add nobody")
    asked = cli(*args)  # no secret given: the unknown name is what is wrong
    asked.fails(ExitCode.CONFIG, says="no AWS credential named 'nobody'")
    leaked = cli(*args, "--secret-access-key", staging.secret_access_key)
    leaked.fails(ExitCode.USAGE, says="refusing --secret-access-key on the command line")
    assert staging.secret_access_key not in leaked.stdout + leaked.stderr


def _read_until(fd: int, marker: bytes, *, within: float = 60.0) -> bytes:
    """Read a pty until ``marker`` shows up (or EOF), failing after ``within`` seconds."""
    seen = b""
    deadline = time.monotonic() + within
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} in {seen!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        try:
            chunk = os.read(fd, 4096) if ready else b""
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk and ready:
            break
        seen += chunk
    return seen


def test_the_secret_is_asked_at_a_hidden_prompt_on_a_terminal(
    s3_server: MotoS3Server, s3_accounts: SandboxAccounts, app_home: Path
) -> None:
    staging = s3_accounts.staging
    env = isolated_env(app_home, sts_env(s3_server))
    env["AWS_COPY_PT_SESSION_TOKEN"] = staging.session_token or ""
    argv = [installed_script(), "aws", "add", "typed", "--access-key-id", staging.access_key_id]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: runs aws-copy-pt with the pty as its controlling terminal
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    try:
        prompt = _read_until(terminal, b"Secret access key: ")
        os.write(terminal, staging.secret_access_key.encode() + b"\n")
        rest = _read_until(terminal, b"Next: ")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, (prompt + rest).decode()
    assert staging.secret_access_key.encode() not in prompt + rest  # not echoed
    assert STAGING_ACCOUNT_ID.encode() in rest
