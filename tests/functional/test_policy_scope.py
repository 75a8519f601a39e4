"""`policy --prefix`: the printed policies allow every request a copy below the prefix sends.

moto enforces no policy, so every request the product sends passes through the fault proxy,
and each is checked against the printed documents (tests/support/iam.py): the IAM policy for
every request, the destination's bucket policy for every request to the destination. The
destination also holds a neighbour's objects outside the prefix, which no request may reach.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.s3server import DESTINATION_ACCOUNT_ID, MotoS3Server, SandboxAccounts
from tests.fixtures.cli import CliRunner
from tests.functional.s3_registration import add_keys
from tests.support.faultproxy import FaultProxy, ProxyRecord
from tests.support.iam import allows, needs

if TYPE_CHECKING:
    from tests.fixtures.s3 import BucketFactory

MiB = 1024 * 1024
STAGED = {
    "run42/a.dat": b"a" * 1000,
    "run42/sub dir/b+c.dat": b"b" * 70_000,
    "run42/empty.bin": b"",
    "run42/big.bin": b"z" * (6 * MiB),  # above the 5 MiB threshold: a multipart copy
}
NEIGHBOURS = ("u/bob/notes.txt", "u/alicex/decoy.dat", "top-level.dat")


def _refused(records: list[ProxyRecord], policies: dict[str, Any], dest: str) -> list[str]:
    bucket_policy = policies["bucket_policy"]["document"]
    iam_policy = policies["iam_policy"]["document"]
    refused = []
    for record in records:
        for need in needs(record):
            if not allows(iam_policy, need):
                refused.append(f"IAM policy refuses {record.operation}: {need}")
            on_dest = need.resource.startswith(f"arn:aws:s3:::{dest}")
            if on_dest and not allows(bucket_policy, need):
                refused.append(f"bucket policy refuses {record.operation}: {need}")
    return refused


def test_every_request_of_copies_below_the_prefix_is_allowed_by_the_printed_policies(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
) -> None:
    staging = bucket_factory(s3_accounts.staging, prefix="staging")
    dest = bucket_factory(s3_accounts.destination, "eu-west-1", prefix="dest")
    for key, body in STAGED.items():
        s3_server.client(s3_accounts.staging).put_object(Bucket=staging, Key=key, Body=body)
    for key in NEIGHBOURS:
        s3_server.client(s3_accounts.destination).put_object(Bucket=dest, Key=key, Body=b"n")
    with FaultProxy(s3_server.endpoint_url) as proxy:
        add_keys(cli, s3_server, "lab", s3_accounts.staging).ok()
        at = ("--credentials", "lab", "--endpoint-url", proxy.endpoint_url)
        cli("bucket", "add", staging, *at).ok()
        # As the policy's note says: HeadBucket is refused under a prefix-limited ListBucket.
        owner = ("--expected-owner", DESTINATION_ACCOUNT_ID)
        cli("bucket", "add", dest, *at, *owner, "--region", "eu-west-1", "--no-check").ok()
        printed = cli(
            "--json",
            "policy",
            "--bucket",
            dest,
            "--staging",
            staging,
            "--prefix",
            "u/alice",
            "--delete-staging",
        )
        policies = json.loads(printed.ok().stdout)
        start = proxy.tick()
        copy = (
            "copy",
            f"{staging}/run42",
            f"{dest}/u/alice/run42",
            "--multipart-threshold",
            "5MiB",
        )
        cli(*copy, "--annotate").ok()  # annotated: each source HEADed, metadata replaced
        cli(*copy, "--on-conflict", "fail", "--delete-staging").ok()  # all there: skipped, cleaned
        records = [r for r in proxy.records if r.started > start]

    assert _refused(records, policies, dest) == []
    on_dest = {r.operation for r in records if r.bucket == dest}
    assert {"ListObjectsV2", "CopyObject", "UploadPartCopy", "ListMultipartUploads"} <= on_dest
    on_staging = {r.operation for r in records if r.bucket == staging}
    assert {"HeadObject", "DeleteObjects"} <= on_staging
    for record in records:
        if record.bucket == dest:
            assert (record.key or record.query.get("prefix", "")).startswith("u/alice/"), record
    # The same requests under a policy for another prefix: the checker does refuse them.
    other = json.loads(
        cli("--json", "policy", "--bucket", dest, "--staging", staging, "--prefix", "u/bob/")
        .ok()
        .stdout
    )
    assert len(_refused(records, other, dest)) >= len([r for r in records if r.bucket == dest])


def test_a_destination_not_registered_yet_gets_its_policy_from_its_owner_account(
    cli: CliRunner,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
) -> None:
    staging = bucket_factory(s3_accounts.staging, prefix="staging")
    add_keys(cli, s3_server, "lab", s3_accounts.staging).ok()
    cli("bucket", "add", staging, "--credentials", "lab", "--endpoint-url", s3_server.endpoint_url)
    args = ("policy", "--bucket", "partner-archive", "--account", DESTINATION_ACCOUNT_ID)
    data = json.loads(cli("--json", *args).ok().stdout)

    assert data["staging_bucket"] == staging  # the only other bucket of the only credential
    assert data["bucket_policy"]["attach_to"] == (
        f"s3://partner-archive (account {DESTINATION_ACCOUNT_ID})"
    )
    assert any("is not registered yet" in note for note in data["notes"])
    text = cli(*args).ok().stdout
    assert "aws-copy-pt bucket add partner-archive --credentials lab --expected-owner" in text
    cli("policy", "--bucket", "Not_A_Bucket").fails(ExitCode.USAGE, says="not a valid bucket")
