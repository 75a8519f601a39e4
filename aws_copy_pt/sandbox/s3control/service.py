"""The four job operations, shaped like botocore's ``s3control`` model (2018-08-20)."""

from __future__ import annotations

import base64
import binascii
import uuid
import xml.etree.ElementTree as ET

from .jobs import ACTIVE, CANCELLABLE, CANCELLED, CANCELLING, CONFIRMABLE, READY, STATUSES, Job
from .jobs import State as JobsState
from .runner import JobRunner
from .server import Route
from .spec import parse_create_job
from .wire import ApiError, Request, Response, add, result_element, to_bytes

JOBS = r"/v20180820/jobs"
MAX_RESULTS = 1000


class ControlService:
    def __init__(self, state: JobsState, runner: JobRunner) -> None:
        self._state = state
        self._runner = runner

    def routes(self) -> list[Route]:
        return [
            Route("CreateJob", "POST", JOBS, self.create_job),
            Route("ListJobs", "GET", JOBS, self.list_jobs),
            Route("DescribeJob", "GET", JOBS + r"/([^/]+)", self.describe_job),
            Route("UpdateJobStatus", "POST", JOBS + r"/([^/]+)/status", self.update_job_status),
        ]

    def _authorize(self, request: Request, operation: str) -> str:
        account = request.account_id
        label = request.host.partition(".")[0]
        if "." in request.host and label.isdigit() and label != account:
            raise ApiError(
                400, "InvalidRequest", "The host's account id and x-amz-account-id differ"
            )
        if operation in self._state.denied_operations:
            raise ApiError(
                403, "AccessDenied", f"Access Denied: not authorized to perform s3:{operation}"
            )
        return account

    def create_job(self, request: Request) -> Response:
        account = self._authorize(request, "CreateJob")
        spec = parse_create_job(account, request.xml())
        state = self._state
        with state.lock:
            known = state.tokens.get((account, spec.token))
            if known is not None:
                if not state.jobs[known].spec.same_request(spec):
                    raise ApiError(
                        409,
                        "IdempotencyException",
                        "The ClientRequestToken was used before for a different request",
                    )
                return _create_result(known)
            if spec.role_arn in state.denied_pass_role or spec.role_arn not in state.roles:
                raise ApiError(
                    403,
                    "AccessDenied",
                    f"Access Denied: not authorized to perform iam:PassRole on {spec.role_arn}",
                )
            job = Job(str(uuid.uuid4()), spec)
            state.jobs[job.job_id] = job
            state.tokens[(account, spec.token)] = job.job_id
        self._runner.start(job)
        return _create_result(job.job_id)

    def describe_job(self, request: Request, job_id: str) -> Response:
        job = self._job(self._authorize(request, "DescribeJob"), job_id)
        root = result_element("DescribeJobResult")
        with self._state.lock:
            _descriptor(ET.SubElement(root, "Job"), job)
        return Response(200, to_bytes(root))

    def list_jobs(self, request: Request) -> Response:
        account = self._authorize(request, "ListJobs")
        wanted = set(request.query.get("jobStatuses", []))
        if wanted - STATUSES:
            raise ApiError(
                400, "InvalidRequestException", f"Unknown job status {wanted - STATUSES}"
            )
        limit = _max_results(request.param("maxResults"))
        with self._state.lock:
            jobs = [
                job
                for job in reversed(self._state.jobs.values())
                if job.spec.account_id == account and (not wanted or job.status in wanted)
            ]
            start = _offset(request.param("nextToken"), len(jobs))
            page = jobs[start : start + limit]
            root = result_element("ListJobsResult")
            if start + limit < len(jobs):
                add(
                    root,
                    "NextToken",
                    base64.urlsafe_b64encode(str(start + limit).encode()).decode(),
                )
            listed = ET.SubElement(root, "Jobs")
            for job in page:
                _list_entry(ET.SubElement(listed, "member"), job)
        return Response(200, to_bytes(root))

    def update_job_status(self, request: Request, job_id: str) -> Response:
        job = self._job(self._authorize(request, "UpdateJobStatus"), job_id)
        requested = request.param("requestedJobStatus")
        reason = request.param("statusUpdateReason")
        state = self._state
        with state.lock:
            if requested == READY and job.status in CONFIRMABLE:
                state.move(job, READY)
            elif requested == CANCELLED and job.status in CANCELLABLE:
                state.move(job, CANCELLING if job.status == ACTIVE else CANCELLED)
            elif requested in (READY, CANCELLED):
                raise ApiError(
                    400,
                    "JobStatusException",
                    f"Job {job_id} is {job.status}: it cannot be set to {requested}",
                )
            else:
                raise ApiError(400, "InvalidRequest", f"Invalid requestedJobStatus {requested!r}")
            job.status_update_reason = reason
            root = result_element("UpdateJobStatusResult")
            add(root, "JobId", job.job_id)
            add(root, "Status", job.status)
            add(root, "StatusUpdateReason", reason)
        return Response(200, to_bytes(root))

    def _job(self, account: str, job_id: str) -> Job:
        with self._state.lock:
            job = self._state.jobs.get(job_id)
        if job is None or job.spec.account_id != account:
            raise ApiError(404, "NotFoundException", f"The job {job_id} does not exist")
        return job


