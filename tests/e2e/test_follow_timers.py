"""Hands-free with Globus Timers, end to end: the real script, the Globus stand-in (its clock
scripted over "days"), the local S3 server. Nobody ever tells aws-copy-pt a task id: a follow
rule finds each run of a nightly timer, and every run's files land verified in the
destination bucket (or, when Globus skipped some, the transfer says so and ends PARTIAL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from aws_copy_pt.db.engine import open_database
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.home.paths import Home
from aws_copy_pt.sandbox.globus_standin import LOGIN_SCOPES, TIMERS_SCOPE, FileSpec
from tests.fixtures.globus import store_login
from tests.fixtures.notify import WebhookReceiver
from tests.fixtures.pipeline import Pipeline, content_for

pytestmark = pytest.mark.slow

DAY0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
NIGHTS = {1: {"reads.fastq": 3_000, "qc/summary.txt": 120}, 2: {"reads.fastq": 5_000}, 3: {}}
NIGHTS[3] = {"reads.fastq": 7_000, "sub dir/ünï.txt": 9}


def _night_files(pipeline: Pipeline, night: int) -> list[FileSpec]:
    return [
        FileSpec(
            f"/seq/run{night}/{name}", f"/{pipeline.staging_bucket}/in/run{night}/{name}", size
        )
        for name, size in NIGHTS[night].items()
    ]


def _expected(nights: list[int]) -> dict[str, bytes]:
    return {
        f"nightly/run{n}/{name}": content_for(f"in/run{n}/{name}", size)
        for n in nights
        for name, size in NIGHTS[n].items()
    }


def _nightly_timer(pipeline: Pipeline, **kwargs: object) -> str:
    """A nightly timer into staging, and a rule following it (the login allows Timers)."""
    pipeline.standin.set_clock(DAY0)
    timer = pipeline.standin.add_timer(
        pipeline.user,
        pipeline.source,
        pipeline.staging_collection,
        name="sequencer nightly",
        label="nightly",
        **kwargs,  # type: ignore[arg-type]
    )
    db = open_database(Home(pipeline.home))
    try:
        store_login(db, pipeline.standin, pipeline.user, scopes=[*LOGIN_SCOPES, TIMERS_SCOPE])
    finally:
        db.close()
    pipeline.cli(
        "follow", "add", "nightly", "--collection", pipeline.staging_collection,
        "--timer", timer, "--to", f"{pipeline.dest_bucket}/nightly",
        "--since", "2026-03-01T00:00:00", "--delete-staging",
    ).ok()  # fmt: skip
    return timer


def _done(pipeline: Pipeline) -> int:
    return sum(t["state"] == "DONE" for t in pipeline.status())


def test_the_daemon_copies_three_nightly_timer_runs_to_done_without_any_task_id(
    pipeline: Pipeline,
) -> None:
    timer = _nightly_timer(pipeline)
    runs = [
        pipeline.standin.run_timer(timer, _night_files(pipeline, n), at=DAY0 + n * DAY)
        for n in (1, 2, 3)
    ]  # scripted up front: each happens when the clock reaches its night
    pipeline.cli("daemon", "--detach", "--min-poll", "0.2", "--max-poll", "1").ok()
    try:
        for night in (1, 2, 3):
            pipeline.standin.advance_clock(DAY)
            pipeline.wait_for(lambda n=night: _done(pipeline) == n, what=f"night {night} DONE")
    finally:
        pipeline.cli("daemon", "stop", "--timeout", "60")

    assert pipeline.dest_objects("nightly/") == _expected([1, 2, 3])
    transfers = pipeline.status()
    assert sorted(t["globus_task_id"] for t in transfers) == sorted(runs)
    assert all(t["state"] == "DONE" for t in transfers)
    [rule] = json.loads(pipeline.cli("--json", "follow", "list").ok().stdout)["rules"]
    assert (rule["registered"], rule["last_error"]) == (3, None)


@pytest.mark.heavy
def test_run_once_from_cron_follows_each_nights_run_as_it_comes(pipeline: Pipeline) -> None:
    timer = _nightly_timer(pipeline)
    for night in (1, 2, 3):
        pipeline.standin.advance_clock(DAY)
        pipeline.standin.run_timer(timer, _night_files(pipeline, night))

        result = pipeline.cli("--json", "run", "--once")

        assert result.exit_code == ExitCode.OK, result.explain()
        assert _done(pipeline) == night
        assert pipeline.dest_objects("nightly/") == _expected(list(range(1, night + 1)))
    quiet = pipeline.cli("--json", "run", "--once")  # nothing new: nothing registered twice
    assert quiet.exit_code == ExitCode.OK, quiet.explain()
    assert len(pipeline.status()) == 3


def test_a_run_with_files_globus_skipped_ends_partial_with_them_listed_and_announced(
    pipeline: Pipeline, webhook_receiver: WebhookReceiver
) -> None:
    pipeline.cli("notify", "add", "lab", "--webhook", webhook_receiver.url()).ok()
    timer = _nightly_timer(pipeline, skip_source_errors=True)
    pipeline.standin.advance_clock(DAY)
    locked = (
        "/seq/run1/locked.fastq",
        f"/{pipeline.staging_bucket}/in/run1/locked.fastq",
    )
    pipeline.standin.run_timer(timer, _night_files(pipeline, 1), skipped=[locked])

    result = pipeline.cli("run", "--once")

    assert result.exit_code == ExitCode.PARTIAL, result.explain()
    [transfer] = pipeline.status()
    assert transfer["state"] == "PARTIAL"
    assert pipeline.dest_objects("nightly/") == _expected([1])  # what did arrive is copied
    detail = json.loads(pipeline.cli("--json", "transfers", "show", str(transfer["id"])).stdout)
    assert detail["globus_skipped_total"] == 1
    assert detail["globus_skipped"][0]["source_path"] == locked[0]
    assert detail["globus_skipped"][0]["error_code"] == "PERMISSION_DENIED"
    shown = pipeline.cli("transfers", "show", str(transfer["id"])).ok().stdout
    assert "Files Globus skipped (1 of 1)" in shown
    assert locked[1] in shown
    retry = pipeline.cli("transfers", "retry", str(transfer["id"]))
    assert retry.exit_code == ExitCode.USAGE and "Globus skipped 1 file(s)" in retry.stderr
    pipeline.cli("run", "--once")  # delivers the queued notification
    [message] = webhook_receiver.received
    assert message.payload["state"] == "PARTIAL"
    assert message.payload["globus_skipped"] == {"count": 1, "paths": [locked[1]]}
    assert "Globus skipped 1 file(s)" in message.payload["text"]
