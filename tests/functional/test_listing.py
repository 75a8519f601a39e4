"""Recording what a finished Globus task delivered (services.watch.listing), real SDK over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aws_copy_pt.db.models import Transfer
from aws_copy_pt.errors import NeedsLoginError, UsageError
from aws_copy_pt.sandbox.globus_standin import FileSpec, GlobusStandIn
from aws_copy_pt.services.transfers import retry_transfer
from aws_copy_pt.services.watch.listing import list_delivered
from aws_copy_pt.services.watch.poll import poll_transfers
from tests.fixtures.globus_world import STAGING_BUCKET, GlobusWorld, build_world, files


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, tmp_path / "acp-home", monkeypatch)
    world.register_staging()
    world.login()
    yield world
    world.db.close()


def _listed(world: GlobusWorld, specs: list[FileSpec], **task: Any) -> int:
    """A transfer whose task finished and was polled into LISTING."""
    task.setdefault("script", ["SUCCEEDED"])
    transfer_id = world.add_transfer(world.add_task(specs, **task), dest_prefix="archive/")
    poll_transfers(world.db, world.client())
    return transfer_id


def _markers(world: GlobusWorld) -> list[str | None]:
    return [
        r.query.get("marker") for r in world.standin.requests if "successful_transfers" in r.path
    ]


def test_thousands_of_delivered_files_are_paged_into_object_rows(world: GlobusWorld) -> None:
    transfer_id = _listed(world, files(2500))

    report = list_delivered(world.db, world.client(), transfer_id)

    assert (report.pages, report.entries, report.added, report.finished) == (3, 2500, 2500, True)
    assert _markers(world) == [None, "1000", "2000"]
    transfer = world.transfer(transfer_id)
    assert (transfer.state, transfer.objects_total, transfer.listing_marker) == (
        "COPYING",
        2500,
        None,
    )
    objects = world.objects(transfer_id)
    assert len({o.source_key for o in objects}) == 2500
    first = objects[0]
    assert (first.state, first.size) == ("pending", None)
    assert (first.source_key, first.dest_key) == ("run1/f00000.bin", "archive/run1/f00000.bin")
    assert first.globus_source_path == "/data/f00000.bin"
    assert first.globus_destination_path == f"/{STAGING_BUCKET}/run1/f00000.bin"


class BeforePage:
    """The real client, with ``action`` run just before page ``page`` is fetched."""

    def __init__(self, client: Any, page: int, action: Callable[[], None]) -> None:
        self._client = client
        self._page = page
        self._action = action
        self._calls = 0

    def task_successful_transfers(self, task_id: str, **kwargs: Any) -> Any:
        self._calls += 1
        if self._calls == self._page:
            self._action()
        return self._client.task_successful_transfers(task_id, **kwargs)


def test_5xx_burst_while_paging_pauses_and_resumes_from_the_stored_marker(
    world: GlobusWorld,
) -> None:
    transfer_id = _listed(world, files(2500))

    def burst() -> None:
        world.standin.inject("GET", r"successful_transfers", status=503, times=3)

    paused = list_delivered(world.db, BeforePage(world.client(), 2, burst), transfer_id)  # type: ignore[arg-type]

    assert (paused.finished, paused.added) == (False, 1000)
    assert paused.retry_later is not None and "503" in paused.retry_later
    transfer = world.transfer(transfer_id)
    assert (transfer.state, transfer.listing_marker) == ("LISTING", "1000")

    resumed = list_delivered(world.db, world.client(), transfer_id)

    assert (resumed.finished, resumed.added, resumed.state) == (True, 1500, "COPYING")
    assert _markers(world) == [None, "1000", "1000", "1000", "1000", "2000"]
    assert len(world.objects(transfer_id)) == 2500


def test_crash_between_pages_loses_and_duplicates_nothing(world: GlobusWorld) -> None:
    transfer_id = _listed(world, files(2500))

    def crash() -> None:
        raise RuntimeError("the process was killed")

    with pytest.raises(RuntimeError):
        list_delivered(world.db, BeforePage(world.client(), 2, crash), transfer_id)  # type: ignore[arg-type]
    assert len(world.objects(transfer_id)) == 1000

    report = list_delivered(world.db, world.client(), transfer_id)

    assert (report.pages, report.added) == (2, 1500)
    assert world.transfer(transfer_id).objects_total == 2500


def test_listing_a_page_twice_adds_no_duplicate_rows(world: GlobusWorld) -> None:
    transfer_id = _listed(world, files(1500))
    with world.db.session() as session:
        session.get(Transfer, transfer_id).listing_marker = "1000"  # type: ignore[union-attr]
    list_delivered(world.db, world.client(), transfer_id)  # the second page only
    with world.db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        transfer.state, transfer.listing_marker = "LISTING", None

    report = list_delivered(world.db, world.client(), transfer_id)  # everything again

    assert (report.entries, report.added) == (1500, 1000)
    assert len(world.objects(transfer_id)) == 1500


def test_still_in_progress_answer_leaves_the_transfer_listing(world: GlobusWorld) -> None:
    # The poller saw SUCCEEDED, but the list is not served yet: Globus answers 400.
    transfer_id = world.add_transfer(world.add_task(files(3), script=["ACTIVE"]), state="LISTING")

    report = list_delivered(world.db, world.client(), transfer_id)

    assert report.finished is False
    assert report.retry_later is not None and "still in progress" in report.retry_later
    transfer = world.transfer(transfer_id)
    assert (transfer.state, transfer.objects_total) == ("LISTING", 0)
    assert world.objects(transfer_id) == []


def test_paths_that_escape_the_mapping_become_failed_rows(world: GlobusWorld) -> None:
    specs = [
        FileSpec("/d/ok", f"/{STAGING_BUCKET}/run1/ok.bin"),
        FileSpec("/d/up", f"/{STAGING_BUCKET}/run1/../../other-bucket/x"),
        FileSpec("/d/other", "/other-bucket/run1/x.bin"),
        FileSpec("/d/dot", f"/{STAGING_BUCKET}/./run1/y.bin"),
        FileSpec("/d/empty", f"/{STAGING_BUCKET}/run1//z.bin"),
    ]
    transfer_id = _listed(world, specs)

    report = list_delivered(world.db, world.client(), transfer_id)

    assert (report.added, report.unmappable, report.state) == (5, 4, "COPYING")
    by_path = {o.globus_destination_path: o for o in world.objects(transfer_id)}
    assert by_path[f"/{STAGING_BUCKET}/run1/ok.bin"].state == "pending"
    up = by_path[f"/{STAGING_BUCKET}/run1/../../other-bucket/x"]
    assert (up.state, up.dest_key) == ("failed", None)
    assert "'..' segment" in (up.last_error or "") and "not copied" in (up.last_error or "")
    other = by_path["/other-bucket/run1/x.bin"]
    assert "not in the staging bucket" in (other.last_error or "")
    assert world.transfer(transfer_id).objects_total == 5
    assert "listing" in world.event_kinds(transfer_id)


def test_special_characters_reach_keys_unchanged(world: GlobusWorld) -> None:
    names = ["a b.txt", "plus+.dat", "pct%41.dat", "hash#1.dat", "μ-data/ü.h5"]
    transfer_id = _listed(world, [FileSpec(f"/s/{n}", f"/{STAGING_BUCKET}/{n}") for n in names])

    list_delivered(world.db, world.client(), transfer_id)

    keys = sorted((o.source_key, o.dest_key) for o in world.objects(transfer_id))
    assert keys == sorted((n, f"archive/{n}") for n in names)


def test_task_that_delivered_nothing_is_done(world: GlobusWorld) -> None:
    transfer_id = _listed(world, [])

    report = list_delivered(world.db, world.client(), transfer_id)

    assert report.state == "DONE"
    assert world.transfer(transfer_id).finished_at is not None


def test_copy_partial_lists_only_what_a_failed_task_delivered(world: GlobusWorld) -> None:
    transfer_id = _listed(world, files(5), script=["FAILED"], files_ok_on_failure=2)
    assert world.transfer(transfer_id).state == "FAILED"
    with world.db.session() as session:
        retry_transfer(session, transfer_id, copy_partial=True)

    report = list_delivered(world.db, world.client(), transfer_id)

    assert (report.added, report.state) == (2, "COPYING")
    assert [o.source_key for o in world.objects(transfer_id)] == [
        "run1/f00000.bin",
        "run1/f00001.bin",
    ]


def test_copy_partial_of_a_task_where_nothing_arrived_fails_again(world: GlobusWorld) -> None:
    transfer_id = _listed(world, files(3), script=["FAILED"])
    with world.db.session() as session:
        retry_transfer(session, transfer_id, copy_partial=True)

    report = list_delivered(world.db, world.client(), transfer_id)

    assert report.state == "FAILED"


def test_deleted_task_history_fails_the_transfer(world: GlobusWorld) -> None:
    transfer_id = _listed(world, files(2))
    world.standin.inject("GET", r"successful_transfers", status=404)

    report = list_delivered(world.db, world.client(), transfer_id)

    assert report.state == "FAILED"
    assert "history may have been deleted" in (world.transfer(transfer_id).last_error or "")


def test_revoked_login_during_listing_needs_login_and_resumes_after(world: GlobusWorld) -> None:
    transfer_id = _listed(world, files(3))
    world.standin.revoke_refresh_token(world.stored_refresh_token())

    with pytest.raises(NeedsLoginError):
        list_delivered(world.db, world.client(), transfer_id)
    assert world.transfer(transfer_id).state == "NEEDS_LOGIN"

    world.login()
    poll_transfers(world.db, world.client())  # the task is SUCCEEDED: back to LISTING
    report = list_delivered(world.db, world.client(), transfer_id)
    assert (report.state, report.added) == ("COPYING", 3)


def test_only_listing_transfers_are_listed(world: GlobusWorld) -> None:
    transfer_id = world.add_transfer(world.add_task(files(1)))

    with pytest.raises(UsageError, match="not LISTING"):
        list_delivered(world.db, world.client(), transfer_id)
