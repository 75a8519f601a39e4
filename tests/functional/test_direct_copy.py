"""`aws-copy-pt copy SRC DEST` as a user runs it, against the moto server (two accounts)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.db.models import ObjectCopy, Transfer
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.home.paths import Home
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.sandbox.s3server import MotoS3Server, SandboxAccounts
from aws_copy_pt.services.copy.direct import DirectCopy, Location, run_copy
from tests.fixtures.cli import CliRunner
from tests.fixtures.s3 import BucketFactory
from tests.functional.s3_registration import add_bucket, add_keys, sts_env
from tests.functional.test_copy_failures import deny_writes_policy


@dataclass
class Registered:
    server: MotoS3Server
    accounts: SandboxAccounts
    staging: str
    dest: str

    def stage(self, key: str, body: bytes = b"data") -> None:
        self.server.client(self.accounts.staging).put_object(
            Bucket=self.staging, Key=key, Body=body
        )

    def dest_objects(self) -> dict[str, bytes]:
        client = self.server.client(self.accounts.destination, "eu-west-1")
        found = client.list_objects_v2(Bucket=self.dest).get("Contents", [])
        return {
            o["Key"]: client.get_object(Bucket=self.dest, Key=o["Key"])["Body"].read()
            for o in found
        }


@pytest.fixture
def registered(
    cli: CliRunner, s3_server: MotoS3Server, bucket_factory: BucketFactory
) -> Registered:
    """Staging (account A) and destination (account B) buckets registered through the CLI."""
    accounts = s3_server.accounts()
    staging = bucket_factory(accounts.staging, "us-east-1", prefix="staging")
    dest = bucket_factory(accounts.destination, "eu-west-1", prefix="dest")
    add_keys(cli, s3_server, "staging", accounts.staging).ok()
    add_bucket(cli, s3_server, staging, "staging").ok()
    add_bucket(
        cli, s3_server, dest, "staging", "--expected-owner", accounts.destination.account_id
    ).ok()
    return Registered(s3_server, accounts, staging, dest)


def test_copy_copies_a_prefix_and_prints_a_summary(cli: CliRunner, registered: Registered) -> None:
    world = registered
    for name in ("a.dat", "sub/b.dat", "ü n+%#.dat"):
        world.stage(f"run1/{name}", name.encode())
    world.stage("other/c.dat")
    result = cli("copy", f"{world.staging}/run1", f"{world.dest}/archive/run1").ok()
    assert "verified" in result.stdout and "3" in result.stdout
    assert world.dest_objects() == {
        "archive/run1/a.dat": b"a.dat",
        "archive/run1/sub/b.dat": b"sub/b.dat",
        "archive/run1/ü n+%#.dat": "ü n+%#.dat".encode(),
    }
    status = json.loads(cli("--json", "status").ok().stdout)["transfers"]
    assert [(t["kind"], t["state"], t["objects_total"]) for t in status] == [("direct", "DONE", 3)]


def test_dry_run_prints_the_plan_and_leaves_nothing_behind(
    cli: CliRunner, registered: Registered
) -> None:
    world = registered
    world.stage("r/new.dat", b"new")
    world.stage("r/same.dat", b"same")
    world.stage("r/changed.dat", b"changed!")
    dest = world.server.client(world.accounts.destination, "eu-west-1")
    dest.put_object(Bucket=world.dest, Key="r/same.dat", Body=b"same")
    dest.put_object(Bucket=world.dest, Key="r/changed.dat", Body=b"old")
    result = cli("--json", "copy", f"{world.staging}/r", f"{world.dest}/r", "--dry-run").ok()
    plan = json.loads(result.stdout)["dry_run"]
    assert (plan["objects"], plan["new"], plan["identical"], plan["different"]) == (3, 1, 1, 1)
    assert (plan["single"], plan["multipart"], plan["too_large"]) == (2, 0, 0)
    human = cli("copy", f"{world.staging}/r", f"{world.dest}/r", "--dry-run").ok()
    assert "nothing copied" in human.stdout and "identical (skipped)" in human.stdout
    assert json.loads(cli("--json", "status").ok().stdout) == {"transfers": []}
    assert set(world.dest_objects()) == {"r/same.dat", "r/changed.dat"}


def test_a_partial_copy_exits_4_and_running_it_again_retries_the_failures(
    cli: CliRunner, registered: Registered
) -> None:
    world = registered
    world.stage("p/ok.dat", b"ok")
    world.stage("p/clash.dat", b"mine")
    dest = world.server.client(world.accounts.destination, "eu-west-1")
    dest.put_object(Bucket=world.dest, Key="p/clash.dat", Body=b"theirs")
    first = cli("copy", f"{world.staging}/p", f"{world.dest}/p", "--on-conflict", "fail")
    first.fails(ExitCode.PARTIAL)
    assert "already exists with different content" in first.stdout
    cli("copy", f"{world.staging}/p", f"{world.dest}/p").ok()
    assert world.dest_objects()["p/clash.dat"] == b"mine"
    transfers = json.loads(cli("--json", "status").ok().stdout)["transfers"]
    assert [(t["id"], t["state"]) for t in transfers] == [(1, "DONE")]  # resumed, not new


def test_copy_between_unregistered_buckets_says_how_to_register(
    cli: CliRunner, registered: Registered
) -> None:
    cli("copy", "nowhere/x", f"{registered.dest}/x").fails(
        ExitCode.CONFIG, says="register it with `aws-copy-pt bucket add nowhere"
    )


def test_missing_destination_permission_exits_7_with_the_policy_command(
    cli: CliRunner, registered: Registered
) -> None:
    world = registered
    for i in range(12):
        world.stage(f"d/{i:02d}.dat")
    dest = world.server.client(world.accounts.destination, "eu-west-1")
    dest.put_bucket_policy(Bucket=world.dest, Policy=deny_writes_policy(world.dest))
    result = cli("copy", f"{world.staging}/d", f"{world.dest}/d", "--concurrency", "2")
    result.fails(ExitCode.REMOTE, says="needs s3:GetObject on the source and s3:PutObject")
    assert f"aws-copy-pt policy --bucket {world.dest}" in result.stderr


def test_json_output_reports_the_copy(cli: CliRunner, registered: Registered) -> None:
    world = registered
    world.stage("j/a.dat", b"12345")
    result = cli("--json", "copy", f"{world.staging}/j", f"{world.dest}/j", "--delete-staging").ok()
    report = json.loads(result.stdout)["copy"]
    assert (report["state"], report["verified"], report["bytes_copied"]) == ("DONE", 1, 5)
    assert report["staging_deleted"] == 1 and report["verified_by"] == {"crc32 from source": 1}


def test_an_empty_source_finishes_at_once(cli: CliRunner, registered: Registered) -> None:
    result = cli("copy", f"{registered.staging}/nothing", f"{registered.dest}/x").ok()
    assert "holds no object" in result.stdout


def test_overlapping_source_and_destination_are_refused(
    cli: CliRunner, registered: Registered
) -> None:
    cli("copy", registered.staging, f"{registered.staging}/copy").fails(
        ExitCode.USAGE, says="overlap"
    )


def test_the_installed_script_copies_and_resumes(
    cli_subprocess: CliRunner, cli: CliRunner, registered: Registered
) -> None:
    world = registered
    world.stage("s/a.dat", b"one")
    env = sts_env(world.server)
    cli_subprocess("copy", f"{world.staging}/s", f"{world.dest}/s", env=env).ok()
    world.stage("s/b.dat", b"two")
    again = cli_subprocess("copy", f"{world.staging}/s", f"{world.dest}/s", env=env).ok()
    assert "skipped (identical)" in again.stdout
    assert world.dest_objects() == {"s/a.dat": b"one", "s/b.dat": b"two"}


def test_an_interrupted_listing_resumes_after_its_marker(
    registered: Registered, app_home: Path, cli: CliRunner
) -> None:
    world = registered
    for name in ("1", "2", "3"):
        world.stage(f"m/{name}")
    db = open_database(Home(app_home))
    with db.session() as session:
        session.add(
            Transfer(
                kind="direct",
                state="LISTING",
                source_bucket_id=1,
                source_prefix="m/",
                dest_bucket_id=2,
                dest_prefix="m/",
                listing_marker="m/2",  # pages up to m/2 were recorded (and copied) before
            )
        )
    request = DirectCopy(Location.parse(f"{world.staging}/m"), Location.parse(f"{world.dest}/m"))
    report = run_copy(db, ClientFactory(), request)
    with db.session() as session:
        keys = list(session.scalars(select(ObjectCopy.source_key)))
        transfer = session.get(Transfer, report.transfer_id)
        assert transfer is not None and transfer.listing_marker is None
    assert (report.state, keys) == ("DONE", ["m/3"])
    assert set(world.dest_objects()) == {"m/3"}
    db.close()


class CountingFactory(ClientFactory):
    """A ClientFactory that records every boto3 S3 client it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.built: list[str | None] = []

    def s3(self, spec: Any, *, region: str | None, endpoint_url: str | None = None) -> Any:
        self.built.append(region)
        return super().s3(spec, region=region, endpoint_url=endpoint_url)


