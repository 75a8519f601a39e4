"""`bucket add|list|remove|check` against the local S3 server: two accounts, several regions.

Cross-account region discovery is the point: the staging account's credentials register the
destination account's buckets, and the region comes from HeadBucket, never GetBucketLocation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_copy_pt.core.bucket_settings import BucketRequest
from aws_copy_pt.db.engine import Database, open_database
from aws_copy_pt.db.models import Transfer
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.home.paths import Home
from aws_copy_pt.sandbox.s3server import (
    DESTINATION_ACCOUNT_ID,
    MotoS3Server,
    SandboxAccounts,
    free_loopback_port,
)
from aws_copy_pt.services.setup.buckets import get_bucket
from tests.fixtures.cli import CliRunner
from tests.functional.s3_registration import add_bucket, add_keys

if TYPE_CHECKING:
    from tests.fixtures.s3 import BucketFactory, S3ClientFor

KEY_ARN = f"arn:aws:kms:eu-west-1:{DESTINATION_ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def staging_keys(cli: CliRunner, s3_server: MotoS3Server, s3_accounts: SandboxAccounts) -> str:
    """The staging account's keys, registered and checked as credential "staging"."""
    add_keys(cli, s3_server, "staging", s3_accounts.staging).ok()
    return "staging"


@pytest.fixture
def database(app_home: Path, staging_keys: str) -> Iterator[Database]:
    """The same database the CLI wrote, for what no command shows (transfers, rows)."""
    db = open_database(Home(app_home))
    yield db
    db.close()


def _registered(cli: CliRunner) -> dict[str, dict[str, Any]]:
    result = cli("--json", "bucket", "list").ok()
    return {b["name"]: b for b in json.loads(result.stdout)["buckets"]}


def test_region_of_foreign_buckets_is_found_in_each_region(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    staging_keys: str,
) -> None:
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    names = {bucket_factory(s3_accounts.destination, region): region for region in regions}
    for name in names:
        added = add_bucket(cli, s3_server, name, staging_keys).ok()
        assert f"({names[name]} at {s3_server.endpoint_url}; reachable)" in added.stdout
    registered = _registered(cli)
    for name, region in names.items():
        assert registered[name]["region"] == region
        assert registered[name]["region_source"] == "auto"
        assert registered[name]["credential"] == staging_keys
    assert "GetBucketLocation" not in s3_server.log_text()
    assert "?location" not in s3_server.log_text()


def test_a_wrong_region_given_by_hand_is_refused_naming_the_right_one(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    staging_keys: str,
) -> None:
    name = bucket_factory(s3_accounts.destination, "eu-west-1")
    result = add_bucket(cli, s3_server, name, staging_keys, "--region", "us-west-2")
    result.fails(ExitCode.USAGE, says=f"bucket {name} is in eu-west-1, not in us-west-2")
    assert "--region eu-west-1" in result.stderr
    assert _registered(cli) == {}
    add_bucket(cli, s3_server, name, staging_keys, "--region", "eu-west-1").ok()
    assert _registered(cli)[name]["region_source"] == "manual"


def test_a_missing_bucket_is_refused_and_nothing_is_stored(
    cli: CliRunner, s3_server: MotoS3Server, staging_keys: str
) -> None:
    result = add_bucket(cli, s3_server, "no-such-bucket-4242", staging_keys)
    result.fails(ExitCode.REMOTE, says="bucket no-such-bucket-4242 does not exist")
    assert "HeadBucket answered 404" in result.stderr
    assert _registered(cli) == {}


