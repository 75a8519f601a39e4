"""S3 failing in every way it does: retried, never a false DONE, never a corrupt object.

The fault proxy sits between the product and the S3 server, so the faults are real HTTP
answers on real connections - 503 SlowDown, 500, a reset before or after the server acted,
a timeout before or after the server acted, a 200 whose body is an ``<Error>`` - injected into
CopyObject, UploadPartCopy, CompleteMultipartUpload, HeadObject and the rest, for the daemon
subprocess as for an in-process pass.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from botocore.config import Config

from aws_copy_pt.s3 import clients as s3_clients
from aws_copy_pt.s3 import crt
from tests.reliability.audit import (
    check_deletes_after_verification,
    check_landed,
    check_no_false_done,
    check_no_open_uploads,
)
from tests.reliability.world import SMALL_PARTS, MiB, World
from tests.support.faultproxy import Chaos, FaultKind, Predicate, ProxyRequest, matching

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("AWS_COPY_PT_FAULT_SEED", "7"))
ANSWERED_WRONG = (FaultKind.INTERNAL_ERROR, FaultKind.RESET)
COPY_FAULTS = (*ANSWERED_WRONG, FaultKind.RESET_AFTER, FaultKind.ERROR_IN_200)
# Not in the chaos: a reset after CreateMultipartUpload was acted on orphans an upload (see its
# own test below), and SlowDown makes botocore's adaptive mode throttle the whole client for
# many seconds - right, but slow - so throttling is tested with a few objects, as are timeouts.
CHAOS_KINDS = {
    "CopyObject": COPY_FAULTS,
    "UploadPartCopy": COPY_FAULTS,
    "CompleteMultipartUpload": COPY_FAULTS,
    "HeadObject": (*ANSWERED_WRONG, FaultKind.RESET_AFTER),
    "CreateMultipartUpload": ANSWERED_WRONG,
    "ListParts": ANSWERED_WRONG,
    "ListObjectsV2": (*ANSWERED_WRONG, FaultKind.RESET_AFTER),
    "GetObjectTagging": ANSWERED_WRONG,
    "DeleteObjects": (*ANSWERED_WRONG, FaultKind.RESET_AFTER),
}


def _files() -> dict[str, int]:
    small = {f"s/{i:03d}.dat": 50 + 13 * i for i in range(80)}
    return {**small, "big/0.bin": 11 * MiB, "big/1.bin": 16 * MiB + 5}


@pytest.mark.heavy
def test_daemon_under_seeded_s3_chaos_copies_every_object_intact_and_cleans_staging(
    world: World,
) -> None:
    files = _files()
    transfer_id = world.watch(
        world.add_task(files), "archive", "--delete-staging", parts=SMALL_PARTS
    )
    world.proxy.chaos(Chaos(CHAOS_KINDS, rate=0.3, seed=SEED))

    daemon = world.daemon(concurrency=8)
    assert world.wait(daemon) == 0, daemon.output()[-3000:]

    assert world.proxy.faults_injected >= 50, world.proxy.faults
    assert set(world.proxy.faults) >= set(COPY_FAULTS)
    check_landed(world, transfer_id, world.expected(files, "archive"))
    check_no_open_uploads(world)
    check_deletes_after_verification(world, transfer_id)
    assert not world.staging_keys() & {f"in/{name}" for name in files}


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """S3 clients that give up on an answer after 1 s (300 s in production), so a held
    request times out in a test; the retries are the product's own."""
    production = s3_clients.s3_config

    def quick(endpoint_url: str | None, *, max_pool_connections: int = 64) -> Config:
        config = production(endpoint_url, max_pool_connections=max_pool_connections)
        return config.merge(Config(read_timeout=1, connect_timeout=1))

    monkeypatch.setattr(s3_clients, "s3_config", quick)
    monkeypatch.setattr(crt, "ANSWER_TIMEOUT", 1.0)
    yield


