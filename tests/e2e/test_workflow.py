"""The unattended workflow end to end: the real script, the Globus stand-in, the local S3 server.

A user registers a transfer and walks away; the daemon (or cron's `run --once`) watches the task
through several polls, copies every delivered object server-side, verifies it and notifies.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from tests.fixtures.notify import WebhookReceiver
from tests.fixtures.pipeline import Pipeline, content_for

pytestmark = pytest.mark.slow

FILES = {
    "run7/a.dat": 2_000,
    "run7/sub dir/b+c%d#e.dat": 70_000,
    "run7/ünïcødé.txt": 12,
    "run7/empty.bin": 0,
}


def _daemon(pipeline: Pipeline, *extra: str) -> None:
    pipeline.cli("daemon", "--detach", "--min-poll", "0.2", "--max-poll", "1", *extra).ok()


def _stop(pipeline: Pipeline) -> None:
    pipeline.cli("daemon", "stop", "--timeout", "60")


def _state(pipeline: Pipeline, transfer_id: int) -> str:
    return next(t["state"] for t in pipeline.status() if t["id"] == transfer_id)


def _watch(pipeline: Pipeline, task: str, prefix: str = "archive") -> int:
    pipeline.cli("watch", task, "--to", f"{pipeline.dest_bucket}/{prefix}").ok()
    return int(pipeline.status()[0]["id"])


def _assert_identical(pipeline: Pipeline, files: dict[str, int], prefix: str = "archive") -> None:
    landed = pipeline.dest_objects(prefix)
    expected = {f"{prefix}/{name}": content_for(f"in/{name}", size) for name, size in files.items()}
    assert landed == expected


def test_detached_daemon_takes_a_task_through_polls_to_verified_copies_and_notifies(
    pipeline: Pipeline, webhook_receiver: WebhookReceiver
) -> None:
    pipeline.cli("notify", "add", "lab", "--webhook", webhook_receiver.url()).ok()
    transfer_id = _watch(pipeline, pipeline.add_task(FILES, polls_active=4))
    _daemon(pipeline)
    try:
        pipeline.wait_for(lambda: _state(pipeline, transfer_id) == "DONE", what="DONE")
        pipeline.wait_for(lambda: bool(webhook_receiver.received), what="the webhook")
    finally:
        _stop(pipeline)
    _assert_identical(pipeline, FILES)
    assert webhook_receiver.received[0].payload["state"] == "DONE"
    assert pipeline.cli("daemon", "status").exit_code == ExitCode.NOT_RUNNING
    log = (pipeline.home / "logs" / "aws-copy-pt.log").read_text()
    assert f"transfer {transfer_id}" in log
    assert pipeline.env["AWS_COPY_PT_SECRET_ACCESS_KEY"] not in log


def test_run_once_in_a_loop_reports_work_remains_then_all_done(pipeline: Pipeline) -> None:
    transfer_id = _watch(pipeline, pipeline.add_task(FILES, polls_active=2))
    codes = []
    for _ in range(6):
        codes.append(pipeline.cli("run", "--once").exit_code)
        if codes[-1] == ExitCode.OK:
            break
    assert codes[0] == ExitCode.WORK_REMAINS
    assert codes[-1] == ExitCode.OK
    assert _state(pipeline, transfer_id) == "DONE"
    _assert_identical(pipeline, FILES)


def test_second_instance_is_refused_while_the_daemon_runs(pipeline: Pipeline) -> None:
    _watch(pipeline, pipeline.add_task({"x.dat": 10}, polls_active=200))
    _daemon(pipeline)
    try:
        refused = pipeline.cli("run", "--once")
        assert refused.exit_code == ExitCode.LOCKED, refused.explain()
        assert "already working" in refused.stderr
        again = pipeline.cli("daemon", "--detach")
        assert again.exit_code == ExitCode.LOCKED, again.explain()
    finally:
        _stop(pipeline)


def _verified_rows(home: Path) -> dict[str, tuple[int, str]]:
    conn = sqlite3.connect(home / "aws-copy-pt.db")
    try:
        rows = conn.execute(
            "SELECT source_key, attempts, finished_at FROM object_copies WHERE state = 'verified'"
        ).fetchall()
    finally:
        conn.close()
    return {key: (attempts, finished) for key, attempts, finished in rows}


@pytest.mark.heavy
def test_sigterm_mid_copy_then_restart_finishes_without_recopying_verified_objects(
    pipeline: Pipeline,
) -> None:
    # The engine verifies 1,000 objects at a time with up to two batches in flight: with four
    # batches, a SIGTERM sent once the first is verified lands before the last is started.
    many = {f"bulk/{i:04d}.dat": 1 for i in range(3300)}
    transfer_id = _watch(pipeline, pipeline.add_task(many, polls_active=1))
    _daemon(pipeline, "--concurrency", "4")
    pipeline.wait_for(lambda: len(_verified_rows(pipeline.home)) >= 1, what="some copies")
    pid = int((pipeline.home / "daemon.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    pipeline.wait_for(
        lambda: pipeline.cli("daemon", "status").exit_code == ExitCode.NOT_RUNNING, what="exit"
    )
    before = _verified_rows(pipeline.home)
    assert 0 < len(before) < len(many), "SIGTERM should land mid-copy"
    assert _state(pipeline, transfer_id) == "COPYING"

    _daemon(pipeline, "--exit-when-idle")
    pipeline.wait_for(lambda: _state(pipeline, transfer_id) == "DONE", what="DONE")
    after = _verified_rows(pipeline.home)
    assert len(after) == len(many)
    assert {key: after[key] for key in before} == before, "verified objects were copied again"
    _assert_identical(pipeline, many)
    transfer = json.loads(pipeline.cli("--json", "transfers", "show", str(transfer_id)).stdout)
    assert transfer