def test_an_unreachable_endpoint_is_refused_and_nothing_is_stored(
    cli: CliRunner, staging_keys: str
) -> None:
    endpoint = f"http://127.0.0.1:{free_loopback_port()}"
    result = cli(
        "bucket", "add", "some-bucket", "--credentials", "staging", "--endpoint-url", endpoint
    )
    result.fails(ExitCode.REMOTE, says="cannot reach the S3 endpoint for bucket some-bucket")
    assert "--endpoint-url" in result.stderr
    assert _registered(cli) == {}


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--sse-kms-key-id", "alias/archive", "KMS alias 'alias/archive' refused"),
        (
            "--sse-kms-key-id",
            f"arn:aws:kms:eu-west-1:{DESTINATION_ACCOUNT_ID}:alias/archive",
            "KMS alias",
        ),
        ("--sse-kms-key-id", "1234abcd-12ab-34cd-56ef-1234567890ab", "bare KMS key id"),
        ("--sse", "aws:kms", "--sse aws:kms needs --sse-kms-key-id with the full key ARN"),
        ("--sse", "des", "unknown --sse 'des'"),
        ("--storage-class", "GLACIERX", "unknown storage class 'GLACIERX'"),
        ("--acl", "owner-full", "unknown ACL 'owner-full'"),
        ("--expected-owner", "2222", "'2222' is not an AWS account id"),
        ("--metadata-directive", "KEEP", "--metadata-directive must be COPY or REPLACE"),
        ("--region", "Europe", "--region 'Europe' is not a region name"),
        ("--endpoint-url", "minio.lab:9000", "is not an http(s) URL"),
    ],
)
def test_bad_settings_are_refused_before_any_request(
    cli: CliRunner, option: str, value: str, says: str
) -> None:
    # No credential is even registered: validation comes first, and explains the fix.
    result = cli("bucket", "add", "archive-dest", "--credentials", "staging", option, value)
    result.fails(ExitCode.USAGE, says=says)
    assert "next:" in result.stderr


def test_an_s3_url_instead_of_a_bucket_name_is_refused(cli: CliRunner) -> None:
    result = cli("bucket", "add", "s3://archive-dest/prefix", "--credentials", "staging")
    result.fails(ExitCode.USAGE, says="is not a valid bucket name")


def test_an_unknown_credential_says_how_to_add_it(cli: CliRunner, s3_server: MotoS3Server) -> None:
    result = add_bucket(cli, s3_server, "archive-dest", "nobody")
    result.fails(ExitCode.CONFIG, says="aws-copy-pt aws add nobody")


def test_copy_settings_with_a_full_kms_key_arn_are_stored_and_listed(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    staging_keys: str,
) -> None:
    name = bucket_factory(s3_accounts.destination, "eu-west-1")
    settings = (
        "--expected-owner", DESTINATION_ACCOUNT_ID, "--sse", "aws:kms", "--sse-kms-key-id",
        KEY_ARN, "--storage-class", "standard_ia", "--requester-pays", "--tagging-directive",
        "replace",
    )  # fmt: skip
    added = add_bucket(cli, s3_server, name, staging_keys, *settings).ok()
    assert f"KMS key: {KEY_ARN}" in added.stdout
    listed = _registered(cli)[name]
    assert listed["sse"] == "aws:kms" and listed["sse_kms_key_id"] == KEY_ARN
    assert listed["storage_class"] == "STANDARD_IA"
    assert listed["acl"] == "bucket-owner-full-control"
    assert listed["requester_pays"] is True
    assert (listed["metadata_directive"], listed["tagging_directive"]) == ("COPY", "REPLACE")
    assert listed["expected_owner"] == DESTINATION_ACCOUNT_ID
    table = cli("bucket", "list").ok().stdout
    assert name in table and "STANDARD_IA" in table and "SSE aws:kms" in table


def test_registered_offline_then_check_finds_the_real_region(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    staging_keys: str,
) -> None:
    name = bucket_factory(s3_accounts.destination, "eu-west-1")
    offline = ("--no-check", "--region", "us-west-2")
    added = add_bucket(cli, s3_server, name, staging_keys, *offline).ok()
    assert "not checked" in added.stdout
    checked = json.loads(cli("--json", "bucket", "check", name).ok().stdout)
    assert checked["previous_region"] == "us-west-2"
    assert checked["region_changed"] is True
    assert checked["bucket"]["region"] == "eu-west-1"
    assert checked["bucket"]["checked_at"]
    again = cli("bucket", "check", name).ok()
    assert "reachable, region eu-west-1." in again.stdout