def _create_result(job_id: str) -> Response:
    root = result_element("CreateJobResult")
    add(root, "JobId", job_id)
    return Response(200, to_bytes(root))


def _max_results(value: str | None) -> int:
    if value is None:
        return MAX_RESULTS
    if not value.isdigit() or int(value) > MAX_RESULTS:
        raise ApiError(400, "InvalidRequestException", f"Invalid maxResults {value!r}")
    return int(value) or MAX_RESULTS


def _offset(token: str | None, size: int) -> int:
    if token is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, binascii.Error) as exc:
        raise ApiError(400, "InvalidNextTokenException", "The next token is not valid") from exc
    if not 0 <= offset <= size:
        raise ApiError(400, "InvalidNextTokenException", "The next token is not valid")
    return offset


def _progress(parent: ET.Element, job: Job) -> None:
    summary = ET.SubElement(parent, "ProgressSummary")
    add(summary, "TotalNumberOfTasks", job.total or 0)
    add(summary, "NumberOfTasksSucceeded", job.succeeded)
    add(summary, "NumberOfTasksFailed", job.failed)
    timers = ET.SubElement(summary, "Timers")
    add(timers, "ElapsedTimeInActiveSeconds", job.elapsed_active_seconds())


def _descriptor(parent: ET.Element, job: Job) -> None:
    spec = job.spec
    add(parent, "JobId", job.job_id)
    add(parent, "ConfirmationRequired", spec.confirmation_required)
    add(parent, "Description", spec.description)
    add(parent, "JobArn", job.job_arn)
    add(parent, "Status", job.status)
    parent.append(spec.echoed["Manifest"])
    parent.append(spec.echoed["Operation"])
    add(parent, "Priority", spec.priority)
    _progress(parent, job)
    add(parent, "StatusUpdateReason", job.status_update_reason)
    if job.failure_reasons:
        failures = ET.SubElement(parent, "FailureReasons")
        for code, reason in job.failure_reasons:
            member = ET.SubElement(failures, "member")
            add(member, "FailureCode", code)
            add(member, "FailureReason", reason)
    parent.append(spec.echoed["Report"])
    add(parent, "CreationTime", job.creation_time)
    add(parent, "TerminationDate", job.termination_date)
    add(parent, "RoleArn", spec.role_arn)
    add(parent, "SuspendedDate", job.suspended_date)
    add(parent, "SuspendedCause", job.suspended_cause)


def _list_entry(parent: ET.Element, job: Job) -> None:
    add(parent, "JobId", job.job_id)
    add(parent, "Description", job.spec.description)
    add(parent, "Operation", "S3PutObjectCopy")
    add(parent, "Priority", job.spec.priority)
    add(parent, "Status", job.status)
    add(parent, "CreationTime", job.creation_time)
    add(parent, "TerminationDate", job.termination_date)
    _progress(parent, job)
