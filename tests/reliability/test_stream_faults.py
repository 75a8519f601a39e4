"""Streamed copies under faults: a source rewritten mid-copy, a body cut short, a kill -9 in the
middle of a multipart upload. Whatever happens, nothing unverified is completed or recorded
verified, no multipart upload is left open, and a resume sends nothing the store acknowledged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.stream import PART, Store, StreamWorld, body_of, payload
from tests.support.faultproxy import FaultKind, FaultProxy, ProxyRecord, matching

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("source", "refused"),
    [("moto", True), ("rclone", False)],
    ids=["moto-answers-412", "rclone-ignores-if-match"],
)
def test_a_source_overwritten_mid_copy_fails_as_changed_and_leaves_nothing(
    stream_world: StreamWorld, source: str, refused: bool
) -> None:
    world = stream_world
    src, dst = (world.moto, world.rclone) if source == "moto" else (world.rclone, world.moto)
    proxy = world.connect_via_proxy(src, dst, proxied=src)
    src.s3.put_object(Bucket=src.bucket, Key="moving.bin", Body=payload(3 * PART))
    options = {"part_size": PART, "stream_budget": PART}  # one part at a time
    transfer = world.transfer(src, dst, ["moving.bin"], options=options)
    gate = proxy.hold(matching("GetObject"), nth=2)

    running = world.copy_in_background(transfer)
    assert gate.wait(120)
    src.s3.put_object(Bucket=src.bucket, Key="moving.bin", Body=payload(3 * PART, seed=2))
    gate.release()
    report = running.result(timeout=300)

    assert report.verified == 0 and report.failed == 1
    row = world.rows(transfer)["moving.bin"]
    assert row.state == "failed" and row.verified_by is None
    assert "changed during the copy" in (row.last_error or "")
    assert world.keys(dst) == set()
    assert world.open_uploads(dst) == []
    statuses = [r.status for r in proxy.records if r.operation == "GetObject"]
    assert (412 in statuses) is refused  # rclone answers 200: caught by comparing the ETag


@pytest.mark.parametrize("size", [1000, 3 * PART], ids=["small", "multipart"])
def test_a_connection_reset_mid_body_is_read_again(stream_world: StreamWorld, size: int) -> None:
    world = stream_world
    src, dst = world.moto, world.rclone
    proxy = world.connect_via_proxy(src, dst, proxied=src)
    proxy.fail(matching("GetObject"), FaultKind.RESET_MID_BODY, times=2)
    data = payload(size)
    src.s3.put_object(Bucket=src.bucket, Key="cut.bin", Body=data)
    transfer = world.transfer(src, dst, ["cut.bin"], options={"part_size": PART})

    report = world.copy(transfer)

    assert report.verified == 1, report.failures
    assert body_of(dst, "cut.bin") == data
    assert proxy.faults[FaultKind.RESET_MID_BODY] == 2


@pytest.mark.heavy
def test_kill_9_mid_object_resumes_from_list_parts_without_sending_acked_parts_again(
    stream_world: StreamWorld,
) -> None:
    world = stream_world
    big = _five_parts_one_at_a_time(world)
    proxy, transfer = big.proxy, big.transfer
    gate = proxy.hold(matching("UploadPart"), nth=3)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.stream_child", str(world.home), str(transfer)],
        cwd=REPO,
    )
    try:
        assert gate.wait(180), "the child never reached its third part"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(60)
    finally:
        gate.release(forward=False)
    acked = {int(r.query["partNumber"]) for r in proxy.records if _acked_part(r)}
    assert acked == {1, 2}
    assert world.rows(transfer)["big.bin"].upload_id  # stored before the first part

    assert _resumed_sending(big) == [3, 4, 5]


def _acked_part(record: ProxyRecord) -> bool:
    return record.operation == "UploadPart" and record.succeeded


@dataclass
class _BigObject:
    world: StreamWorld
    dst: Store
    proxy: FaultProxy
    data: bytes
    transfer: int


def _five_parts_one_at_a_time(world: StreamWorld) -> _BigObject:
    """A five-part object on rclone, streamed into moto through a fault proxy, with a byte
    budget of one part (so parts go one at a time)."""
    src, dst = world.rclone, world.moto
    proxy = world.connect_via_proxy(src, dst, proxied=dst)
    data = payload(4 * PART + 11)
    src.s3.put_object(Bucket=src.bucket, Key="big.bin", Body=data)
    options = {"part_size": PART, "stream_budget": PART}
    transfer = world.transfer(src, dst, ["big.bin"], options=options)
    return _BigObject(world, dst, proxy, data, transfer)


def _resumed_sending(big: _BigObject) -> list[int]:
    """Run the copy again: it must finish the same upload (ListParts, no new one), the object
    arrive whole and no upload stay open. The part numbers it sent."""
    seen = len(big.proxy.records)

    report = big.world.copy(big.transfer)

    assert report.verified == 1, report.failures
    assert body_of(big.dst, "big.bin") == big.data
    again = big.proxy.records[seen:]
    operations = [r.operation for r in again]
    assert "ListParts" in operations and "CreateMultipartUpload" not in operations
    assert big.world.open_uploads(big.dst) == []
    return sorted(int(r.query["partNumber"]) for r in again if r.operation == "UploadPart")


def test_a_stop_mid_object_lets_parts_in_flight_land_and_the_next_run_sends_only_the_rest(
    stream_world: StreamWorld,
) -> None:
    """SIGTERM or Ctrl-C (the copy's stop event) in the middle of a streamed multipart upload:
    the part in flight lands, nothing more is read or sent, the upload stays open for the next
    run, which asks ListParts and sends only the parts still missing."""
    world = stream_world
    big = _five_parts_one_at_a_time(world)
    proxy, transfer = big.proxy, big.transfer
    gate = proxy.hold(matching("UploadPart"), nth=3)
    stop = threading.Event()
    running = world.copy_in_background(transfer, stop=stop)
    try:
        assert gate.wait(180), "the copy never reached its third part"
        stop.set()
    finally:
        gate.release(forward=True)
    stopped = running.result(180)

    assert stopped.verified == 0 and world.state(transfer) != "DONE"
    row = world.rows(transfer)["big.bin"]
    assert (row.state, bool(row.upload_id)) == ("copying", True)
    acked = {int(r.query["partNumber"]) for r in proxy.records if _acked_part(r)}
    assert acked == {1, 2, 3}
    assert world.open_uploads(big.dst) == ["big.bin"]  # left to resume, not aborted

    assert _resumed_sending(big) == [4, 5]
