"""The audits catch what they look for: a suite whose checks cannot fail proves nothing.

Each test damages a finished transfer the way a bug would (a changed or missing object, a copy
of a verified object, an early staging delete, an open upload) and expects the audit to say so.
The damage is counted in a throwaway Figures, not in the session's summary line.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import pytest

from aws_copy_pt.sandbox.s3server import s3_client
from tests.reliability.audit import (
    check_deletes_after_verification,
    check_landed,
    check_no_false_done,
    check_no_open_uploads,
    check_not_copied_again,
    verified_now,
)
from tests.reliability.figures import Figures
from tests.reliability.world import World
from tests.support.faultproxy import matching

FILES = {f"a/{i}.dat": 40 + i for i in range(4)}


@pytest.fixture
def done(world: World) -> Iterator[tuple[World, int]]:
    """A transfer copied to DONE; the audits' findings go to a throwaway Figures."""
    transfer_id = world.watch(world.add_task(FILES), "archive")
    world.cli("run", "--once").ok()
    check_landed(world, transfer_id, world.expected(FILES, "archive"))
    session_figures, world.figures = world.figures, Figures()
    yield world, transfer_id
    world.figures = session_figures


def _fails(audit: Callable[[], None], says: str) -> None:
    with pytest.raises(AssertionError, match=says):
        audit()


def test_a_changed_or_missing_object_is_counted_corrupt_or_lost_and_done_called_false(
    done: tuple[World, int],
) -> None:
    world, transfer_id = done
    world.dest_s3.put_object(Bucket=world.dest_bucket, Key="archive/a/0.dat", Body=b"other")
    world.dest_s3.delete_object(Bucket=world.dest_bucket, Key="archive/a/1.dat")
    expected = world.expected(FILES, "archive")

    _fails(lambda: check_landed(world, transfer_id, expected), "lost")
    _fails(lambda: check_no_false_done(world, transfer_id, expected), "DONE")

    assert (world.figures.lost, world.figures.corrupt) == (1, 1)
    assert world.figures.false_done == 2


def test_a_copy_of_a_verified_object_is_caught(done: tuple[World, int]) -> None:
    world, _ = done
    before = verified_now(world)
    through_proxy = s3_client(world.proxy.endpoint_url, world.accounts.staging)
    through_proxy.copy_object(
        Bucket=world.dest_bucket,
        Key="archive/a/2.dat",
        CopySource={"Bucket": world.staging_bucket, "Key": "in/a/2.dat"},
    )

    _fails(lambda: check_not_copied_again(world, before), "copied again")
    assert world.figures.recopied == 1


@pytest.mark.parametrize(
    ("before_the_delete", "early"),
    [((), 1), (("copy",), 1), (("copy", "list"), 0), (("list", "copy"), 1)],
    ids=["nothing", "copied-unchecked", "copied-then-listed", "listed-then-copied"],
)
def test_a_staging_delete_counts_as_verified_only_after_a_copy_and_a_later_check(
    world: World, before_the_delete: tuple[str, ...], early: int
) -> None:
    world.figures = Figures()
    transfer_id = world.watch(world.add_task({"b/early.dat": 5}), "archive")
    gate = world.proxy.hold(matching("HeadObject", bucket=world.staging_bucket))
    worker = world.run_once()
    world.until(gate.reached.is_set, what="the worker about to copy b/early.dat")
    through_proxy = s3_client(world.proxy.endpoint_url, world.accounts.staging)
    for step in before_the_delete:
        if step == "copy":
            through_proxy.copy_object(
                Bucket=world.dest_bucket,
                Key="archive/b/early.dat",
                CopySource={"Bucket": world.staging_bucket, "Key": "in/b/early.dat"},
            )
        else:
            through_proxy.list_objects_v2(Bucket=world.dest_bucket, Prefix="archive/")
    through_proxy.delete_objects(
        Bucket=world.staging_bucket, Delete={"Objects": [{"Key": "in/b/early.dat"}]}
    )
    os.kill(worker.pid, signal.SIGKILL)
    worker.popen.wait()
    gate.release(forward=False)

    if early:
        _fails(lambda: check_deletes_after_verification(world, transfer_id), "deleted before")
    else:
        check_deletes_after_verification(world, transfer_id)
    assert world.figures.early_deletes == early


def test_an_open_multipart_upload_is_caught(done: tuple[World, int]) -> None:
    world, _ = done
    upload = world.dest_s3.create_multipart_upload(Bucket=world.dest_bucket, Key="left/open")

    _fails(lambda: check_no_open_uploads(world), "left open")
    assert world.figures.orphaned_uploads == 1
    world.dest_s3.abort_multipart_upload(
        Bucket=world.dest_bucket, Key="left/open", UploadId=upload["UploadId"]
    )
