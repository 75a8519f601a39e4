"""What cron mails: `run --once` as cron runs it (the real script, no terminal, a pass every few
minutes) prints news once, then nothing while nothing changes; the exit status carries the rest.
"""

from __future__ import annotations

import json

import pytest

from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliResult
from tests.fixtures.notify import WebhookReceiver
from tests.fixtures.pipeline import Pipeline

pytestmark = pytest.mark.slow

QUIET_PASSES = 20
STILL_RUNNING = 10_000  # polls a scripted task stays ACTIVE: longer than any test runs


def _watch(pipeline: Pipeline, task: str, prefix: str, label: str) -> int:
    dest = f"{pipeline.dest_bucket}/{prefix}"
    result = pipeline.cli("--json", "watch", task, "--to", dest, "--label", label).ok()
    return int(json.loads(result.stdout)["id"])


def _cron_pass(pipeline: Pipeline) -> CliResult:
    return pipeline.cli("run", "--once")


@pytest.mark.heavy
def test_twenty_quiet_passes_print_nothing_and_exit_work_remains(pipeline: Pipeline) -> None:
    done = _watch(pipeline, pipeline.add_task({"a.dat": 100}, polls_active=1), "a", "run-a")
    running = pipeline.add_task({"b.dat": 100}, polls_active=STILL_RUNNING)
    _watch(pipeline, running, "b", "run-b")
    first = _cron_pass(pipeline)
    assert first.exit_code == ExitCode.WORK_REMAINS, first.explain()
    assert f"Transfer {done} (run-a): COPYING -> DONE" in first.stdout, first.explain()

    passes = [_cron_pass(pipeline) for _ in range(QUIET_PASSES)]

    loud = [p.explain() for p in passes if p.stdout or p.stderr]
    assert loud == [], "\n\n".join(loud)
    assert {p.exit_code for p in passes} == {ExitCode.WORK_REMAINS}


def test_a_pass_that_finishes_a_transfer_says_so_once_with_the_summary(
    pipeline: Pipeline,
) -> None:
    transfer_id = _watch(pipeline, pipeline.add_task({"x.dat": 10}, polls_active=1), "x", "x1")

    news = _cron_pass(pipeline).ok()
    again = _cron_pass(pipeline).ok()

    assert news.stdout.splitlines() == [
        f"Transfer {transfer_id} (x1): WAITING -> LISTING: Globus task succeeded: 1 file(s), "
        "10 bytes",
        f"Transfer {transfer_id} (x1): LISTING -> COPYING: 1 delivered file(s) recorded",
        f"Transfer {transfer_id} (x1): COPYING -> DONE: all 1 object(s) done: 1 verified, "
        "0 skipped, 0 failed",
        "Pass finished: 1 DONE.",
    ]
    assert news.stderr == ""
    assert (again.stdout, again.stderr) == ("", "")
    [shown] = pipeline.status()
    assert shown["copy_bytes"] == 10  # stored by the copy run: the copy phase, not the age
    assert shown["copy_bytes_per_second"] == int(10 / shown["copy_seconds"])
    assert f"{shown['copy_bytes_per_second']} B/s" in pipeline.cli("status").ok().stdout


def test_a_suspended_task_names_its_collections_once_and_exits_globus_inactive(
    pipeline: Pipeline,
) -> None:
    task = pipeline.standin.add_task(
        pipeline.user,
        pipeline.source,
        pipeline.staging_collection,
        [],
        script=["ACTIVE", "INACTIVE"],  # `watch` sees it ACTIVE; the next pass, suspended
    )
    transfer_id = _watch(pipeline, task, "s", "stuck")

    news = _cron_pass(pipeline)
    again = _cron_pass(pipeline)

    assert news.exit_code == ExitCode.GLOBUS_INACTIVE, news.explain()
    assert f"Transfer {transfer_id} (stuck): WAITING -> GLOBUS_INACTIVE" in news.stdout
    assert "source collection 'cluster' or the staging collection 's3 staging'" in news.stdout
    assert f"next for transfer {transfer_id}: https://app.globus.org/activity/{task}" in (
        news.stderr
    )
    assert (again.exit_code, again.stdout, again.stderr) == (ExitCode.GLOBUS_INACTIVE, "", "")
    shown = pipeline.cli("transfers", "show", str(transfer_id)).ok().stdout
    assert "renew the credentials of the source collection 'cluster'" in shown


def test_a_revoked_login_is_told_in_words_once_in_mail_status_and_cron_output(
    pipeline: Pipeline, webhook_receiver: WebhookReceiver
) -> None:
    pipeline.cli("notify", "add", "oncall", "--webhook", webhook_receiver.url()).ok()
    task = pipeline.add_task({"y.dat": 10}, polls_active=STILL_RUNNING)
    transfer_id = _watch(pipeline, task, "y", "y1")
    pipeline.standin.revoke_all(pipeline.user)
    words = "the Globus login was revoked or expired (invalid_grant)"

    news = _cron_pass(pipeline)
    again = _cron_pass(pipeline)

    assert news.exit_code == ExitCode.NEEDS_LOGIN, news.explain()
    assert f"Transfer {transfer_id} (y1): WAITING -> NEEDS_LOGIN: {words}" in news.stdout
    assert "Globus login needed: run `aws-copy-pt login` in a terminal." in news.stderr
    assert (again.exit_code, again.stdout, again.stderr) == (ExitCode.NEEDS_LOGIN, "", "")
    detail = json.loads(pipeline.cli("--json", "transfers", "show", str(transfer_id)).stdout)
    assert detail["summary"]["last_error"] == words
    assert any(e["message"] == words for e in detail["events"])
    [post] = webhook_receiver.received
    assert words in post.payload["text"] and post.payload["error"] == words
    assert "{" not in post.payload["text"]
