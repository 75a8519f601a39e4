"""The batch engine as a user meets it: `bucket update`, `policy --engine batch`,
`copy --engine batch` (dry run, waiting, denied), `transfers show|confirm|cancel`."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from aws_copy_pt.errors import ExitCode
from aws_copy_pt.sandbox.s3control import S3ControlStandIn
from aws_copy_pt.sandbox.s3server import MotoS3Server, SandboxAccounts
from tests.fixtures.cli import CliRunner
from tests.fixtures.s3 import BucketFactory
from tests.functional.s3_registration import add_bucket, add_keys


@dataclass
class BatchSetUp:
    server: MotoS3Server
    accounts: SandboxAccounts
    staging: str
    dest: str
    role: str
    standin: S3ControlStandIn

    def stage(self, count: int) -> None:
        client = self.server.client(self.accounts.staging)
        for i in range(count):
            client.put_object(Bucket=self.staging, Key=f"run/{i:02d}.dat", Body=b"x" * (i + 1))


@pytest.fixture
def setup(
    cli: CliRunner,
    bucket_factory: BucketFactory,
    s3_server: MotoS3Server,
    s3control_standin: S3ControlStandIn,
    s3control_env: dict[str, str],
) -> BatchSetUp:
    """Staging (account A, credential 'lab') and a destination of account B registered with
    B's credential 'partner'; the batch role is not registered yet."""
    accounts = s3_server.accounts()
    staging = bucket_factory(accounts.staging, "us-east-1", prefix="staging")
    dest = bucket_factory(accounts.destination, "eu-west-1", prefix="dest")
    add_keys(cli, s3_server, "lab", accounts.staging).ok()
    add_keys(cli, s3_server, "partner", accounts.destination).ok()
    add_bucket(cli, s3_server, staging, "lab").ok()
    owner = accounts.destination.account_id
    add_bucket(cli, s3_server, dest, "partner", "--expected-owner", owner).ok()
    role = s3control_standin.register_role(accounts.destination)
    return BatchSetUp(s3_server, accounts, staging, dest, role, s3control_standin)


def test_bucket_update_registers_the_batch_role_and_engine_and_list_shows_them(
    cli: CliRunner, setup: BatchSetUp
) -> None:
    result = cli("bucket", "update", setup.dest, "--batch-role", setup.role, "--engine", "batch")
    assert "batch_role_arn" in result.ok().stdout and "engine" in result.stdout
    [listed] = [
        b
        for b in json.loads(cli("--json", "bucket", "list").ok().stdout)["buckets"]
        if b["name"] == setup.dest
    ]
    assert (listed["batch_role_arn"], listed["engine"]) == (setup.role, "batch")
    cli("bucket", "update", setup.dest, "--batch-threshold", "250,000").ok()
    [listed] = [
        b
        for b in json.loads(cli("--json", "bucket", "list").ok().stdout)["buckets"]
        if b["name"] == setup.dest
    ]
    assert listed["batch_threshold"] == 250_000


def test_bucket_update_refuses_what_bucket_add_refuses_and_changes_nothing(
    cli: CliRunner, setup: BatchSetUp
) -> None:
    cli("bucket", "update", setup.dest, "--storage-class", "GLACIER IR").fails(
        ExitCode.USAGE, says="unknown storage class"
    )
    key = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    cli("bucket", "update", setup.dest, "--sse", "AES256", "--sse-kms-key-id", key).fails(
        ExitCode.USAGE, says="only for --sse aws:kms"
    )
    cli("bucket", "update", setup.dest, "--metadata-directive", "MOVE").fails(
        ExitCode.USAGE, says="must be COPY or REPLACE"
    )
    cli("bucket", "update", setup.dest).fails(ExitCode.USAGE, says="nothing to change")
    [listed] = [
        b
        for b in json.loads(cli("--json", "bucket", "list").ok().stdout)["buckets"]
        if b["name"] == setup.dest
    ]
    assert (listed["storage_class"], listed["sse_kms_key_id"]) == (None, None)


def test_a_batch_role_the_buckets_credential_cannot_create_jobs_for_is_refused(
    cli: CliRunner, setup: BatchSetUp
) -> None:
    cli("bucket", "update", setup.staging, "--batch-role", setup.role).fails(
        ExitCode.USAGE, says="credential 'lab' is account 111111111111"
    )


def test_none_clears_an_optional_setting(cli: CliRunner, setup: BatchSetUp) -> None:
    cli("bucket", "update", setup.dest, "--expected-owner", "none", "--no-check").ok()
    [listed] = [
        b
        for b in json.loads(cli("--json", "bucket", "list").ok().stdout)["buckets"]
        if b["name"] == setup.dest
    ]
    assert listed["expected_owner"] is None