# (operation, SlowDowns, timeouts before the server acted, timeouts after it acted)
THROTTLED = (
    ("CopyObject", 2, 1, 1),
    ("HeadObject", 2, 1, 1),
    ("UploadPartCopy", 1, 1, 1),
    ("CompleteMultipartUpload", 1, 0, 1),
)


@pytest.mark.heavy
def test_slowdowns_and_timeouts_before_and_after_the_server_acted_end_in_intact_copies(
    world: World, short_timeouts: None
) -> None:
    files = {f"t/{i:02d}.dat": 3000 + i for i in range(12)} | {"big/0.bin": 11 * MiB}
    transfer_id = world.watch(world.add_task(files), "archive", parts=SMALL_PARTS)
    for operation, slowdowns, before, after in THROTTLED:
        world.proxy.fail(matching(operation), FaultKind.SLOW_DOWN, times=slowdowns)
        world.proxy.fail(matching(operation), FaultKind.TIMEOUT, times=before)
        world.proxy.fail(matching(operation), FaultKind.TIMEOUT_AFTER, times=after)

    world.cli("run", "--once", "--concurrency", "4").ok()

    faults = world.proxy.faults
    assert faults[FaultKind.SLOW_DOWN] == sum(row[1] for row in THROTTLED)
    assert faults[FaultKind.TIMEOUT] + faults[FaultKind.TIMEOUT_AFTER] == sum(
        row[2] + row[3] for row in THROTTLED
    )
    check_landed(world, transfer_id, world.expected(files, "archive"))
    check_no_open_uploads(world)


def _lies_about(keys: set[str]) -> Predicate:
    """CopyObject of ``keys``, and the second part of their multipart copies."""

    def match(request: ProxyRequest) -> bool:
        copies = request.operation in ("CopyObject", "UploadPartCopy")
        return copies and request.key in keys and request.query.get("partNumber", "2") == "2"

    return match


def test_a_store_that_answers_200_without_copying_never_gets_a_done(world: World) -> None:
    files = {f"l/{i:02d}.dat": 700 + i for i in range(10)} | {"big/0.bin": 11 * MiB}
    transfer_id = world.watch(world.add_task(files), "archive", parts=SMALL_PARTS)
    lied_to = {"archive/l/03.dat", "archive/l/07.dat", "archive/big/0.bin"}
    world.proxy.fail(_lies_about(lied_to), FaultKind.FALSE_SUCCESS, times=1000)
    expected = world.expected(files, "archive")

    first = world.cli("run", "--once")

    assert first.exit_code == 4, first.explain()
    assert world.state(transfer_id) == "PARTIAL"
    check_no_false_done(world, transfer_id, expected)
    failed = {
        r["dest_key"]: r["last_error"] for r in world.rows(transfer_id) if r["state"] == "failed"
    }
    assert set(failed) == lied_to
    assert "is missing right after its copy" in failed["archive/l/03.dat"]
    assert "InvalidPart" in failed["archive/big/0.bin"]  # its completion found no such part
    shown = json.loads(world.cli("--json", "transfers", "show", str(transfer_id)).ok().stdout)
    assert {failure["dest_key"] for failure in shown["failures"]} == lied_to
    check_no_open_uploads(world)

    world.proxy.clear_faults()
    world.cli("transfers", "retry", str(transfer_id)).ok()
    world.cli("run", "--once").ok()
    check_landed(world, transfer_id, expected)


def test_a_reset_after_create_multipart_upload_was_acted_on_leaves_no_upload_open(
    world: World,
) -> None:
    # botocore retries the reset request and gets a second upload; the first one's id was
    # never seen by anyone, so nothing aborts it.
    files = {"big/0.bin": 11 * MiB}
    transfer_id = world.watch(world.add_task(files), "archive", parts=SMALL_PARTS)
    world.proxy.fail(matching("CreateMultipartUpload"), FaultKind.RESET_AFTER)

    world.cli("run", "--once").ok()

    check_landed(world, transfer_id, world.expected(files, "archive"))
    check_no_open_uploads(world)
