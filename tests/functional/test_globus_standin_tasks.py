"""The stand-in's task_list filters, its 1,000-result cap, files Globus skipped, a long task
history and call counting: what follow rules rely on, through the real TransferClient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import globus_sdk
import pytest

from aws_copy_pt.sandbox.globus_standin import FileSpec, GlobusStandIn, SkippedFile, TaskInfo, User
from tests.fixtures.globus import TransferClientFor
from tests.fixtures.globus_contract import assert_same_shape, sdk_sample

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Lab:
    alice: User
    bob: User
    source: str
    staging: str
    client: globus_sdk.TransferClient

    def ids(self, **task_list_args: Any) -> list[str]:
        return [task["task_id"] for task in self.client.task_list(**task_list_args)]


@pytest.fixture
def lab(globus_standin: GlobusStandIn, transfer_client_for: TransferClientFor) -> Lab:
    alice = globus_standin.add_user("alice@example.org")
    bob = globus_standin.add_user("bob@example.org")
    source = globus_standin.add_collection("Sequencer", owner=alice)
    staging = globus_standin.add_collection("S3 staging", owner=alice)
    globus_standin.set_clock(DAY0 + timedelta(days=30))
    return Lab(alice, bob, source, staging, transfer_client_for(alice))


def _done(standin: GlobusStandIn, lab: Lab, when: datetime, label: str | None = None) -> str:
    files = [FileSpec("/run/a.fastq", "/staging/run/a.fastq", 10)]
    return standin.add_task(
        lab.alice, lab.source, lab.staging, files, script=["SUCCEEDED"], request_time=when,
        completion_time=when + timedelta(hours=1), label=label,
    )  # fmt: skip


def _bad_request(lab: Lab, filter_string: str) -> globus_sdk.TransferAPIError:
    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        lab.client.task_list(filter=filter_string)
    return caught.value


# -- filters ----------------------------------------------------------------------------


def test_request_time_range_with_an_open_end_lists_the_tasks_since_a_mark(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    old, on_mark, new = (_done(globus_standin, lab, DAY0 + timedelta(days=d)) for d in (1, 2, 3))

    since_mark = lab.ids(filter={"type": "TRANSFER", "request_time": "2026-01-03 00:00:00,"})

    assert set(since_mark) == {on_mark, new}
    assert old not in since_mark


def test_request_time_range_includes_its_start_excludes_its_end_and_reads_iso_forms(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    jan = {d: _done(globus_standin, lab, datetime(2026, 1, d, tzinfo=UTC)) for d in (2, 3, 4)}

    assert lab.ids(filter="request_time:2026-01-02,2026-01-04") == [jan[3], jan[2]]
    assert lab.ids(filter="request_time:,2026-01-03T00:00:00Z") == [jan[2]]
    assert lab.ids(filter="request_time:2026-01-03T01:00:00+01:00,") == [jan[4], jan[3]]


def test_completion_time_with_an_open_end_also_lists_unfinished_tasks(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    finished = _done(globus_standin, lab, DAY0 + timedelta(days=5))
    running = globus_standin.add_task(lab.alice, lab.source, lab.staging, [], script=["ACTIVE"])
    _done(globus_standin, lab, DAY0)

    assert set(lab.ids(filter="completion_time:2026-01-06 00:00:00,")) == {finished, running}
    assert lab.ids(filter="completion_time:2026-01-06,2026-01-07") == [finished]


def test_label_filters_exact_like_and_negated_all_hold_together(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    nightly = _done(globus_standin, lab, DAY0 + timedelta(days=1), "Nightly run 41")
    nightly_test = _done(globus_standin, lab, DAY0 + timedelta(days=2), "nightly run 42 TEST")
    _done(globus_standin, lab, DAY0 + timedelta(days=3), "manual upload")
    unlabeled = _done(globus_standin, lab, DAY0 + timedelta(days=4))

    assert lab.ids(filter="label:=Nightly run 41") == [nightly]
    assert lab.ids(filter="label:~nightly*") == [nightly_test, nightly]
    assert lab.ids(filter="label:~nightly") == []  # "~" matches the whole label
    assert lab.ids(filter="label:~*run*,!~*test*") == [nightly]
    assert set(lab.ids(filter="label:!manual upload")) == {nightly, nightly_test, unlabeled}


def test_type_and_status_filters_take_comma_separated_lists(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    succeeded = _done(globus_standin, lab, DAY0)
    failed = globus_standin.add_task(lab.alice, lab.source, lab.staging, [], script=["FAILED"])
    globus_standin.add_task(lab.alice, lab.source, lab.staging, [], script=["ACTIVE"])

    found = lab.ids(filter={"type": ["TRANSFER", "DELETE"], "status": ["SUCCEEDED", "FAILED"]})

    assert set(found) == {succeeded, failed}
    assert lab.ids(filter="type:DELETE") == []


@pytest.mark.parametrize(
    "filter_string",
    [
        "owner:alice",  # not a task_list filter field
        "status",  # a clause without ":value"
        "status:DONE",
        "type:COPY",
        "task_id:not-a-uuid",
        "request_time:yesterday,",
        "request_time:,",  # a range needs at least one end
        "completion_time:2026-01-01,2026-01-02,2026-01-03",
    ],
)
def test_an_invalid_filter_is_a_400_bad_request(lab: Lab, filter_string: str) -> None:
    error = _bad_request(lab, filter_string)

    assert (error.http_status, error.code) == (400, "ClientError.BadRequest")


def test_only_the_callers_tasks_are_listed(
    globus_standin: GlobusStandIn, lab: Lab, transfer_client_for: TransferClientFor
) -> None:
    mine = _done(globus_standin, lab, DAY0)
    globus_standin.add_task(lab.bob, lab.source, lab.staging, [], script=["SUCCEEDED"])

    listing = lab.client.task_list()

    assert [task["task_id"] for task in listing] == [mine]
    assert listing["total"] == 1
    assert transfer_client_for(lab.bob).task_list(filter=f"task_id:{mine}")["total"] == 0


def test_orderby_sorts_and_an_unknown_field_is_a_400(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    first, second = (_done(globus_standin, lab, DAY0 + timedelta(days=d)) for d in (1, 2))

    assert lab.ids(orderby="request_time ASC") == [first, second]
    assert lab.ids() == [second, first]  # newest first by default
    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        lab.client.task_list(orderby="size DESC")
    assert caught.value.http_status == 400


def test_a_task_id_filter_over_the_configured_cap_is_a_400(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    ids = [_done(globus_standin, lab, DAY0 + timedelta(minutes=m)) for m in range(51)]
    globus_standin.settings.max_task_ids_per_filter = 50

    assert len(lab.ids(filter={"task_id": ids[:50]}, limit=100)) == 50
    assert _bad_request(lab, "task_id:" + ",".join(ids)).http_status == 400


# -- paging and the 1,000-result cap ----------------------------------------------------------


def test_task_list_never_pages_past_the_thousandth_result(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    globus_standin.add_historical_tasks(lab.alice, lab.source, lab.staging, 1200)

    everything = list(lab.client.paginated.task_list().items())
    last_page = lab.client.task_list(limit=100, offset=900)
    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        lab.client.task_list(limit=100, offset=901)

    assert len(everything) == 1000
    assert (last_page["total"], len(last_page["DATA"])) == (1200, 100)
    assert (caught.value.http_status, caught.value.code) == (400, "ClientError.BadRequest")
    assert [(r.query["limit"], r.query.get("offset")) for r in globus_standin.requests][:1] == [
        ("1000", None)
    ]


def test_five_thousand_historical_tasks_cost_one_filtered_call_to_find_the_new_ones(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    history = globus_standin.add_historical_tasks(
        lab.alice, lab.source, lab.staging, 5000, before=DAY0 + timedelta(days=20)
    )
    new = _done(globus_standin, lab, DAY0 + timedelta(days=25))
    mark = globus_standin.request_mark()

    found = lab.ids(filter="type:TRANSFER/request_time:2026-01-21 00:00:00,", limit=1000)

    assert found == [new]
    assert len(history) == len(set(history)) == 5000
    assert globus_standin.task(history[0]).status == "SUCCEEDED"
    assert globus_standin.call_counts(since=mark) == {"transfer.task_list": 1}


# -- files Globus skipped -------------------------------------------------------------------


def test_succeeded_task_with_skipped_files_lists_them_apart_from_the_delivered_ones(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    delivered: list[TaskInfo] = []
    globus_standin.settings.on_succeeded = delivered.append
    skipped = [
        SkippedFile("/run/locked.bam", "/staging/run/locked.bam"),
        SkippedFile("/run/gone.bam", "/staging/run/gone.bam", "FILE_NOT_FOUND", "No such file"),
    ]
    files = [FileSpec("/run/a.bam", "/staging/run/a.bam", 5)]
    task_id = globus_standin.add_task(
        lab.alice, lab.source, lab.staging, files, script=["ACTIVE", "SUCCEEDED"], skipped=skipped
    )
    lab.client.get_task(task_id)

    task = lab.client.get_task(task_id)
    moved = [item["source_path"] for item in lab.client.task_successful_transfers(task_id)]
    left_out = list(lab.client.task_skipped_errors(task_id))

    assert (task["status"], task["skip_source_errors"], task["subtasks_skipped_errors"]) == (
        "SUCCEEDED",
        True,
        2,
    )
    assert moved == ["/run/a.bam"]
    assert [(e["source_path"], e["error_code"]) for e in left_out] == [
        ("/run/locked.bam", "PERMISSION_DENIED"),
        ("/run/gone.bam", "FILE_NOT_FOUND"),
    ]
    assert [info.files for info in delivered] == [tuple(files)]
    assert delivered[0].skipped == tuple(skipped)


def test_skipped_errors_page_by_marker(globus_standin: GlobusStandIn, lab: Lab) -> None:
    globus_standin.settings.skipped_errors_page_size = 2
    skipped = [(f"/run/{i}.bam", f"/staging/run/{i}.bam") for i in range(5)]
    task_id = globus_standin.add_task(
        lab.alice, lab.source, lab.staging, [], script=["SUCCEEDED"], skipped=skipped
    )

    entries = list(lab.client.paginated.task_skipped_errors(task_id).items())

    assert [e["source_path"] for e in entries] == [src for src, _ in skipped]
    markers = [r.query.get("marker") for r in globus_standin.requests if "skipped" in r.path]
    assert markers == [None, "2", "4"]


def test_skipped_errors_are_not_available_while_the_task_runs(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    task_id = globus_standin.add_task(
        lab.alice, lab.source, lab.staging, [], script=["ACTIVE"], skipped=[("/a", "/b")]
    )

    with pytest.raises(globus_sdk.TransferAPIError) as caught:
        lab.client.task_skipped_errors(task_id)

    assert (caught.value.http_status, caught.value.code) == (400, "ClientError.BadRequest")
    assert "still in progress" in str(caught.value.message)


def test_a_task_that_skipped_nothing_has_no_skipped_errors(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    task_id = _done(globus_standin, lab, DAY0)

    page = lab.client.task_skipped_errors(task_id)

    assert (page["DATA"], page["next_marker"]) == ([], None)
    assert lab.client.get_task(task_id)["skip_source_errors"] is False


# -- call counting ------------------------------------------------------------------------


def test_call_counts_name_each_operation_like_the_sdk_method(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    task_id = _done(globus_standin, lab, DAY0)
    mark = globus_standin.request_mark()

    lab.client.get_task(task_id)
    lab.client.task_list()
    lab.client.task_list()
    with pytest.raises(globus_sdk.TransferAPIError):
        lab.client.get("/v0.10/no_such_operation")

    assert globus_standin.call_counts(since=mark) == {
        "transfer.get_task": 1,
        "transfer.task_list": 2,
        "": 1,
    }
    assert globus_standin.call_counts()["transfer.get_task"] == 1


# -- contracts ------------------------------------------------------------------------------


def test_task_list_page_has_the_shape_of_the_sdk_sample(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    globus_standin.add_task(
        lab.alice, lab.source, lab.staging, [("/a", "/b", 3)], script=["SUCCEEDED"],
        skipped=[("/c", "/d")], label="with a skip",
    )  # fmt: skip
    globus_standin.add_task(lab.alice, lab.source, lab.staging, [("/e", "/f")], script=["ACTIVE"])

    page = lab.client.task_list(limit=1000)

    assert_same_shape(page.data, sdk_sample(globus_sdk.TransferClient.task_list))


def test_successful_transfers_page_has_the_shape_of_the_sdk_sample(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    task_id = _done(globus_standin, lab, DAY0)
    sample = sdk_sample(globus_sdk.TransferClient.endpoint_manager_task_successful_transfers)

    assert_same_shape(lab.client.task_successful_transfers(task_id).data, sample)


# globus_sdk.testing has no skipped_errors data; globus-cli records the real answer in
# tests/files/api_fixtures/skipped_error_list.yaml (items), the envelope is the one of
# successful_transfers (marker paging), as globus-sdk-javascript types both.
SKIPPED_ERRORS_SAMPLE = {
    "DATA_TYPE": "skipped_errors",
    "marker": 0,
    "next_marker": None,
    "DATA": [
        {
            "DATA_TYPE": "skipped_error",
            "checksum_algorithm": None,
            "destination_path": "/~/restricted-file",
            "error_code": "PERMISSION_DENIED",
            "error_details": "Error (transfer)\nMessage: Fatal FTP response\n",
            "error_time": "2021-01-29T18:50:44+00:00",
            "external_checksum": None,
            "is_delete_destination_extra": False,
            "is_directory": False,
            "is_symlink": False,
            "source_path": "/~/restricted-file",
        }
    ],
}


def test_skipped_errors_page_has_the_shape_globus_cli_records(
    globus_standin: GlobusStandIn, lab: Lab
) -> None:
    task_id = globus_standin.add_task(
        lab.alice, lab.source, lab.staging, [], script=["SUCCEEDED"], skipped=[("/a", "/b")]
    )

    assert_same_shape(lab.client.task_skipped_errors(task_id).data, SKIPPED_ERRORS_SAMPLE)
