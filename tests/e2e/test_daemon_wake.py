"""A detached daemon acts at once on what commands change (watch, login), and never waits longer
than its --max-poll bound; `daemon status` shows when it polls next.

No assertion measures time: each test reads the next poll time the daemon scheduled (far away)
and then checks that the work was done before it, which only a wake-up can explain.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from typing import Any

import pytest

from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import installed_script, isolated_env
from tests.fixtures.pipeline import Pipeline

pytestmark = pytest.mark.slow

AUTHORIZE_URL = re.compile(r"^\s+(http://\S+/v2/oauth2/authorize\?\S+)$")
STILL_RUNNING = 10_000


def _daemon_status(pipeline: Pipeline) -> dict[str, Any]:
    result = pipeline.cli("--json", "daemon", "status")
    assert result.exit_code in (ExitCode.OK, ExitCode.NOT_RUNNING), result.explain()
    return dict(json.loads(result.stdout))


def _when(status: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(status[key])


def _transfer(pipeline: Pipeline, transfer_id: int) -> dict[str, Any]:
    result = pipeline.cli("--json", "transfers", "show", str(transfer_id)).ok()
    return dict(json.loads(result.stdout)["summary"])


def _scheduled(pipeline: Pipeline, condition: str) -> dict[str, Any]:
    """The daemon's status once its schedule satisfies ``condition`` (a readable name)."""
    seen: dict[str, Any] = {}

    def ready() -> bool:
        seen.update(_daemon_status(pipeline))
        return seen.get("next_poll_at") is not None and seen.get("last_poll_at") is not None

    pipeline.wait_for(ready, what=condition)
    return seen


def _login(pipeline: Pipeline) -> subprocess.CompletedProcess[str]:
    """`aws-copy-pt login --no-browser` as a person runs it, consenting at the stand-in."""
    proc = subprocess.Popen(
        [installed_script(), "login", "--no-browser"],
        env=isolated_env(pipeline.home, pipeline.env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stderr and proc.stdout
    url = ""
    for line in proc.stderr:  # blocks until the URL is printed
        found = AUTHORIZE_URL.match(line.rstrip("\n"))
        if found:
            url = found.group(1)
            break
    assert url, "login printed no URL"
    proc.stdin.write(pipeline.standin.issue_auth_code(pipeline.user, authorize_url=url) + "\n")
    proc.stdin.close()
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    return subprocess.CompletedProcess(proc.args, proc.wait(timeout=60), stdout, stderr)


def test_watch_wakes_an_idle_daemon_which_copies_long_before_its_next_look(
    pipeline: Pipeline,
) -> None:
    pipeline.cli("daemon", "--detach", "--min-poll", "600", "--max-poll", "3600").ok()
    try:
        idle = _scheduled(pipeline, "the idle daemon's first schedule")
        next_look = _when(idle, "next_poll_at")
        # Nothing to watch: the daemon looks again after --min-poll, ten minutes away.
        assert idle["poll_delay_seconds"] == 600

        watched = pipeline.cli(
            "--json",
            "watch",
            pipeline.add_task({"w.dat": 64}, polls_active=1),
            "--to",
            f"{pipeline.dest_bucket}/w",
        ).ok()
        transfer_id = int(json.loads(watched.stdout)["id"])
        pipeline.wait_for(lambda: _transfer(pipeline, transfer_id)["state"] == "DONE", what="DONE")

        woken = _daemon_status(pipeline)
        assert woken["woken_at"] is not None
        finished = datetime.fromisoformat(_transfer(pipeline, transfer_id)["updated_at"])
        assert finished < next_look, "copied before the daemon would have looked without a wake"
    finally:
        pipeline.cli("daemon", "stop", "--timeout", "60")


@pytest.mark.heavy
def test_after_a_lapsed_login_the_daemon_waits_max_poll_and_login_wakes_it(
    pipeline: Pipeline,
) -> None:
    task = pipeline.add_task({"l.dat": 32}, polls_active=STILL_RUNNING)
    transfer_id = int(
        json.loads(
            pipeline.cli("--json", "watch", task, "--to", f"{pipeline.dest_bucket}/l").ok().stdout
        )["id"]
    )
    pipeline.standin.revoke_all(pipeline.user)
    pipeline.cli("daemon", "--detach", "--min-poll", "1", "--max-poll", "3600").ok()
    try:
        pipeline.wait_for(
            lambda: _transfer(pipeline, transfer_id)["state"] == "NEEDS_LOGIN", what="NEEDS_LOGIN"
        )
        waiting = _scheduled(pipeline, "the schedule after the failed login")
        next_try = _when(waiting, "next_poll_at")
        # A lapsed login is retried after --max-poll, not sooner and not later.
        assert waiting["poll_delay_seconds"] == 3600

        login = _login(pipeline)
        assert login.returncode == 0, login.stderr
        pipeline.wait_for(
            lambda: _transfer(pipeline, transfer_id)["state"] == "WAITING", what="WAITING again"
        )
        resumed = datetime.fromisoformat(_transfer(pipeline, transfer_id)["updated_at"])
        assert resumed < next_try, "resumed before the daemon's next try: the login woke it"
    finally:
        pipeline.cli("daemon", "stop", "--timeout", "60")
