"""What must hold after a crash or a storm of faults, checked and counted in the figures.

Each audit adds what it finds to the session's figures *before* asserting, so a failing run's
summary line shows the damage, and a passing one shows what was checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tests.reliability.world import World
from tests.support.faultproxy import ProxyRecord

COPY_REQUESTS = frozenset(
    {"CopyObject", "CreateMultipartUpload", "UploadPartCopy", "CompleteMultipartUpload"}
)
DEST_CHECKS = frozenset({"ListObjectsV2", "HeadObject"})
FINISHED_ROW_STATES = frozenset({"verified", "skipped"})


def check_landed(world: World, transfer_id: int, expected: Mapping[str, bytes]) -> None:
    """The transfer is DONE and every destination object holds exactly its source's bytes."""
    prefix = next(iter(expected)).split("/", 1)[0]
    landed = world.dest_objects(prefix)
    lost = sorted(set(expected) - set(landed))
    corrupt = sorted(key for key in expected if key in landed and landed[key] != expected[key])
    intact = len(expected) - len(lost) - len(corrupt)
    state = world.state(transfer_id)
    figures = world.figures
    figures.lost += len(lost)
    figures.corrupt += len(corrupt)
    figures.verified += intact
    if state == "DONE" and (lost or corrupt):
        figures.false_done += 1
    assert (lost, corrupt) == ([], []), (
        f"transfer {transfer_id} ({state}): lost {lost}, corrupt {corrupt}"
    )
    assert state == "DONE", f"transfer {transfer_id} is {state}: {world.rows(transfer_id)}"
    unfinished = [r for r in world.rows(transfer_id) if r["state"] not in FINISHED_ROW_STATES]
    assert unfinished == [], unfinished
    assert set(landed) == set(expected), f"unexpected objects {set(landed) - set(expected)}"


def check_no_false_done(world: World, transfer_id: int, expected: Mapping[str, bytes]) -> None:
    """Whatever state the transfer is in, DONE must mean every object is intact."""
    if world.state(transfer_id) != "DONE":
        return
    prefix = next(iter(expected)).split("/", 1)[0]
    landed = world.dest_objects(prefix)
    if any(landed.get(key) != body for key, body in expected.items()):
        world.figures.false_done += 1
        raise AssertionError(f"transfer {transfer_id} is DONE but not every object is intact")


def check_no_open_uploads(world: World) -> None:
    open_uploads = world.open_uploads()
    world.figures.orphaned_uploads += len(open_uploads)
    assert open_uploads == [], f"multipart uploads left open: {open_uploads}"


def check_database(world: World) -> None:
    result = world.integrity()
    if result != "ok":
        world.figures.damaged_databases += 1
    assert result == "ok", f"PRAGMA integrity_check: {result}"


@dataclass(frozen=True)
class Verified:
    """The verified rows at one moment, and the proxy clock then."""

    tick: int
    rows: Mapping[str, tuple[int, str]]  # dest key -> (attempts, finished_at)


def verified_now(world: World) -> Verified:
    found = world.query(
        "SELECT dest_key, attempts, finished_at FROM object_copies WHERE state = 'verified'"
    )
    return Verified(world.proxy.tick(), {key: (attempts, at) for key, attempts, at in found})


def check_not_copied_again(world: World, before: Verified) -> None:
    """Objects verified at ``before`` got no copy request since, and their rows are as they were."""
    again = {
        str(record.key)
        for record in world.proxy.records
        if record.started > before.tick
        and record.operation in COPY_REQUESTS
        and record.bucket == world.dest_bucket
        and record.key in before.rows
    }
    now = verified_now(world).rows
    changed = {key for key, row in before.rows.items() if now.get(key) != row}
    world.figures.recopied += len(again | changed)
    assert again == set(), f"verified objects were copied again: {sorted(again)}"
    assert changed == set(), f"verified rows changed: {sorted(changed)}"


def check_deletes_after_verification(world: World, transfer_id: int) -> None:
    """A staging object is deleted only after its copy landed and the destination was looked
    at (listed or HEADed) after that and answered before the delete was sent.

    Times are the proxy's ticks at the moments that order cause and effect: a copy landed when
    the server's answer reached the proxy (even if the client was then told otherwise), and a
    check counts from when its answer began to go out - the handler finishing later, after the
    client already acted on the answer, proves nothing.
    """
    records = world.proxy.records
    dest_key = {row["source_key"]: row["dest_key"] for row in world.rows(transfer_id)}
    early = []
    for delete in records:
        if delete.operation != "DeleteObjects" or delete.bucket != world.staging_bucket:
            continue
        if not delete.reached_server:
            continue
        for key in delete.requested_keys:
            if key in dest_key and not _checked_before(records, dest_key[key], delete, world):
                early.append(key)
    world.figures.early_deletes += len(early)
    assert early == [], f"staging objects deleted before their copy was verified: {early}"


def _checked_before(
    records: list[ProxyRecord], dest_key: str, delete: ProxyRecord, world: World
) -> bool:
    landed = [
        r.acted
        for r in records
        if r.key == dest_key
        and r.bucket == world.dest_bucket
        and r.operation in ("CopyObject", "CompleteMultipartUpload")
        and r.server_succeeded
        and r.acted is not None
        and r.acted < delete.started
    ]
    if not landed:
        return False
    first_landed = min(landed)
    return any(
        r.bucket == world.dest_bucket
        and r.operation in DEST_CHECKS
        and r.succeeded
        and r.started > first_landed
        and r.answered is not None
        and r.answered < delete.started
        and (r.operation == "ListObjectsV2" or r.key == dest_key)
        for r in records
    )
