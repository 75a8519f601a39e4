"""S3ControlStandIn: the server plus the thread-safe control API tests and the demo drive."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import boto3

from aws_copy_pt.s3.control_route import S3CONTROL_URL_ENV, s3control_route
from aws_copy_pt.sandbox.s3server import DEFAULT_REGION, Account

from .jobs import STATUSES, TERMINAL, Job, Settings, State, TaskFailure
from .runner import JobRunner
from .server import AnswerGate, HTTPService, RequestRecord, Router, Rule
from .service import ControlService

if TYPE_CHECKING:
    from mypy_boto3_s3control import S3ControlClient

DEFAULT_ROLE_NAME = "aws-copy-pt-batch"


@dataclass(frozen=True)
class JobSnapshot:
    """A job as the stand-in sees it right now (read without an HTTP call)."""

    job_id: str
    account_id: str
    client_request_token: str
    status: str
    total: int | None
    succeeded: int
    failed: int
    failure_reasons: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, job: Job) -> JobSnapshot:
        return cls(
            job.job_id,
            job.spec.account_id,
            job.spec.token,
            job.status,
            job.total,
            job.succeeded,
            job.failed,
            tuple(job.failure_reasons),
        )


class S3ControlStandIn:
    """A local S3 Control (Batch Operations jobs) that really runs copy jobs.

    Jobs copy against the S3 server at ``s3_endpoint_url`` with the credentials registered for
    their role (:meth:`register_role`).
    """

    def __init__(
        self,
        s3_endpoint_url: str,
        *,
        region: str = DEFAULT_REGION,
        settings: Settings | None = None,
    ) -> None:
        self.region = region
        self._state = State(settings or Settings())
        self._router = Router()
        self._http = HTTPService(self._router)
        self._runner = JobRunner(self._state, s3_endpoint_url, region)
        self._router.routes = ControlService(self._state, self._runner).routes()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> S3ControlStandIn:
        self._http.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop answering; running jobs stop at their next step (they never finish)."""
        with self._state.lock:
            self._state.stopping = True
            self._state.changed.notify_all()
        self._http.stop()
        self._runner.join(timeout)

    def __enter__(self) -> S3ControlStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Where the stand-in listens; clients use it as their HTTP proxy."""
        return self._http.url

    def env(self) -> dict[str, str]:
        """The variable that routes aws-copy-pt's S3 Control client here (no secrets)."""
        return {S3CONTROL_URL_ENV: self.url}

    def client(self, account: Account, region: str | None = None) -> S3ControlClient:
        """A boto3 S3 Control client for ``account``, routed here the way the product routes."""
        region = region or self.region
        endpoint_url, config = s3control_route(region, self.url)
        return boto3.session.Session().client(
            "s3control",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
            aws_session_token=account.session_token,
            config=config,
        )

    @property
    def settings(self) -> Settings:
        """Live knobs (size limit, failure threshold, concurrency); changes apply at once."""
        return self._state.settings

    # -- roles and permissions ------------------------------------------------------------

    def register_role(
        self, account: Account, *, name: str = DEFAULT_ROLE_NAME, role_arn: str | None = None
    ) -> str:
        """Let jobs run as a role whose S3 requests sign as ``account``; returns its ARN.

        A job naming an unregistered role is refused like AWS refuses an unpassable role.
        """
        arn = role_arn or f"arn:aws:iam::{account.account_id}:role/{name}"
        with self._state.lock:
            self._state.roles[arn] = account
            self._state.denied_pass_role.discard(arn)
        return arn

    def deny_pass_role(self, role_arn: str) -> None:
        """CreateJob naming this role answers 403 AccessDenied (caller lacks iam:PassRole)."""
        with self._state.lock:
            self._state.denied_pass_role.add(role_arn)

    def deny(self, operation: str, denied: bool = True) -> None:
        """Answer ``operation`` (CreateJob, DescribeJob...) 403 AccessDenied, or stop doing so."""
        with self._state.lock:
            (
                self._state.denied_operations.add
                if denied
                else self._state.denied_operations.discard
            )(operation)

    # -- steering jobs ------------------------------------------------------------------

    def hold(self, status: str) -> None:
        """Keep every job that reaches ``status`` there until :meth:`release` (stuck states).

        An Active job stops between chunks of tasks; a cancel still gets through.
        """
        if status not in STATUSES or status in TERMINAL:
            raise ValueError(f"cannot hold jobs in {status!r}")
        with self._state.lock:
            self._state.held.add(status)

    def release(self, status: str) -> None:
        with self._state.lock:
            self._state.held.discard(status)
            self._state.changed.notify_all()

    def fail_key(
        self, key: str, *, http_status: int = 403, code: str = "AccessDenied",
        message: str = "Access Denied",
    ) -> None:  # fmt: skip
        """Make the task of every manifest row with this (decoded) key fail as given."""
        with self._state.lock:
            self._state.failing_keys[key] = TaskFailure(http_status, code, message)

    def heal_key(self, key: str) -> None:
        """Undo :meth:`fail_key`: tasks of this key copy normally again."""
        with self._state.lock:
            self._state.failing_keys.pop(key, None)

    def job(self, job_id: str) -> JobSnapshot:
        with self._state.lock:
            return JobSnapshot.of(self._state.jobs[job_id])

    def jobs(self) -> list[JobSnapshot]:
        """Every job, oldest first."""
        with self._state.lock:
            return [JobSnapshot.of(job) for job in self._state.jobs.values()]

    def wait_for_status(self, job_id: str, *statuses: str, timeout: float = 10.0) -> JobSnapshot:
        """Block until the job is in one of ``statuses`` (default: any terminal one).

        Raises TimeoutError naming the status it is stuck in.
        """
        wanted = set(statuses) or TERMINAL
        state = self._state
        with state.lock:
            job = state.jobs[job_id]
            if not state.changed.wait_for(lambda: job.status in wanted, timeout):
                raise TimeoutError(
                    f"job {job_id} is still {job.status} after {timeout}s "
                    f"(waiting for {sorted(wanted)})"
                )
            return JobSnapshot.of(job)

    # -- fault injection and observation ------------------------------------------------

    def inject(
        self,
        operation: str | None,
        *,
        status: int = 500,
        code: str = "InternalError",
        message: str = "We encountered an internal error. Please try again.",
        times: int = 1,
        after: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``operation`` (None: any) with this error.

        ``after=True`` runs the operation first (a job really is created or cancelled) and then
        answers the error: the client never learns that it worked.
        """
        self._router.add_fault(Rule(operation, times, status, code, message, after=after))

    def drop(self, operation: str | None, *, times: int = 1, after: bool = False) -> None:
        """Close the connection without an answer (a client sees a timeout or reset)."""
        self._router.add_fault(Rule(operation, times, after=after, drop=True))

    def delay(self, operation: str | None, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` calls of ``operation`` for ``seconds`` before answering."""
        self._router.add_delay(Rule(operation, times, seconds=seconds))

    def hold_answer(self, operation: str) -> AnswerGate:
        """Run the next ``operation`` call, then hold its answer until the gate is released:
        e.g. a job exists while its creator still waits to learn its id (and can be killed)."""
        gate = AnswerGate(operation)
        self._router.add_gate(gate)
        return gate

    def clear_faults(self) -> None:
        """Drop every injected error, dropped connection and delay not used up yet."""
        self._router.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far, oldest first (a copy)."""
        return self._router.records()
