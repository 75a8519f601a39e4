"""kill -9 at every step of a batch job's life: no second job, no lost report, no early delete.

One transfer (with --delete-staging) is copied by an S3 Batch Operations job on the S3 Control
stand-in, and its worker - `run --once`, or a daemon while the job runs - is killed at each
step in turn: while the manifest upload is in flight, while CreateJob's answer (the job
exists) is on its way, while the job is Active with its id stored, while the report is being
found, between the report's two files, and while the verified objects' staging deletes are in
flight. After every kill the database must pass its integrity check; after the last restart
the transfer must be DONE with every object intact, the stand-in must have run exactly one job,
and every staging delete must have come after a destination listing that followed the report.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from aws_copy_pt.sandbox.s3control import S3ControlStandIn
from tests.reliability.audit import check_database, check_landed
from tests.reliability.world import Process, World
from tests.support.faultproxy import ProxyRequest
from tests.support.faultproxy.rules import ProxyRecord

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

FILES = {f"s/{i:03d}.dat": 100 + 37 * i for i in range(24)}
FAILING = "in/s/007.dat"  # its task fails: two report files, and one row for the local engine


@dataclass
class BatchScene:
    world: World
    standin: S3ControlStandIn
    transfer_id: int

    def job_id(self) -> str | None:
        rows = self.world.query(
            "SELECT job_id FROM batch_jobs WHERE transfer_id = ?", self.transfer_id
        )
        return rows[0][0] if rows else None


@pytest.fixture
def scene(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchScene]:
    with S3ControlStandIn(world.s3.endpoint_url) as standin:
        for name, value in standin.env().items():
            monkeypatch.setenv(name, value)
            world.env[name] = value
        partner = world.accounts.destination
        secret = {"AWS_COPY_PT_SECRET_ACCESS_KEY": partner.secret_access_key}
        if partner.session_token:
            secret["AWS_COPY_PT_SESSION_TOKEN"] = partner.session_token
        world.cli("aws", "add", "partner", "--access-key-id", partner.access_key_id, env=secret)
        role = standin.register_role(partner)
        world.cli(
            "bucket", "update", world.dest_bucket, "--credentials", "partner",
            "--batch-role", role, "--engine", "batch",
        ).ok()  # fmt: skip
        standin.fail_key(FAILING)
        task = world.add_task(FILES)
        # The collection maps staging keys below in/: a job can only prepend, so the
        # destination prefix keeps in/ (archive/in/s/000.dat for in/s/000.dat).
        transfer_id = world.watch(task, "archive/in", "--delete-staging")
        yield BatchScene(world, standin, transfer_id)
        world.stop_all()


def _kill_when(scene: BatchScene, process: Process, reached: Callable[[], bool], what: str) -> None:
    world = scene.world
    world.until(lambda: reached() or process.popen.poll() is not None, timeout=120, what=what)
    assert reached(), f"{what} was never reached:\n{process.output()[-3000:]}"
    os.kill(process.pid, signal.SIGKILL)
    process.popen.wait()
    world.figures.kills += 1
    check_database(world)


def _dest(
    world: World, predicate: Callable[[ProxyRequest], bool]
) -> Callable[[ProxyRequest], bool]:
    return lambda request: request.bucket == world.dest_bucket and predicate(request)


def test_kill_9_at_every_step_of_a_batch_job_loses_nothing_and_creates_one_job(
    scene: BatchScene,
) -> None:
    world, standin = scene.world, scene.standin
    # 1. The manifest upload is in flight (the request is lost with the process).
    gate = world.proxy.hold(
        _dest(world, lambda r: r.operation == "PutObject" and str(r.key).endswith("manifest.csv"))
    )
    process = world.run_once()
    _kill_when(scene, process, gate.reached.is_set, "the manifest upload")
    gate.release(forward=False)
    assert standin.jobs() == []
    # 2. CreateJob ran (the job exists) while its answer is held: the id dies with the process.
    answer = standin.hold_answer("CreateJob")
    process = world.run_once()
    _kill_when(scene, process, answer.reached.is_set, "CreateJob's answer")
    answer.release()
    assert len(standin.jobs()) == 1 and scene.job_id() is None
    # 3. The job is Active and its id stored: a daemon polling it is killed.
    standin.hold("Active")
    process = world.daemon()
    job_id = standin.jobs()[0].job_id
    _kill_when(
        scene,
        process,
        lambda: scene.job_id() == job_id and standin.job(job_id).status == "Active",
        "the job Active with its id stored",
    )
    # 4. The job is Complete; finding its report (listing its prefix) is in flight.
    listing = world.proxy.hold(
        _dest(
            world,
            lambda r: r.operation == "ListObjectsV2" and "/reports/" in r.query.get("prefix", ""),
        )
    )
    standin.release("Active")
    standin.wait_for_status(job_id, timeout=60)
    process = world.run_once()
    _kill_when(scene, process, listing.reached.is_set, "the report listing")
    listing.release(forward=True)
    # 5. One report file applied, the second one's GET in flight.
    second = world.proxy.hold(
        _dest(world, lambda r: r.operation == "GetObject" and "/results/" in str(r.key)), nth=2
    )
    process = world.run_once()
    _kill_when(scene, process, second.reached.is_set, "the second report file")
    second.release(forward=False)
    # 6. Verified objects' staging deletes in flight (they reach S3; the answer is lost).
    deletes = world.proxy.hold(
        lambda r: r.operation == "DeleteObjects" and r.bucket == world.staging_bucket
    )
    process = world.run_once()
    _kill_when(scene, process, deletes.reached.is_set, "the staging deletes")
    deletes.release(forward=True)

    assert world.wait(world.daemon()) == 0
    check_landed(world, scene.transfer_id, world.expected(FILES, "archive/in"))
    assert [job.job_id for job in standin.jobs()] == [job_id]  # one job, never a second
    _check_deletes_after_verification(world)
    left = world.staging_keys() & {f"in/{name}" for name in FILES}
    assert left == set(), f"{len(left)} staging object(s) left behind"
    check_database(world)


def _check_deletes_after_verification(world: World) -> None:
    """Every staging delete followed a destination listing (verification) that started after
    the job's report was read: no object is deleted on the word of the report alone."""
    records = world.proxy.records
    report_read = [
        r.answered
        for r in records
        if r.operation == "GetObject" and "/results/" in str(r.key) and r.answered is not None
    ]
    assert report_read, "the job's report was never read"
    deletes = [
        r
        for r in records
        if r.operation == "DeleteObjects" and r.bucket == world.staging_bucket and r.reached_server
    ]
    early = [d for d in deletes if not _verified_before(records, d, min(report_read), world)]
    world.figures.early_deletes += sum(len(d.requested_keys) for d in early)
    assert early == [], f"staging deleted before verification: {[d.requested_keys for d in early]}"


def _verified_before(
    records: list[ProxyRecord], delete: ProxyRecord, after: int, world: World
) -> bool:
    return any(
        r.operation == "ListObjectsV2"
        and r.bucket == world.dest_bucket
        and "/reports/" not in r.query.get("prefix", "")
        and r.succeeded
        and r.started > after
        and r.answered is not None
        and r.answered < delete.started
        for r in records
    )