def test_policy_engine_batch_prints_every_party_each_statement_explained(
    cli: CliRunner, setup: BatchSetUp
) -> None:
    args = ("policy", "--bucket", setup.dest, "--staging", setup.staging, "--engine", "batch")
    text = cli(*args, "--batch-role", setup.role).ok().stdout
    assert "batchoperations.s3.amazonaws.com" in text
    assert "iam:PassRole" in text and "s3:CreateJob" in text and "s3:UpdateJobStatus" in text
    assert "AwsCopyPtBatchReadStaging: read each staged object" in text
    document = json.loads(cli("--json", *args, "--batch-role", setup.role).ok().stdout)
    kinds = [doc["kind"] for doc in document["documents"]]
    assert kinds[:4] == ["trust-policy", "iam-policy", "iam-policy", "iam-policy"]
    assert all(doc["explanations"] for doc in document["documents"])
    cli(*args).fails(ExitCode.USAGE, says="no batch role is registered")


def test_copy_dry_run_with_batch_shows_the_jobs_estimated_cost_and_creates_nothing(
    cli: CliRunner, setup: BatchSetUp
) -> None:
    setup.stage(5)
    cli("bucket", "update", setup.dest, "--batch-role", setup.role).ok()
    args = ("copy", f"{setup.staging}/run", f"{setup.dest}/run", "--engine", "batch")
    text = cli(*args, "--dry-run").ok().stdout
    assert "S3 Batch Operations job (estimated cost)" in text
    assert "1 x $0.25 = $0.25" in text and "estimate" in text and "2026-12-06" in text
    plan = json.loads(cli("--json", *args, "--dry-run").ok().stdout)
    assert plan["engine"]["objects_to_job"] == 5 and plan["engine"]["cost"]["estimate"] is True
    assert setup.standin.jobs() == []
    assert json.loads(cli("--json", "status").ok().stdout)["transfers"] == []


@pytest.mark.heavy
def test_copy_engine_batch_waits_for_the_job_and_every_copy_is_verified(
    cli: CliRunner, setup: BatchSetUp
) -> None:
    setup.stage(6)
    cli("bucket", "update", setup.dest, "--batch-role", setup.role).ok()
    args = ("copy", f"{setup.staging}/run", f"{setup.dest}/run", "--engine", "batch")
    report = json.loads(cli("--json", *args).ok().stdout)["copy"]
    assert (report["state"], report["verified"]) == ("DONE", 6)
    assert report["batch"]["job_id"] == setup.standin.jobs()[0].job_id


def test_a_denied_pass_role_exits_7_naming_the_permission_and_the_policy_command(
    cli: CliRunner, setup: BatchSetUp
) -> None:
    setup.stage(2)
    cli("bucket", "update", setup.dest, "--batch-role", setup.role).ok()
    setup.standin.deny_pass_role(setup.role)
    args = ("copy", f"{setup.staging}/run", f"{setup.dest}/run", "--engine", "batch")
    result = cli(*args).fails(ExitCode.REMOTE, says=f"iam:PassRole on {setup.role}")
    assert "aws-copy-pt policy --engine batch" in result.stderr


def test_a_job_created_with_confirm_is_shown_then_confirmed_then_finished(
    cli: CliRunner, setup: BatchSetUp
) -> None:
    setup.stage(3)
    cli("bucket", "update", setup.dest, "--batch-role", setup.role).ok()
    args = ("copy", f"{setup.staging}/run", f"{setup.dest}/run", "--engine", "batch")
    cli(*args, "--confirm").fails(ExitCode.WORK_REMAINS, says="transfers confirm")
    [job] = setup.standin.jobs()
    setup.standin.wait_for_status(job.job_id, "Suspended")
    shown = cli("transfers", "show", "1").ok().stdout
    assert "Batch jobs" in shown and "Estimated cost" in shown and job.job_id in shown
    assert "Ready" in cli("transfers", "confirm", "1").ok().stdout
    assert json.loads(cli("--json", *args).ok().stdout)["copy"]["state"] == "DONE"
    cli("transfers", "confirm", "1").fails(ExitCode.USAGE, says="no running batch job")


@pytest.mark.heavy
def test_transfers_cancel_cancels_the_running_job_first(cli: CliRunner, setup: BatchSetUp) -> None:
    setup.stage(3)
    cli("bucket", "update", setup.dest, "--batch-role", setup.role).ok()
    args = ("copy", f"{setup.staging}/run", f"{setup.dest}/run", "--engine", "batch")
    cli(*args, "--confirm").fails(ExitCode.WORK_REMAINS)
    [job] = setup.standin.jobs()
    assert job.job_id in cli("transfers", "cancel", "1").ok().stdout
    assert setup.standin.wait_for_status(job.job_id).status == "Cancelled"
    status = json.loads(cli("--json", "status").ok().stdout)["transfers"]
    assert status[0]["state"] == "CANCELLED"
