"""Files Globus skipped (skip_source_errors) on watched transfers: read with the last page of the
file list, recorded apart from object rows, and a transfer with any never ends DONE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aws_copy_pt.db.models import GlobusSkippedFile
from aws_copy_pt.errors import UsageError
from aws_copy_pt.sandbox.globus_standin import GlobusStandIn, SkippedFile
from aws_copy_pt.services.transfers import retry_transfer, transfer_detail
from aws_copy_pt.services.watch.listing import list_delivered
from aws_copy_pt.services.watch.poll import poll_transfers
from tests.fixtures.globus_world import STAGING_BUCKET, GlobusWorld, build_world, files

LOCKED = SkippedFile("/data/locked.bin", f"/{STAGING_BUCKET}/run1/locked.bin")
GONE = SkippedFile(
    "/data/gone.bin", f"/{STAGING_BUCKET}/run1/gone.bin", "FILE_NOT_FOUND", "No such file"
)


@pytest.fixture
def world(
    globus_standin: GlobusStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GlobusWorld]:
    world = build_world(globus_standin, tmp_path / "acp-home", monkeypatch)
    world.register_staging()
    world.login()
    yield world
    world.db.close()


def _listed(world: GlobusWorld, count: int, **task: Any) -> int:
    transfer_id = world.add_transfer(world.add_task(files(count), script=["SUCCEEDED"], **task))
    poll_transfers(world.db, world.client())
    list_delivered(world.db, world.client(), transfer_id)
    return transfer_id


def _skipped(world: GlobusWorld, transfer_id: int) -> list[tuple[str, str | None, str | None]]:
    with world.db.session() as session:
        rows = session.scalars(
            select(GlobusSkippedFile).where(GlobusSkippedFile.transfer_id == transfer_id)
        )
        return [(r.source_path, r.destination_path, r.error_code) for r in rows]


def test_skipped_files_are_recorded_beside_the_delivered_ones_and_the_copy_goes_on(
    world: GlobusWorld,
) -> None:
    transfer_id = _listed(world, 3, skipped=[LOCKED, GONE])

    transfer = world.transfer(transfer_id)
    assert transfer.state == "COPYING"
    assert len(world.objects(transfer_id)) == 3  # skipped files are not object rows
    assert sorted(_skipped(world, transfer_id)) == [
        (GONE.source_path, GONE.destination_path, "FILE_NOT_FOUND"),
        (LOCKED.source_path, LOCKED.destination_path, "PERMISSION_DENIED"),
    ]
    assert "globus_skipped" in world.event_kinds(transfer_id)
    assert transfer.last_error is not None and "Globus skipped 2 file(s)" in transfer.last_error


def test_a_task_whose_every_file_was_skipped_ends_partial_at_once(world: GlobusWorld) -> None:
    transfer_id = _listed(world, 0, skipped=[LOCKED])

    assert world.transfer(transfer_id).state == "PARTIAL"
    with world.db.session() as session:
        detail = transfer_detail(session, transfer_id)
    assert detail.globus_skipped_total == 1
    assert detail.globus_skipped[0].destination_path == LOCKED.destination_path


def test_a_task_without_skipped_files_asks_once_and_records_none(world: GlobusWorld) -> None:
    mark = world.standin.request_mark()
    transfer_id = _listed(world, 2)

    assert _skipped(world, transfer_id) == []
    assert world.standin.call_counts(since=mark)["transfer.task_skipped_errors"] == 1


def test_skipped_files_are_read_once_the_file_list_is_complete_even_after_a_pause(
    world: GlobusWorld,
) -> None:
    world.standin.inject("GET", r"/skipped_errors", status=503, times=5)
    transfer_id = _listed(world, 2, skipped=[LOCKED])
    assert world.transfer(transfer_id).state == "LISTING"  # held back: nothing half-recorded

    list_delivered(world.db, world.client(), transfer_id)

    assert world.transfer(transfer_id).state == "COPYING"
    assert len(_skipped(world, transfer_id)) == 1
    assert len(world.objects(transfer_id)) == 2


def test_globus_refusing_the_question_is_noted_and_the_copy_goes_on(world: GlobusWorld) -> None:
    world.standin.inject("GET", r"/skipped_errors", status=400)

    transfer_id = _listed(world, 2)

    assert world.transfer(transfer_id).state == "COPYING"
    assert "listing" in world.event_kinds(transfer_id)


def test_retry_explains_that_only_globus_can_send_skipped_files_again(world: GlobusWorld) -> None:
    transfer_id = _listed(world, 0, skipped=[LOCKED])

    with world.db.session() as session, pytest.raises(UsageError, match="Globus skipped 1"):
        retry_transfer(session, transfer_id)
