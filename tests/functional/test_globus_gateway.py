"""The Globus gateway (globus.gateway): plain documents back, our typed errors out.

The real SDK talks HTTP to the local stand-in; failures are the stand-in's real answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_copy_pt.errors import NeedsLoginError, RemoteError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.errors import Failure, GlobusCallError, classify, describe
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn
from tests.fixtures.globus_world import GlobusWorld, build_world, files


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, tmp_path / "acp-home", monkeypatch)
    world.login()
    yield world
    world.db.close()


def test_task_documents_come_back_as_plain_dicts(world: GlobusWorld) -> None:
    task_id = world.add_task(files(2), script=["ACTIVE"])

    [listed] = gateway.tasks_by_id(world.client(), [task_id])
    document = gateway.get_task(world.client(), task_id)

    assert type(listed) is dict and type(document) is dict
    assert listed["task_id"] == document["task_id"] == task_id
    assert document["status"] == "ACTIVE"


def test_a_finished_tasks_files_come_page_by_page_until_no_marker(world: GlobusWorld) -> None:
    client = world.client()
    world.standin.settings.successful_transfers_page_size = 2
    task_id = world.add_task(files(3), script=["SUCCEEDED"])

    entries, marker, pages = [], None, 0
    while True:
        page = gateway.successful_transfers(client, task_id, marker=marker)
        entries += page.entries
        pages += 1
        if page.next_marker is None:
            break
        marker = page.next_marker

    assert sorted(e["destination_path"] for e in entries) == [
        f"/staging-bucket/run1/f{i:05}.bin" for i in range(3)
    ]
    assert pages == 2


def test_a_submitted_transfer_is_a_task_globus_knows(world: GlobusWorld) -> None:
    client = world.client()

    task_id = gateway.submit_transfer(
        client,
        source=(world.source, "/data/run1/"),
        destination=(world.staging, "/staging-bucket/run1/"),
        label="nightly",
        recursive=True,
    )

    assert gateway.get_task(client, task_id)["label"] == "nightly"


def test_a_collection_document_names_the_collection(world: GlobusWorld) -> None:
    document = gateway.get_collection(world.client(), world.staging)

    assert document["display_name"] == "S3 staging"


def test_an_unknown_task_is_a_not_found_call_error_naming_what_was_done(
    world: GlobusWorld,
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"

    with pytest.raises(GlobusCallError) as caught:
        gateway.get_task(world.client(), missing)

    error = caught.value
    assert isinstance(error, RemoteError)
    assert error.failure is Failure.NOT_FOUND and classify(error) is Failure.NOT_FOUND
    assert error.http_status == 404
    assert error.message.startswith(f"Globus refused looking up task {missing}: ")
    assert describe(error) == error.description
    assert error.description.startswith("Globus answered 404")


def test_a_server_failure_is_transient_with_a_hint_to_retry(world: GlobusWorld) -> None:
    client = world.client()
    world.standin.inject("GET", r"/task_list", status=503, times=10)

    with pytest.raises(GlobusCallError) as caught:
        gateway.recent_transfer_tasks(client, limit=10)

    assert caught.value.failure is Failure.TRANSIENT
    assert "transiently while listing your recent tasks" in caught.value.message
    assert caught.value.hint is not None and "retry" in caught.value.hint


def test_a_revoked_login_raises_needs_login_not_a_call_error(world: GlobusWorld) -> None:
    client = world.client()
    world.standin.revoke_refresh_token(world.stored_refresh_token())
    world.standin.expire_access_tokens()

    with pytest.raises(NeedsLoginError) as caught:
        gateway.tasks_by_id(client, [world.add_task(files(1))])

    assert not isinstance(caught.value, GlobusCallError)
    assert classify(caught.value) is Failure.LOGIN


def test_cancelling_a_task_leaves_it_cancelled_at_globus(world: GlobusWorld) -> None:
    client = world.client()
    task_id = world.add_task(files(1), script=["ACTIVE"])

    gateway.cancel_task(client, task_id)

    assert gateway.get_task(client, task_id)["fatal_error"]["code"] == "CANCELED"
