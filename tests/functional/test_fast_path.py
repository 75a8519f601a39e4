"""The fast path (awscrt) against real servers: what it sends, what it reads, when boto3 takes over.

`rclone serve s3` checks every signature, so a request it accepts was signed right. A fault proxy
in front of it records which client sent each request (the CRT's carry ``aws-copy-pt/... fast``)
and plays the error answers S3 gives, so the fast path and boto3 can be held to one answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from aws_copy_pt.core.provenance import provenance_in, provenance_metadata
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.s3 import crt
from aws_copy_pt.s3.clients import FrozenKeys, LazyS3, StaticKeys, s3_config
from aws_copy_pt.s3.copier import head_from_answer
from aws_copy_pt.s3.environment import FAST_PATH_VARIABLE
from aws_copy_pt.s3.errors import translate
from aws_copy_pt.s3.fast import FastS3
from aws_copy_pt.sandbox.s3server import Account, MotoS3Server, RcloneS3Server, unique_bucket_name
from tests.fixtures.cli import CliRunner
from tests.fixtures.s3 import BucketFactory
from tests.support.faultproxy import Answer, FaultProxy, matching


def no_client() -> LazyS3:
    def build() -> Any:
        raise AssertionError("the fast path built a boto3 client")

    return LazyS3(build, lambda: None)


def fast_s3(endpoint_url: str, account: Account, *, ca_file: str | None = None) -> FastS3:
    keys = StaticKeys(
        FrozenKeys(account.access_key_id, account.secret_access_key, account.session_token)
    )
    return FastS3(no_client(), keys, endpoint_url=endpoint_url, region="us-east-1", ca_file=ca_file)


def boto3_s3(endpoint_url: str, account: Account) -> Any:
    return boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        config=s3_config(endpoint_url).merge(
            boto3.session.Config(retries={"mode": "standard", "max_attempts": 1})
        ),
    )


@pytest.fixture
def rclone_proxy(rclone_s3_server: RcloneS3Server) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's `rclone serve s3`."""
    with FaultProxy(rclone_s3_server.endpoint_url) as proxy:
        yield proxy


def two_buckets(server: RcloneS3Server) -> tuple[str, str]:
    s3 = server.client(checksums="when_required")
    buckets = unique_bucket_name("fast-src"), unique_bucket_name("fast-dst")
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    return buckets


def test_a_verifying_server_accepts_fast_copies_heads_and_listings(
    rclone_s3_server: RcloneS3Server, rclone_proxy: FaultProxy
) -> None:
    server = rclone_s3_server
    source, dest = two_buckets(server)
    key = "dir/ü nicode+%#?.dat"
    s3 = server.client(checksums="when_required")
    etag = s3.put_object(Bucket=source, Key=key, Body=b"fast")["ETag"].strip('"')
    fast = fast_s3(rclone_proxy.endpoint_url, server.account)
    copied = fast.copy(
        {
            "Bucket": dest,
            "Key": key,
            "CopySource": {"Bucket": source, "Key": key},
            "CopySourceIfMatch": f'"{etag}"',
            "MetadataDirective": "REPLACE",
            "ContentType": "text/plain",
            "Metadata": {"globus-task-id": "t-1"},
            "Expires": datetime(2030, 1, 1),
        }
    )
    assert copied is not None and copied.etag == etag
    page = fast.list_objects(dest, prefix="dir/")
    assert page is not None and [(i["Key"], i["Size"]) for i in page.contents] == [(key, 4)]
    seen = fast.head(dest, key)
    assert seen is not None
    expected = s3.head_object(Bucket=dest, Key=key)
    assert head_from_answer(seen) == head_from_answer(expected)
    assert seen.get("Expires") == expected.get("Expires")
    operations = [(r.operation, r.fast, r.status) for r in rclone_proxy.records]
    assert operations == [
        ("CopyObject", True, 200),
        ("ListObjectsV2", True, 200),
        ("HeadObject", True, 200),
    ]


