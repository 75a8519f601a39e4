"""The copy-engine world plus the S3 Control stand-in: transfers copied by a batch job.

The destination bucket gets a batch role of account B; the S3 Control stand-in runs the jobs
against the same moto server, and aws-copy-pt reaches it through its sandbox route
(``AWS_COPY_PT_S3CONTROL_URL``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from aws_copy_pt.db.models import BatchJob
from aws_copy_pt.sandbox.s3control import JobSnapshot, S3ControlStandIn
from aws_copy_pt.services.copy import CopyReport
from aws_copy_pt.services.copy.batch import PollBounds
from aws_copy_pt.services.copy.batch.actions import wait_for_job
from tests.functional.copy_world import CopyWorld
from tests.functional.copy_world import copy_world as copy_world

INSTANT = PollBounds(minimum=0.05, maximum=0.2)
ALWAYS_DUE = PollBounds(minimum=0, maximum=0)  # the next pass after one with these polls


@dataclass
class BatchCopyWorld:
    world: CopyWorld
    standin: S3ControlStandIn
    role_arn: str

    def transfer(self, keys: list[str], **kwargs: Any) -> int:
        options = {"engine": "batch", **kwargs.pop("options", {})}
        return self.world.transfer(keys, options=options, **kwargs)

    def one_pass(self, transfer_id: int, **kwargs: Any) -> CopyReport:
        kwargs.setdefault("poll_bounds", INSTANT)
        return self.world.copy(transfer_id, **kwargs)

    def until_done(self, transfer_id: int) -> CopyReport:
        """Passes until the job is over and the local engine has had its pass after it."""
        return wait_for_job(
            self.world.db,
            transfer_id,
            threading.Event(),
            lambda: self.one_pass(transfer_id),
            self.one_pass(transfer_id),
        )

    def jobs(self, transfer_id: int) -> list[BatchJob]:
        with self.world.db.session() as session:
            query = select(BatchJob).where(BatchJob.transfer_id == transfer_id)
            found = list(session.scalars(query.order_by(BatchJob.attempt)))
            session.expunge_all()
            return found

    def requests(self, operation: str) -> int:
        """How many ``operation`` calls the stand-in answered so far."""
        return sum(1 for r in self.standin.requests if r.operation == operation)

    def put_all(self, keys: list[str], size: int = 50) -> None:
        for key in keys:
            self.world.put(key, (key.encode() * size)[:size])

    def snapshot(self, transfer_id: int, attempt: int = 1) -> JobSnapshot:
        job = self.jobs(transfer_id)[attempt - 1]
        assert job.job_id is not None
        return self.standin.job(job.job_id)


@pytest.fixture
def batch_copy(
    copy_world: CopyWorld, s3control_standin: S3ControlStandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BatchCopyWorld]:
    for name, value in s3control_standin.env().items():
        monkeypatch.setenv(name, value)
    role = s3control_standin.register_role(copy_world.accounts.destination)
    copy_world.update_bucket(copy_world.dest, batch_role_arn=role)
    yield BatchCopyWorld(copy_world, s3control_standin, role)
