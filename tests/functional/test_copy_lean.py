"""The lean request path against a server that checks signatures (`rclone serve s3`)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.s3.clients import FrozenKeys, LazyS3, StaticKeys, s3_config
from aws_copy_pt.s3.lean import LeanS3
from aws_copy_pt.sandbox.s3server import RcloneS3Server, unique_bucket_name
from tests.fixtures.cli import CliRunner


def lean_for(server: RcloneS3Server, secret: str) -> LeanS3:
    account = server.account
    client = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=secret,
        config=s3_config(server.endpoint_url),
    )
    credentials = Credentials(account.access_key_id, secret)
    return LeanS3(
        LazyS3.ready(client),
        credentials,
        timeout=10,
        endpoint_url=server.endpoint_url,
        region="us-east-1",
    )


def test_a_verifying_server_accepts_lean_copies_and_listings(
    rclone_s3_server: RcloneS3Server,
) -> None:
    server = rclone_s3_server
    s3 = server.client(checksums="when_required")
    source, dest = unique_bucket_name("lean-src"), unique_bucket_name("lean-dst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    key = "dir/ü nicode+%#?.dat"
    etag = s3.put_object(Bucket=source, Key=key, Body=b"lean")["ETag"].strip('"')
    lean = lean_for(server, server.account.secret_access_key)
    copied = lean.copy({"Bucket": dest, "Key": key, "CopySource": {"Bucket": source, "Key": key}})
    assert copied is not None and copied.etag == etag
    page = lean.list_objects(dest, prefix="dir/")
    assert page is not None and [(i["Key"], i["Size"]) for i in page.contents] == [(key, 4)]


def test_a_refused_signature_leaves_the_request_to_boto3(rclone_s3_server: RcloneS3Server) -> None:
    lean = lean_for(rclone_s3_server, "not-the-secret")
    assert lean.list_objects("any-bucket") is None


def test_a_custom_endpoint_is_reached_without_building_a_client(
    rclone_s3_server: RcloneS3Server,
) -> None:
    server = rclone_s3_server
    bucket = unique_bucket_name("lean-noclient")
    server.client(checksums="when_required").create_bucket(Bucket=bucket)

    def build() -> Any:
        raise AssertionError("the lean path built a boto3 client")

    account = server.account
    lean = LeanS3(
        LazyS3(build, lambda: None),
        StaticKeys(FrozenKeys(account.access_key_id, account.secret_access_key, None)),
        timeout=10,
        endpoint_url=server.endpoint_url,
        region="us-east-1",
    )
    page = lean.list_objects(bucket)
    assert page is not None and page.contents == []


def _registered_pair(
    cli: CliRunner, server: RcloneS3Server, source: tuple[str, str], dest: tuple[str, str]
) -> tuple[str, str]:
    """A new source and destination bucket, registered with credentials (name, secret) each."""
    buckets = unique_bucket_name("pair-src"), unique_bucket_name("pair-dst")
    for bucket, (credential, secret) in zip(buckets, (source, dest), strict=True):
        server.client(checksums="when_required").create_bucket(Bucket=bucket)
        env = {"AWS_COPY_PT_SECRET_ACCESS_KEY": secret}
        key_id = server.account.access_key_id
        cli("aws", "add", credential, "--access-key-id", key_id, "--no-check", env=env).ok()
        cli(
            "bucket", "add", bucket, "--credentials", credential,
            "--endpoint-url", server.endpoint_url, "--region", "us-east-1", "--no-check",
        ).ok()  # fmt: skip
    return buckets


def test_a_wrong_secret_is_named_as_such_and_aws_update_fixes_it(
    cli: CliRunner, rclone_s3_server: RcloneS3Server
) -> None:
    server = rclone_s3_server
    s3 = server.client(checksums="when_required")
    right = server.account.secret_access_key
    source, dest = _registered_pair(cli, server, ("good", right), ("bad", "not-the-secret"))
    for name in ("a", "b", "c"):
        s3.put_object(Bucket=source, Key=f"d/{name}", Body=name.encode())
    key_id = server.account.access_key_id
    result = cli("copy", f"{source}/d", f"{dest}/d")
    result.fails(ExitCode.USAGE, says=f"S3 rejected the credentials for bucket {dest}")
    assert "aws-copy-pt aws update bad --access-key-id ID" in result.stderr, result.explain()
    assert "Contents" not in s3.list_objects_v2(Bucket=dest)
    # The fix the hint names: store the right secret (no STS here), and the same copy resumes.
    env = {"AWS_COPY_PT_SECRET_ACCESS_KEY": server.account.secret_access_key}
    cli("aws", "update", "bad", "--access-key-id", key_id, "--no-check", env=env).ok()
    cli("copy", f"{source}/d", f"{dest}/d").ok()
    listed = s3.list_objects_v2(Bucket=dest)["Contents"]
    assert sorted(item["Key"] for item in listed) == ["d/a", "d/b", "d/c"]


@pytest.mark.parametrize("dry_run", [False, True], ids=["copy", "dry-run"])
def test_a_wrong_secret_for_the_source_names_the_source_credential(
    cli: CliRunner, rclone_s3_server: RcloneS3Server, dry_run: bool
) -> None:
    server = rclone_s3_server
    right = server.account.secret_access_key
    source, dest = _registered_pair(cli, server, ("lab", "not-the-secret"), ("archive", right))
    server.client(checksums="when_required").put_object(Bucket=source, Key="d/a", Body=b"a")
    result = cli("copy", f"{source}/d", f"{dest}/d", *(["--dry-run"] if dry_run else []))
    result.fails(ExitCode.USAGE, says=f"S3 rejected the credentials for bucket {source}")
    assert "aws-copy-pt aws update lab --access-key-id ID" in result.stderr, result.explain()


def test_checking_a_bucket_with_a_wrong_secret_says_so(
    cli: CliRunner, rclone_s3_server: RcloneS3Server
) -> None:
    server = rclone_s3_server
    bucket = unique_bucket_name("wrong-check")
    server.client(checksums="when_required").create_bucket(Bucket=bucket)
    env = {"AWS_COPY_PT_SECRET_ACCESS_KEY": "not-the-secret"}
    key_id = server.account.access_key_id
    cli("aws", "add", "oops", "--access-key-id", key_id, "--no-check", env=env).ok()
    result = cli(
        "bucket", "add", bucket, "--credentials", "oops",
        "--endpoint-url", server.endpoint_url, "--region", "us-east-1",
    )  # fmt: skip
    result.fails(ExitCode.USAGE, says=f"S3 rejected the credentials for bucket {bucket}")
    assert "aws-copy-pt aws update oops --access-key-id ID" in result.stderr, result.explain()
    assert "policy" not in result.stderr
