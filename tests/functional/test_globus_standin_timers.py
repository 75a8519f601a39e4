"""The stand-in's Globus Timers: a timer's runs and their Transfer task ids over "days" of a
scripted clock, read through the real TimersClient, and the Timers scope at login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import globus_sdk
import pytest

from aws_copy_pt.sandbox.globus_standin import (
    TIMERS_RESOURCE_SERVER,
    TIMERS_SCOPE,
    FileSpec,
    GlobusStandIn,
    TaskInfo,
    User,
)
from tests.fixtures.globus import TimersClientFor, TransferClientFor
from tests.fixtures.globus_contract import assert_same_shape, sdk_sample

DAY0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Core:
    """A sequencing core whose nightly timer delivers into an S3 staging collection."""

    user: User
    source: str
    staging: str
    timer: str
    timers: globus_sdk.TimersClient
    transfer: globus_sdk.TransferClient


@pytest.fixture
def core(
    globus_standin: GlobusStandIn,
    timers_client_for: TimersClientFor,
    transfer_client_for: TransferClientFor,
) -> Core:
    user = globus_standin.add_user("core@example.org")
    source = globus_standin.add_collection("Sequencer", owner=user)
    staging = globus_standin.add_collection("S3 staging", owner=user)
    globus_standin.set_clock(DAY0)
    timer = globus_standin.add_timer(
        user, source, staging, name="nightly runs", source_path="/out/", label="nightly"
    )
    return Core(user, source, staging, timer, timers_client_for(user), transfer_client_for(user))


def _night(n: int) -> list[FileSpec]:
    return [FileSpec(f"/out/run{n}/reads.fastq", f"/staging/run{n}/reads.fastq", 100 * n)]


def _run_task_ids(job: globus_sdk.GlobusHTTPResponse) -> list[str]:
    return [result["resource_id"] for result in job["results"]["data"]]


# -- runs and their task ids ---------------------------------------------------------------


def test_get_job_lists_each_runs_task_id_newest_first(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    runs = []
    for night in (1, 2, 3):
        globus_standin.advance_clock(DAY)
        runs.append(globus_standin.run_timer(core.timer, _night(night)))

    job = core.timers.get_job(core.timer)

    assert _run_task_ids(job) == runs[::-1]
    assert [r["data"]["details"]["task_id"] for r in job["results"]["data"]] == runs[::-1]
    assert (job["n_runs"], job["last_ran_at"]) == (3, "2026-03-04T02:00:00+00:00")
    assert job["activity"] == {"code": "awaiting_next_run", "next_run": "2026-03-04T02:00:00+00:00"}


def test_runs_scripted_for_later_days_happen_when_the_clock_gets_there(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    delivered: list[TaskInfo] = []
    globus_standin.settings.on_succeeded = delivered.append
    runs = [globus_standin.run_timer(core.timer, _night(n), at=DAY0 + n * DAY) for n in (1, 2, 3)]

    before = core.timers.get_job(core.timer)
    globus_standin.advance_clock(2 * DAY)
    after_two_days = core.timers.get_job(core.timer)
    listed = [task["task_id"] for task in core.transfer.task_list()]

    assert (before["n_runs"], before["results"]["data"]) == (0, [])
    assert _run_task_ids(after_two_days) == [runs[1], runs[0]]
    assert listed == [runs[1], runs[0]]
    assert [info.task_id for info in delivered] == runs[:2]


def test_a_run_is_a_succeeded_transfer_of_the_timer_owner_into_its_destination(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    globus_standin.advance_clock(DAY)
    task_id = globus_standin.run_timer(core.timer, _night(1), duration=timedelta(minutes=7))

    task = core.transfer.get_task(task_id)
    moved = [
        entry["destination_path"] for entry in core.transfer.task_successful_transfers(task_id)
    ]

    assert (task["status"], task["owner_id"], task["label"]) == (
        "SUCCEEDED",
        core.user.id,
        "nightly",
    )
    assert (task["source_endpoint_id"], task["destination_endpoint_id"]) == (
        core.source,
        core.staging,
    )
    assert (task["request_time"], task["completion_time"]) == (
        "2026-03-02T02:00:00+00:00",
        "2026-03-02T02:07:00+00:00",
    )
    assert moved == ["/staging/run1/reads.fastq"]


def test_a_run_still_in_progress_shows_as_the_timers_activity(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    task_id = globus_standin.run_timer(core.timer, _night(1), script=["ACTIVE", "SUCCEEDED"])
    globus_standin.advance_clock(timedelta(minutes=30))

    job = core.timers.get_job(core.timer)

    assert job["activity"]["code"] == "run_in_progress"
    assert job["activity"]["duration_seconds"] == 1800
    assert job["results"]["data"][0]["data"]["details"]["status"] == "ACTIVE"
    assert globus_standin.task(task_id).status == "ACTIVE"  # reading the timer polls no task


def test_a_run_that_skipped_files_lists_them_in_skipped_errors(
    globus_standin: GlobusStandIn,
    core: Core,
) -> None:
    timer = globus_standin.add_timer(
        core.user, core.source, core.staging, name="lenient", skip_source_errors=True
    )
    task_id = globus_standin.run_timer(
        timer, _night(1), skipped=[("/out/run1/locked.fastq", "/staging/run1/locked.fastq")]
    )

    skipped = [e["source_path"] for e in core.transfer.task_skipped_errors(task_id)]
    job = core.timers.get_job(timer)

    assert skipped == ["/out/run1/locked.fastq"]
    assert job["callback_body"]["body"]["skip_source_errors"] is True
    assert core.transfer.get_task(task_id)["subtasks_skipped_errors"] == 1


def test_timer_results_page_with_results_pt(globus_standin: GlobusStandIn, core: Core) -> None:
    runs = [globus_standin.run_timer(core.timer, _night(n), at=DAY0 + n * DAY) for n in range(1, 6)]
    globus_standin.advance_clock(5 * DAY)

    seen: list[str] = []
    token = None
    while True:
        query = {"page_size": 2, **({"results_pt": token} if token else {})}
        job = core.timers.get_job(core.timer, query_params=query)
        seen += _run_task_ids(job)
        token = job["results"]["page_next"]
        if token is None:
            break

    assert seen == runs[::-1]
    assert globus_standin.call_counts()["timer.get_job"] == 3


def test_list_jobs_lists_the_callers_timers_with_their_latest_runs(
    globus_standin: GlobusStandIn, core: Core, timers_client_for: TimersClientFor
) -> None:
    other = globus_standin.add_user("other@example.org")
    globus_standin.add_timer(other, core.source, core.staging, name="not mine")
    once = globus_standin.add_timer(
        core.user, core.source, core.staging, name="once", interval=None
    )
    first = globus_standin.run_timer(core.timer, _night(1))
    globus_standin.run_timer(once, _night(9))

    jobs = core.timers.list_jobs(query_params={"filter_name": "NIGHTLY"})["jobs"]
    statuses = {job["name"]: job["status"] for job in core.timers.list_jobs()["jobs"]}
    ended = core.timers.list_jobs(query_params={"filter_status": "ended"})["jobs"]

    assert [(job["job_id"], _run_task_ids(job)) for job in jobs] == [(core.timer, [first])]
    assert statuses == {"nightly runs": "loaded", "once": "ended"}
    assert [job["job_id"] for job in ended] == [once]
    assert timers_client_for(other).list_jobs()["jobs"][0]["name"] == "not mine"


def test_unknown_or_another_users_timer_is_404_and_a_malformed_id_422(
    globus_standin: GlobusStandIn, core: Core, timers_client_for: TimersClientFor
) -> None:
    stranger = timers_client_for(globus_standin.add_user("stranger@example.org"))

    with pytest.raises(globus_sdk.TimersAPIError) as not_theirs:
        stranger.get_job(core.timer)
    with pytest.raises(globus_sdk.TimersAPIError) as malformed:
        core.timers.get_job("not-a-timer-id")

    assert (not_theirs.value.http_status, not_theirs.value.code) == (404, "NOT_FOUND")
    assert malformed.value.http_status == 422
    assert malformed.value.message == "value is not a valid uuid: path.job_id"


# -- the Timers scope -------------------------------------------------------------------------


def test_a_login_without_the_timers_scope_gets_no_timers_token(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    assert TIMERS_RESOURCE_SERVER not in globus_standin.issue_tokens(core.user)
    with_timers = globus_standin.issue_tokens(core.user, scopes=["openid", TIMERS_SCOPE])
    assert with_timers[TIMERS_RESOURCE_SERVER]["scope"] == TIMERS_SCOPE


def test_code_exchange_returns_a_timers_token_only_when_the_login_asked_for_it(
    globus_standin: GlobusStandIn, globus_env: dict[str, str], core: Core
) -> None:
    def login(scopes: list[str]) -> dict[str, object]:
        client = globus_sdk.NativeAppAuthClient(client_id=globus_standin.client_id)
        client.oauth2_start_flow(scopes, refresh_tokens=True)
        code = globus_standin.issue_auth_code(
            core.user, authorize_url=client.oauth2_get_authorize_url()
        )
        return dict(client.oauth2_exchange_code_for_tokens(code).by_resource_server)

    transfer_scope = globus_sdk.TransferClient.scopes.all
    assert TIMERS_RESOURCE_SERVER not in login(["openid", str(transfer_scope)])
    assert TIMERS_RESOURCE_SERVER in login(["openid", str(transfer_scope), TIMERS_SCOPE])


def test_a_token_without_the_timers_scope_is_a_401_from_timers(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    transfer_token = globus_standin.issue_tokens(core.user)["transfer.api.globus.org"]
    client = globus_sdk.TimersClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(transfer_token["access_token"])
    )

    with pytest.raises(globus_sdk.TimersAPIError) as caught:
        client.list_jobs()

    assert (caught.value.http_status, caught.value.code) == (401, "AUTHENTICATION_ERROR")


def test_an_injected_timers_fault_answers_in_the_timers_error_shape(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    globus_standin.inject("GET", r"^/jobs/", status=403)

    with pytest.raises(globus_sdk.TimersAPIError) as caught:
        core.timers.get_job(core.timer)

    assert (caught.value.http_status, caught.value.code) == (403, "FORBIDDEN")


# -- the clock ------------------------------------------------------------------------------


def test_the_clock_stands_still_once_set_and_never_goes_back(globus_standin: GlobusStandIn) -> None:
    globus_standin.set_clock(DAY0)

    assert globus_standin.now() == DAY0
    assert globus_standin.advance_clock(DAY) == DAY0 + DAY
    with pytest.raises(ValueError, match="backwards"):
        globus_standin.advance_clock(-DAY)
    with pytest.raises(ValueError, match="aware"):
        globus_standin.set_clock(datetime(2026, 1, 1))


# -- contracts ------------------------------------------------------------------------------

# Fields of the Timers OpenAPI ``JobRead`` / ``JobResult`` that the SDK's (older) sample
# timer lacks; schedule's end condition is documented as {"condition", "count"}.
_DOCUMENTED_EXTRA = {
    "timer_type",
    "schedule",
    "activity",
    "run_status",
    "resource_id",
    "start_timestamp",
    "end_timestamp",
    "condition",
}


def test_get_job_document_has_the_shape_of_the_sdk_timer_samples(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    stopping = globus_standin.add_timer(
        core.user, core.source, core.staging, label="x", stop_after_runs=3
    )
    globus_standin.run_timer(stopping, _night(1))
    transfer_timer = sdk_sample(globus_sdk.TimersClient.create_timer)["timer"]
    flow_timer = sdk_sample(globus_sdk.TimersClient.create_timer, "flow_timer_success")["timer"]

    job = core.timers.get_job(stopping).data

    body = "$.callback_body.body"
    assert_same_shape(
        job, sdk_sample(globus_sdk.TimersClient.get_job), extra=_DOCUMENTED_EXTRA, skip={body}
    )
    # label and an item's recursive flag are in the OpenAPI TransferTaskDocument.
    documented = {"label", "recursive"}
    assert_same_shape(job["callback_body"]["body"], transfer_timer["body"], extra=documented)
    assert_same_shape(job["schedule"], transfer_timer["schedule"], extra=_DOCUMENTED_EXTRA)
    assert_same_shape(job["stop_after"], flow_timer["stop_after"])


def test_list_jobs_answer_has_the_shape_of_the_sdk_sample(
    globus_standin: GlobusStandIn, core: Core
) -> None:
    globus_standin.run_timer(core.timer, _night(1))

    jobs = core.timers.list_jobs().data

    assert_same_shape(
        jobs,
        sdk_sample(globus_sdk.TimersClient.list_jobs),
        extra=_DOCUMENTED_EXTRA | {"label"},
        skip={"$.jobs[].callback_body.body"},
    )
