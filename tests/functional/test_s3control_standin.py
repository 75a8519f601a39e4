"""The S3 Control stand-in speaks botocore's s3control model and walks AWS's job state machine.

Every call goes through a real boto3 ``s3control`` client (routed the way the product routes),
so botocore's own parser proves each answer's shape, errors included.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from aws_copy_pt.sandbox.s3control import S3ControlStandIn
from tests.fixtures.s3control import BatchWorld


def _code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_describe_job_answers_every_field_of_the_model(batch_world: BatchWorld) -> None:
    batch_world.put({"a.txt": b"a"})
    manifest = batch_world.manifest(["a.txt"])
    job_id = batch_world.create(manifest, copy={"StorageClass": "STANDARD_IA"})
    batch_world.standin.wait_for_status(job_id, "Complete")

    job = batch_world.control.describe_job(AccountId=batch_world.account_id, JobId=job_id)["Job"]

    assert job["JobId"] == job_id and job["Status"] == "Complete"
    assert job["JobArn"].endswith(f":{batch_world.account_id}:job/{job_id}")
    assert job["ConfirmationRequired"] is False and job["Priority"] == 10
    assert job["RoleArn"] == batch_world.role_arn
    assert job["Manifest"]["Location"]["ETag"] == manifest[1]
    assert job["Manifest"]["Spec"]["Fields"] == ["Bucket", "Key"]
    assert job["Operation"]["S3PutObjectCopy"]["StorageClass"] == "STANDARD_IA"
    assert job["Report"]["ReportScope"] == "AllTasks" and job["Report"]["Enabled"] is True
    progress = job["ProgressSummary"]
    assert (progress["TotalNumberOfTasks"], progress["NumberOfTasksSucceeded"]) == (1, 1)
    assert progress["NumberOfTasksFailed"] == 0
    assert isinstance(progress["Timers"]["ElapsedTimeInActiveSeconds"], int)
    assert job["CreationTime"] <= job["TerminationDate"]


def test_the_same_client_request_token_gives_the_same_job_and_no_second_one(
    batch_world: BatchWorld,
) -> None:
    batch_world.put({"a.txt": b"a"})
    manifest = batch_world.manifest(["a.txt"])
    first = batch_world.create(manifest, token="transfer-7-attempt-1")
    again = batch_world.create(manifest, token="transfer-7-attempt-1")
    other = batch_world.create(manifest, token="transfer-7-attempt-2")

    assert first == again != other
    assert len(batch_world.standin.jobs()) == 2


def test_a_reused_token_with_another_request_is_an_idempotency_error(
    batch_world: BatchWorld,
) -> None:
    manifest = batch_world.manifest(["a.txt"])
    batch_world.create(manifest, token="t")
    with pytest.raises(ClientError) as error:
        batch_world.create(manifest, token="t", copy={"StorageClass": "GLACIER"})
    assert _code(error) == ("IdempotencyException", 409)
    assert isinstance(error.value, batch_world.control.exceptions.IdempotencyException)


def test_an_unknown_job_is_the_modeled_not_found_exception(batch_world: BatchWorld) -> None:
    with pytest.raises(batch_world.control.exceptions.NotFoundException) as error:
        batch_world.control.describe_job(AccountId=batch_world.account_id, JobId="no-such-job")
    assert _code(error) == ("NotFoundException", 404)


def test_another_accounts_job_is_not_found(batch_world: BatchWorld) -> None:
    job_id = batch_world.create(batch_world.manifest(["a.txt"]))
    with pytest.raises(ClientError) as error:
        batch_world.control.describe_job(
            AccountId=batch_world.accounts.staging.account_id, JobId=job_id
        )
    assert _code(error) == ("NotFoundException", 404)


def test_an_unregistered_role_cannot_be_passed(batch_world: BatchWorld) -> None:
    arguments = batch_world.job_arguments(batch_world.manifest(["a.txt"]))
    arguments["RoleArn"] = f"arn:aws:iam::{batch_world.account_id}:role/unknown"
    with pytest.raises(ClientError) as error:
        batch_world.control.create_job(**arguments)
    assert _code(error) == ("AccessDenied", 403)
    assert "iam:PassRole" in error.value.response["Error"]["Message"]
    assert batch_world.standin.jobs() == []


def test_a_denied_operation_answers_access_denied(batch_world: BatchWorld) -> None:
    batch_world.standin.deny("CreateJob")
    with pytest.raises(ClientError) as error:
        batch_world.create(batch_world.manifest(["a.txt"]))
    assert _code(error) == ("AccessDenied", 403)


def test_a_malformed_request_is_an_invalid_request(batch_world: BatchWorld) -> None:
    arguments = batch_world.job_arguments(batch_world.manifest(["a.txt"]))
    arguments["Operation"] = {"S3PutObjectTagging": {"TagSet": []}}
    with pytest.raises(ClientError) as error:
        batch_world.control.create_job(**arguments)
    assert _code(error) == ("InvalidRequest", 400)


def test_confirmation_required_waits_suspended_until_ready(batch_world: BatchWorld) -> None:
    batch_world.put({"a.txt": b"a"})
    job_id = batch_world.create(batch_world.manifest(["a.txt"]), confirmation_required=True)
    suspended = batch_world.standin.wait_for_status(job_id, "Suspended")
    assert suspended.total == 1 and batch_world.destination_keys() == []

    answer = batch_world.control.update_job_status(
        AccountId=batch_world.account_id,
        JobId=job_id,
        RequestedJobStatus="Ready",
        StatusUpdateReason="confirmed by the user",
    )
    assert answer["Status"] == "Ready" and answer["StatusUpdateReason"] == "confirmed by the user"
    assert batch_world.standin.wait_for_status(job_id).status == "Complete"
    assert batch_world.destination_keys() == ["in/a.txt"]


def test_cancelling_a_suspended_job_ends_it_with_nothing_copied_and_no_report(
    batch_world: BatchWorld,
) -> None:
    batch_world.put({"a.txt": b"a"})
    job_id = batch_world.create(batch_world.manifest(["a.txt"]), confirmation_required=True)
    batch_world.standin.wait_for_status(job_id, "Suspended")
    answer = batch_world.control.update_job_status(
        AccountId=batch_world.account_id, JobId=job_id, RequestedJobStatus="Cancelled"
    )
    assert answer["Status"] == "Cancelled"
    assert batch_world.destination_keys() == [] and batch_world.report_files(job_id) == {}


def test_cancelling_an_active_job_goes_through_cancelling_and_reports_what_ran(
    batch_world: BatchWorld,
) -> None:
    standin = batch_world.standin
    standin.settings.chunk_size = 1
    batch_world.put({f"k{n}": b"x" for n in range(5)})
    standin.hold("Active")
    job_id = batch_world.create(batch_world.manifest([f"k{n}" for n in range(5)]))
    standin.wait_for_status(job_id, "Active")

    answer = batch_world.control.update_job_status(
        AccountId=batch_world.account_id, JobId=job_id, RequestedJobStatus="Cancelled"
    )
    assert answer["Status"] == "Cancelling"
    standin.release("Active")
    cancelled = standin.wait_for_status(job_id)
    assert cancelled.status == "Cancelled" and cancelled.succeeded == 0
    assert batch_world.report_files(job_id) == {}  # no task ran, so no report


def test_illegal_status_updates_are_job_status_exceptions(batch_world: BatchWorld) -> None:
    batch_world.put({"a.txt": b"a"})
    job_id = batch_world.create(batch_world.manifest(["a.txt"]))
    batch_world.standin.wait_for_status(job_id, "Complete")
    for requested in ("Ready", "Cancelled"):
        with pytest.raises(batch_world.control.exceptions.JobStatusException) as error:
            batch_world.control.update_job_status(
                AccountId=batch_world.account_id, JobId=job_id, RequestedJobStatus=requested
            )
        assert _code(error) == ("JobStatusException", 400)


def test_a_job_held_in_each_state_stays_there_until_released(batch_world: BatchWorld) -> None:
    standin = batch_world.standin
    batch_world.put({"a.txt": b"a"})
    for status in ("New", "Preparing", "Ready", "Active", "Completing"):
        standin.hold(status)
    job_id = batch_world.create(batch_world.manifest(["a.txt"]))
    for status in ("New", "Preparing", "Ready", "Active", "Completing"):
        assert standin.wait_for_status(job_id, status).status == status
        assert standin.job(job_id).status == status  # still there: held
        standin.release(status)
    assert standin.wait_for_status(job_id).status == "Complete"


def test_wait_for_status_names_the_state_a_job_is_stuck_in(batch_world: BatchWorld) -> None:
    batch_world.standin.hold("Preparing")
    job_id = batch_world.create(batch_world.manifest(["a.txt"]))
    with pytest.raises(TimeoutError, match="still Preparing"):
        batch_world.standin.wait_for_status(job_id, "Complete", timeout=0.2)


def test_list_jobs_filters_by_status_and_pages_with_next_token(batch_world: BatchWorld) -> None:
    standin = batch_world.standin
    standin.hold("Preparing")
    manifest = batch_world.manifest(["a.txt"])
    ids = [batch_world.create(manifest, token=f"t{n}") for n in range(3)]
    for job_id in ids:
        standin.wait_for_status(job_id, "Preparing")
    control = batch_world.control

    first = control.list_jobs(AccountId=batch_world.account_id, MaxResults=2)
    second = control.list_jobs(
        AccountId=batch_world.account_id, MaxResults=2, NextToken=first["NextToken"]
    )
    listed = [job["JobId"] for job in first["Jobs"] + second["Jobs"]]
    assert listed == list(reversed(ids)) and "NextToken" not in second
    assert first["Jobs"][0]["Operation"] == "S3PutObjectCopy"

    preparing = control.list_jobs(AccountId=batch_world.account_id, JobStatuses=["Preparing"])
    assert len(preparing["Jobs"]) == 3
    done = control.list_jobs(AccountId=batch_world.account_id, JobStatuses=["Complete"])
    assert done["Jobs"] == []
    with pytest.raises(ClientError) as error:
        control.list_jobs(AccountId=batch_world.account_id, NextToken="garbage!")
    assert _code(error) == ("InvalidNextTokenException", 400)


def test_a_lost_create_job_answer_is_recovered_by_the_same_token(
    batch_world: BatchWorld,
) -> None:
    standin = batch_world.standin
    # The job is created, but every answer (and botocore's retries) is lost as a 500.
    standin.inject("CreateJob", status=500, after=True, times=100)
    manifest = batch_world.manifest(["a.txt"])
    with pytest.raises(ClientError) as error:
        batch_world.create(manifest, token="crash-safe")
    assert _code(error) == ("InternalError", 500)
    assert len(standin.jobs()) == 1
    standin.clear_faults()  # the rerun after the crash
    assert batch_world.create(manifest, token="crash-safe") == standin.jobs()[0].job_id
    assert len(standin.jobs()) == 1


def test_a_dropped_connection_is_an_error_the_client_sees(batch_world: BatchWorld) -> None:
    batch_world.standin.drop("DescribeJob", times=100)  # more than botocore's retries
    with pytest.raises(BotocoreConnectionError):
        batch_world.control.describe_job(AccountId=batch_world.account_id, JobId="whatever-id")
    dropped = [r for r in batch_world.standin.requests if r.operation == "DescribeJob"]
    assert dropped and all(record.status == 0 for record in dropped)


def test_the_request_log_names_operations_and_accounts(
    s3control_standin: S3ControlStandIn, batch_world: BatchWorld
) -> None:
    batch_world.control.list_jobs(AccountId=batch_world.account_id)
    (record,) = s3control_standin.requests
    assert (record.operation, record.account_id, record.status) == (
        "ListJobs",
        batch_world.account_id,
        200,
    )