def test_a_copy_that_goes_the_fast_way_builds_no_boto3_client(
    registered: Registered, app_home: Path
) -> None:
    world = registered
    for name in ("1", "2", "3"):
        world.stage(f"fast/{name}", name.encode())
    db = open_database(Home(app_home))
    factory = CountingFactory()
    request = DirectCopy(
        Location.parse(f"{world.staging}/fast"), Location.parse(f"{world.dest}/fast")
    )
    report = run_copy(db, factory, request)
    db.close()
    assert (report.state, report.verified) == ("DONE", 3)
    assert world.dest_objects() == {"fast/1": b"1", "fast/2": b"2", "fast/3": b"3"}
    assert factory.built == []


def test_a_copy_whose_objects_are_all_refused_as_conflicts_exits_4_not_as_an_s3_failure(
    cli: CliRunner, registered: Registered
) -> None:
    world = registered
    world.stage("k/a.dat", b"new")
    client = world.server.client(world.accounts.destination, "eu-west-1")
    client.put_object(Bucket=world.dest, Key="k/a.dat", Body=b"old")
    result = cli("copy", f"{world.staging}/k", f"{world.dest}/k", "--on-conflict", "fail")
    result.fails(ExitCode.PARTIAL, says="refused (--on-conflict fail)")
    assert world.dest_objects() == {"k/a.dat": b"old"}
    shown = cli("--json", "transfers", "show", "1").ok()
    [failure] = json.loads(shown.stdout)["failures"]
    assert "already exists with different content" in failure["last_error"]