def test_a_fast_copy_names_the_staging_version_it_copied_and_a_fast_head_reads_its_record(
    s3_server: MotoS3Server, bucket_factory: BucketFactory
) -> None:
    account = s3_server.accounts().staging
    source, dest = bucket_factory(account, prefix="fast-ver"), bucket_factory(account)
    s3 = s3_server.client(account)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    staged = s3.put_object(Bucket=source, Key="v/a", Body=b"as delivered")
    record = provenance_metadata(head_from_answer(s3.head_object(Bucket=source, Key="v/a")).facts)
    with FaultProxy(s3_server.endpoint_url) as proxy:
        fast = fast_s3(proxy.endpoint_url, account)
        copied = fast.copy(
            {
                "Bucket": dest,
                "Key": "v/a",
                "CopySource": {"Bucket": source, "Key": "v/a"},
                "MetadataDirective": "REPLACE",
                "Metadata": record,
            }
        )
        seen = fast.head(dest, "v/a")
        sent = [(r.operation, r.fast, r.status) for r in proxy.records]
    for version in s3.list_object_versions(Bucket=source)["Versions"]:  # emptied version by version
        s3.delete_object(Bucket=source, Key=version["Key"], VersionId=version["VersionId"])
    assert copied is not None and copied.source_version == staged["VersionId"]
    assert seen is not None
    assert head_from_answer(seen).facts.copied_from == provenance_in(record)
    assert sent == [("CopyObject", True, 200), ("HeadObject", True, 200)]


def test_a_missing_object_is_botocores_404(
    rclone_s3_server: RcloneS3Server, rclone_proxy: FaultProxy
) -> None:
    _, dest = two_buckets(rclone_s3_server)
    fast = fast_s3(rclone_proxy.endpoint_url, rclone_s3_server.account)
    with pytest.raises(ClientError) as raised:
        fast.head(dest, "not/there")
    assert raised.value.response["Error"]["Code"] == "404"


SKEWED = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
ERROR_ANSWERS = {
    "access-denied": ("CopyObject", 403, "AccessDenied", "Access Denied", {}),
    "kms": ("CopyObject", 403, "AccessDenied", "not authorized to perform: kms:Decrypt", {}),
    "rejected-key": ("CopyObject", 403, "InvalidAccessKeyId", "The key does not exist", {}),
    "skewed-clock": ("CopyObject", 403, "RequestTimeTooSkewed", "too large", {}),
    "no-bucket": ("CopyObject", 404, "NoSuchBucket", "The bucket does not exist", {}),
    "changed-source": ("CopyObject", 412, "PreconditionFailed", "At least one", {}),
    "listing-denied": ("ListObjectsV2", 403, "AccessDenied", "Access Denied", {}),
    "head-denied": ("HeadObject", 403, "", "", {}),
    "head-skewed": ("HeadObject", 403, "", "", {"Date": SKEWED}),
}


@pytest.mark.parametrize("case", list(ERROR_ANSWERS))
def test_an_error_answer_reads_as_the_same_error_as_boto3s(
    rclone_s3_server: RcloneS3Server,
    rclone_proxy: FaultProxy,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crt, "RETRIES", crt.Retries(backoff_ms=1, max_backoff_s=1))
    operation, status, code, message, headers = ERROR_ANSWERS[case]
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    answer = Answer(status, list(headers.items()), body if code else b"")
    rclone_proxy.intercept(matching(operation), lambda _: answer)
    source, dest = two_buckets(rclone_s3_server)
    account = rclone_s3_server.account
    fast = fast_s3(rclone_proxy.endpoint_url, account)
    client = boto3_s3(rclone_proxy.endpoint_url, account)
    params: dict[str, Any] = {
        "Bucket": dest,
        "Key": "k",
        "CopySource": {"Bucket": source, "Key": "k"},
    }
    calls = {
        "CopyObject": (lambda: fast.copy(params), lambda: client.copy_object(**params)),
        "ListObjectsV2": (
            lambda: fast.list_objects(dest),
            lambda: client.list_objects_v2(Bucket=dest, Prefix="", EncodingType="url"),
        ),
        "HeadObject": (
            lambda: fast.head(dest, "k"),
            lambda: client.head_object(Bucket=dest, Key="k"),
        ),
    }
    errors = []
    for send in calls[operation]:
        with pytest.raises(ClientError) as raised:
            send()
        errors.append(raised.value)
    mine, botos = errors
    if code == "RequestTimeTooSkewed":  # the CRT retries it and keeps S3's message to itself
        assert mine.response["Error"]["Code"] == botos.response["Error"]["Code"]
    else:
        assert mine.response["Error"] == botos.response["Error"]
    assert (
        mine.response["ResponseMetadata"]["HTTPStatusCode"]
        == botos.response["ResponseMetadata"]["HTTPStatusCode"]
    )
    ours, theirs = (translate(e, operation=operation, bucket=dest, key="k") for e in errors)
    assert (type(ours), ours.message, ours.hint) == (type(theirs), theirs.message, theirs.hint)
    fast_tries = crt.RETRIES.attempts if code == "RequestTimeTooSkewed" else 1
    assert [r.fast for r in rclone_proxy.records] == [True] * fast_tries + [False]


