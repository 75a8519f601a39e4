"""aws_copy_pt.s3.control: typed Batch Operations calls, through the product's own client route.

Clients come from ``ClientFactory.s3control`` with ``AWS_COPY_PT_S3CONTROL_URL`` pointing at
the stand-in, exactly as the batch engine will build them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from aws_copy_pt.core.batch_manifest import client_request_token
from aws_copy_pt.errors import ConfigError, UsageError
from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec
from aws_copy_pt.s3.control import (
    BatchJobNotFound,
    BatchJobStatusConflict,
    CopyOperation,
    JobRequest,
    create_job,
    describe_job,
    list_jobs,
    update_job_status,
)
from aws_copy_pt.s3.control_route import s3control_route
from aws_copy_pt.s3.errors import S3AccessDenied
from tests.fixtures.s3control import BatchWorld

if TYPE_CHECKING:
    from mypy_boto3_s3control import S3ControlClient


@pytest.fixture
def control(batch_world: BatchWorld, s3control_env: dict[str, str]) -> S3ControlClient:
    account = batch_world.accounts.destination
    spec = CredentialSpec(
        key="destination",
        kind="keys",
        access_key_id=account.access_key_id,
        secret_access_key=account.secret_access_key,
        session_token=account.session_token,
    )
    return ClientFactory().s3control(spec, region="us-east-1")


def _request(world: BatchWorld, manifest: tuple[str, str], **changes: object) -> JobRequest:
    fields: dict[str, object] = {
        "account_id": world.account_id,
        "region": "us-east-1",
        "role_arn": world.role_arn,
        "manifest_bucket": world.destination,
        "manifest_key": manifest[0],
        "manifest_etag": manifest[1],
        "versioned_manifest": False,
        "report_bucket": world.destination,
        "report_prefix": "batch/reports",
        "operation": CopyOperation(
            target_bucket=world.destination,
            target_key_prefix="in/",
            canned_acl="bucket-owner-full-control",
            tags={"globus-task": "task-1"},
        ),
        "client_request_token": client_request_token(7, 1),
        "confirmation_required": False,
        "description": "aws-copy-pt transfer 7",
    }
    fields.update(changes)
    return JobRequest(**fields)  # type: ignore[arg-type]


def test_a_job_runs_to_complete_through_the_adapter(
    batch_world: BatchWorld, control: S3ControlClient
) -> None:
    batch_world.put({"a.txt": b"a", "b c.txt": b"b"})
    request = _request(batch_world, batch_world.manifest(["a.txt", "b c.txt"]))

    job_id = create_job(control, request)
    assert create_job(control, request) == job_id  # a rerun finds the same job
    batch_world.standin.wait_for_status(job_id)
    status = describe_job(control, batch_world.account_id, job_id)

    assert (status.status, status.finished, status.awaiting_confirmation) == (
        "Complete",
        True,
        False,
    )
    assert (status.total_tasks, status.succeeded_tasks, status.failed_tasks) == (2, 2, 0)
    assert (status.report_bucket, status.report_prefix) == (
        batch_world.destination,
        "batch/reports",
    )
    assert status.report_scope == "AllTasks" and status.failure_reasons == ()
    tags = batch_world.destination_s3.get_object_tagging(
        Bucket=batch_world.destination, Key="in/a.txt"
    )
    assert tags["TagSet"] == [{"Key": "globus-task", "Value": "task-1"}]
    assert [job.job_id for job in list_jobs(control, batch_world.account_id)] == [job_id]


def test_confirm_and_cancel_through_the_adapter(
    batch_world: BatchWorld, control: S3ControlClient
) -> None:
    manifest = batch_world.manifest(["a.txt"])
    waiting = create_job(control, _request(batch_world, manifest, confirmation_required=True))
    batch_world.standin.wait_for_status(waiting, "Suspended")
    assert describe_job(control, batch_world.account_id, waiting).awaiting_confirmation
    assert update_job_status(control, batch_world.account_id, waiting, "Cancelled", "user") == (
        "Cancelled"
    )
    with pytest.raises(BatchJobStatusConflict, match="Cancelled"):
        update_job_status(control, batch_world.account_id, waiting, "Ready")


def test_list_jobs_follows_every_page(batch_world: BatchWorld, control: S3ControlClient) -> None:
    batch_world.standin.hold("New")
    manifest = batch_world.manifest(["a.txt"])
    ids = [
        create_job(control, _request(batch_world, manifest, client_request_token=f"t-{n}"))
        for n in range(3)
    ]
    listed = list(list_jobs(control, batch_world.account_id, ["New"], page_size=1))
    assert [job.job_id for job in listed] == list(reversed(ids))


def test_a_role_that_cannot_be_passed_names_pass_role_and_the_policy_command(
    batch_world: BatchWorld,
    control: S3ControlClient,
) -> None:
    batch_world.standin.deny_pass_role(batch_world.role_arn)
    with pytest.raises(S3AccessDenied) as error:
        create_job(control, _request(batch_world, batch_world.manifest(["a.txt"])))
    assert f"iam:PassRole on {batch_world.role_arn}" in error.value.message
    assert "aws-copy-pt policy --engine batch" in str(error.value.hint)


@pytest.mark.parametrize(
    ("operation", "permission"),
    [("CreateJob", "s3:CreateJob"), ("DescribeJob", "s3:DescribeJob")],
)
def test_a_denied_operation_names_its_permission(
    batch_world: BatchWorld,
    control: S3ControlClient,
    operation: str,
    permission: str,
) -> None:
    manifest = batch_world.manifest(["a.txt"])
    job_id = create_job(control, _request(batch_world, manifest))
    batch_world.standin.deny(operation)
    with pytest.raises(S3AccessDenied, match=permission) as error:
        if operation == "CreateJob":
            create_job(control, _request(batch_world, manifest, client_request_token="other"))
        else:
            describe_job(control, batch_world.account_id, job_id)
    assert "policy --engine batch" in str(error.value)


def test_an_unknown_job_is_batch_job_not_found(
    batch_world: BatchWorld, control: S3ControlClient
) -> None:
    with pytest.raises(BatchJobNotFound, match="no-such-job"):
        describe_job(control, batch_world.account_id, "no-such-job")


def test_a_target_prefix_must_end_with_a_slash(batch_world: BatchWorld) -> None:
    operation = CopyOperation(target_bucket="dst", target_key_prefix="in")
    with pytest.raises(UsageError, match="must end with '/'"):
        _request(batch_world, ("m.csv", "e"), operation=operation)
    with pytest.raises(UsageError):
        _request(batch_world, ("m.csv", "e"), client_request_token="x" * 65)


def test_the_control_route_is_aws_unless_the_sandbox_names_a_loopback_stand_in() -> None:
    endpoint, config = s3control_route("eu-west-1", None)
    assert endpoint is None and not config.proxies
    endpoint, config = s3control_route("eu-west-1", "http://127.0.0.1:8123")
    assert endpoint == "http://s3-control.eu-west-1.amazonaws.com"
    assert config.proxies == {"http": "http://127.0.0.1:8123"}
    with pytest.raises(ConfigError, match=r"127\.0\.0\.1"):
        s3control_route("eu-west-1", "http://proxy.example.org:3128")
