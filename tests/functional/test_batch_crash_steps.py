"""A crash right after each S3 effect of a batch job's life, before it is recorded: the next
passes finish the transfer with one job, its report read, and no staging object deleted
before its copy was verified.

In-process and deterministic: the S3 call of one step runs, then a ``Crash`` (a BaseException,
like a kill: nothing after it runs, no transaction commits) ends the pass. The kill -9 version,
with real `run --once` and daemon processes, is tests/reliability/test_batch_crash.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aws_copy_pt.services.copy.batch import ingest, manifest, planner
from aws_copy_pt.services.copy.batch import job as jobs
from tests.functional.batch_world import ALWAYS_DUE, BatchCopyWorld
from tests.functional.batch_world import batch_copy as batch_copy
from tests.functional.copy_world import copy_world as copy_world

KEYS = [f"run/{i:02d}.dat" for i in range(10)]


class Crash(BaseException):
    """The process died here."""


def _crash_after(owner: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make ``owner.name`` do its work, then crash, once; returns a list counting calls."""
    original: Callable[..., Any] = getattr(owner, name)
    calls: list[int] = []

    def crashing(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            raise Crash(name)
        return result

    monkeypatch.setattr(owner, name, crashing)
    return calls


STEPS = {
    "planning a batch of rows": (planner, "plan_batch"),
    "the manifest upload": (manifest, "upload_manifest"),
    "CreateJob": (jobs, "create_job"),
    "the first DescribeJob": (jobs, "describe_job"),
    "listing the report": (ingest, "list_keys"),
    "applying the report": (ingest, "_apply"),
    "settling unreported rows": (ingest, "_settle_unreported"),
}


@pytest.mark.heavy
@pytest.mark.parametrize("step", list(STEPS))
def test_a_crash_after_each_step_leaves_one_job_and_no_early_delete(
    batch_copy: BatchCopyWorld, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, standin = batch_copy.world, batch_copy.standin
    batch_copy.put_all(KEYS)
    standin.fail_key(KEYS[4])  # two report files, and a row back to the local engine
    transfer = batch_copy.transfer(KEYS, options={"delete_staging": True})
    owner, name = STEPS[step]
    calls = _crash_after(owner, name, monkeypatch)
    crashed = False
    for _ in range(200):
        try:
            report = batch_copy.one_pass(transfer, poll_bounds=ALWAYS_DUE)
        except Crash:
            crashed = True
            _no_early_delete(batch_copy, transfer)
            continue
        if report.state != "COPYING":
            break
        _no_early_delete(batch_copy, transfer)
        job = batch_copy.jobs(transfer)[0]
        if job.job_id:
            standin.wait_for_status(job.job_id)
    assert crashed and calls, f"{step} was never reached"
    assert world.state(transfer) == "DONE", world.events(transfer)
    assert len(standin.jobs()) == 1
    assert {row.state for row in world.rows(transfer).values()} == {"verified"}
    assert all(row.staging_deleted for row in world.rows(transfer).values())


def _no_early_delete(batch_copy: BatchCopyWorld, transfer: int) -> None:
    """Every staging object gone belongs to a verified row."""
    world = batch_copy.world
    listed = world.staging_s3.list_objects_v2(Bucket=world.staging).get("Contents", [])
    present = {item["Key"] for item in listed}
    for key, row in world.rows(transfer).items():
        if key not in present:
            assert row.state == "verified", f"{key} deleted while {row.state}"