def test_a_redirect_hands_the_principal_to_boto3(
    rclone_s3_server: RcloneS3Server, rclone_proxy: FaultProxy
) -> None:
    body = b"<Error><Code>PermanentRedirect</Code><Message>use the other one</Message></Error>"
    rclone_proxy.intercept(matching("ListObjectsV2"), lambda _: Answer(301, [], body))
    _, dest = two_buckets(rclone_s3_server)
    fast = fast_s3(rclone_proxy.endpoint_url, rclone_s3_server.account)
    assert fast.list_objects(dest) is None  # boto3 follows redirects; it sends from now on
    assert (
        fast.copy({"Bucket": dest, "Key": "k", "CopySource": {"Bucket": dest, "Key": "j"}}) is None
    )
    assert len(rclone_proxy.records) == 1


def test_requests_the_fast_path_cannot_write_are_left_to_boto3(
    rclone_s3_server: RcloneS3Server, rclone_proxy: FaultProxy
) -> None:
    _, dest = two_buckets(rclone_s3_server)
    fast = fast_s3(rclone_proxy.endpoint_url, rclone_s3_server.account)
    base = {"Bucket": dest, "Key": "k", "CopySource": {"Bucket": dest, "Key": "j"}}
    assert fast.copy({**base, "Metadata": {"note": "two\r\nx-amz-acl: public-read"}}) is None
    assert fast.copy({**base, "Metadata": {"note": "ünïcode"}}) is None
    assert fast.copy({**base, "Nonsense": 1}) is None
    assert fast.copy({**base, "CopySource": {"Bucket": dest, "Key": "j", "VersionId": "1"}}) is None
    assert rclone_proxy.records == []


def test_one_host_on_two_ports_gets_each_request_on_its_own_port(
    rclone_s3_server: RcloneS3Server,
) -> None:
    # awscrt 0.38.1 keys connections by host name alone; the transport keeps one client per port.
    _, dest = two_buckets(rclone_s3_server)
    account = rclone_s3_server.account
    with (
        FaultProxy(rclone_s3_server.endpoint_url) as one,
        FaultProxy(rclone_s3_server.endpoint_url) as two,
    ):
        for proxy in (one, two, one, two):
            assert fast_s3(proxy.endpoint_url, account).list_objects(dest) is not None
        assert (len(one.records), len(two.records)) == (2, 2)


def _registered_pair(
    cli: CliRunner, server: RcloneS3Server, source: tuple[str, str], dest: tuple[str, str], url: str
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
            "--endpoint-url", url, "--region", "us-east-1", "--no-check",
        ).ok()  # fmt: skip
    return buckets


@pytest.mark.parametrize("switch", [None, "0"], ids=["fast-path", "AWS_COPY_PT_FAST_PATH=0"])
def test_the_switch_sends_every_request_through_boto3(
    cli: CliRunner, rclone_s3_server: RcloneS3Server, rclone_proxy: FaultProxy, switch: str | None
) -> None:
    server = rclone_s3_server
    secret = server.account.secret_access_key
    pairs = ("one", secret), ("two", secret)
    source, dest = _registered_pair(cli, server, *pairs, rclone_proxy.endpoint_url)
    s3 = server.client(checksums="when_required")
    for name in ("a", "b", "c"):
        s3.put_object(Bucket=source, Key=f"d/{name}", Body=name.encode())
    env = {} if switch is None else {FAST_PATH_VARIABLE: switch}
    cli("copy", f"{source}/d", f"{dest}/d", env=env).ok()
    listed = s3.list_objects_v2(Bucket=dest)["Contents"]
    assert sorted(item["Key"] for item in listed) == ["d/a", "d/b", "d/c"]
    copies = [r for r in rclone_proxy.records if r.operation == "CopyObject"]
    assert len(copies) == 3
    if switch is None:
        assert all(r.fast for r in rclone_proxy.records)
    else:
        assert not any(r.fast for r in rclone_proxy.records)


def test_a_wrong_secret_is_named_as_such_and_aws_update_fixes_it(
    cli: CliRunner, rclone_s3_server: RcloneS3Server
) -> None:
    server = rclone_s3_server
    s3 = server.client(checksums="when_required")
    right = server.account.secret_access_key
    source, dest = _registered_pair(
        cli, server, ("good", right), ("bad", "not-the-secret"), server.endpoint_url
    )
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
    source, dest = _registered_pair(
        cli, server, ("lab", "not-the-secret"), ("archive", right), server.endpoint_url
    )
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