def test_write_test_writes_a_marker_with_the_copy_settings_then_deletes_it(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    s3_client_for: S3ClientFor,
    staging_keys: str,
) -> None:
    name = bucket_factory(s3_accounts.destination, "eu-west-1")
    add_bucket(cli, s3_server, name, staging_keys).ok()
    result = cli("bucket", "check", name, "--write-test").ok()
    assert "Write test passed" in result.stdout
    listing = s3_client_for(s3_accounts.destination, "eu-west-1").list_objects_v2(Bucket=name)
    assert listing.get("KeyCount") == 0


def test_write_test_reports_a_marker_it_may_not_delete(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    s3_client_for: S3ClientFor,
    staging_keys: str,
) -> None:
    name = bucket_factory(s3_accounts.destination)
    owner = s3_client_for(s3_accounts.destination)
    deny_delete = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    owner.put_bucket_policy(Bucket=name, Policy=json.dumps(deny_delete))
    add_bucket(cli, s3_server, name, staging_keys).ok()
    result = json.loads(cli("--json", "bucket", "check", name, "--write-test").ok().stdout)
    assert result["write_test"] == "marker left"
    keys = [o["Key"] for o in owner.list_objects_v2(Bucket=name).get("Contents", [])]
    assert keys == [result["marker_key"]]
    owner.delete_bucket_policy(Bucket=name)  # let the fixture clean up


def test_remove_forgets_the_bucket_but_not_while_a_transfer_uses_it(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    staging_keys: str,
    database: Database,
) -> None:
    source, dest = bucket_factory(s3_accounts.staging), bucket_factory(s3_accounts.destination)
    for name in (source, dest):
        add_bucket(cli, s3_server, name, staging_keys).ok()
    with database.session() as session:
        transfer = Transfer(
            kind="direct",
            state="pending",
            source_bucket_id=get_bucket(session, source).id,
            dest_bucket_id=get_bucket(session, dest).id,
        )
        session.add(transfer)
        session.flush()
        transfer_id = transfer.id
    refused = cli("bucket", "remove", dest)
    refused.fails(
        ExitCode.CONFIG, says=f"bucket {dest!r} is still used by transfer(s) {transfer_id}"
    )
    with database.session() as session:
        session.delete(session.get(Transfer, transfer_id))
    cli("bucket", "remove", dest).ok()
    assert set(_registered(cli)) == {source}
    cli("bucket", "remove", dest).fails(ExitCode.CONFIG, says=f"bucket add {dest} --credentials")


def test_add_refuses_a_bucket_registered_twice(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    staging_keys: str,
) -> None:
    name = bucket_factory(s3_accounts.staging)
    add_bucket(cli, s3_server, name, staging_keys).ok()
    again = add_bucket(cli, s3_server, name, staging_keys, "--storage-class", "GLACIER")
    again.fails(ExitCode.USAGE, says="already registered")
    assert _registered(cli)[name]["storage_class"] is None


def test_bucket_request_defaults_match_the_cli_defaults() -> None:
    request = BucketRequest(name="b", credential="c")
    assert (request.region, request.acl) == ("auto", "bucket-owner-full-control")
    assert (request.metadata_directive, request.tagging_directive) == ("COPY", "COPY")


def test_a_kms_key_from_another_region_than_the_bucket_is_refused(
    cli: CliRunner, staging_keys: str
) -> None:
    offline_aws = ("--no-check", "--region", "us-east-1", "--sse-kms-key-id", KEY_ARN)
    result = cli("bucket", "add", "archive-dest", "--credentials", staging_keys, *offline_aws)
    result.fails(ExitCode.USAGE, says="the KMS key is in eu-west-1 but the bucket is in us-east-1")
    assert _registered(cli) == {}
