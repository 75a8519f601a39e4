"""A Globus Timer's runs as the gateway reads them (globus.gateway.timer_runs): each run's task
id from ``resource_id``, else ``data.details.task_id`` (the SDK's recorded V1 payload)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import globus_sdk

from aws_copy_pt.globus import gateway
from tests.fixtures.globus_contract import sdk_sample


class _RecordedTimers:
    """Answers get_job with a fixed document (a narrow stand-in for TimersClient)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.asked: list[dict[str, Any]] = []

    def get_job(self, job_id: str, *, query_params: dict[str, Any]) -> dict[str, Any]:
        self.asked.append(query_params)
        return self.document


def _runs(document: dict[str, Any], page: str | None = None) -> gateway.TimerRunsPage:
    return gateway.timer_runs(_RecordedTimers(document), "job", page=page)  # type: ignore[arg-type]


def test_the_sdks_recorded_timer_gives_its_runs_task_id_from_the_details() -> None:
    sample = sdk_sample(globus_sdk.TimersClient.get_job)

    page = _runs(sample)

    [run] = page.runs
    assert run.task_id == "22f0148c-b1f2-11ec-b87e-3912f602f346"
    assert run.ran_at == datetime(2022, 4, 1, 19, 30, 7, 103090, tzinfo=UTC)
    assert (page.name, page.next_page) == ("example timer", None)


def test_resource_id_wins_over_the_details() -> None:
    document = {
        "name": "t",
        "results": {
            "data": [
                {
                    "resource_id": "11111111-0000-4000-8000-000000000001",
                    "ran_at": "2026-03-02T02:00:00+00:00",
                    "data": {"details": {"task_id": "22222222-0000-4000-8000-000000000002"}},
                }
            ],
            "page_next": "next-token",
        },
    }

    page = _runs(document)

    assert page.runs[0].task_id == "11111111-0000-4000-8000-000000000001"
    assert page.next_page == "next-token"


def test_a_run_that_submitted_no_task_has_no_task_id() -> None:
    document = {"results": {"data": [{"ran_at": "2026-03-02T02:00:00Z", "data": None}]}}

    [run] = _runs(document).runs

    assert (run.task_id, run.ran_at) == (None, datetime(2026, 3, 2, 2, 0, tzinfo=UTC))


def test_the_next_page_is_asked_with_its_token() -> None:
    client = _RecordedTimers({"results": {"data": []}})

    gateway.timer_runs(client, "job", page="abc")  # type: ignore[arg-type]

    assert client.asked == [{"results_pt": "abc"}]
