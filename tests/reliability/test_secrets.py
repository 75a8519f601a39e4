"""Secrets never leave the database: not in output, --json, --debug tracebacks, logs, a daemon's
environment, its children's environment or a core dump.

A planted secret is looked for in every place it could leak to; each look is counted in the
figures ("secret leaks N of M checks"), and any find fails the test. The daemon is a real
detached one (the installed script), read through ``/proc/<pid>/environ`` and ``limits``; its
child is a mail agent that writes down the environment it was given.
"""

from __future__ import annotations

import ctypes
import json
import resource
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliResult, installed_script, isolated_env
from tests.fixtures.notify import WebhookReceiver
from tests.reliability.figures import Figures
from tests.reliability.world import FAST_POLLS, World

WEBHOOK_PASSWORD = "hunter2-webhook-Pa55"
SMTP_PASSWORD = "smtp-Pa55-planted-42"
PR_GET_DUMPABLE = 3


@dataclass
class Search:
    """Looks for secrets in places; every look is counted, every find is a leak."""

    figures: Figures
    leaks: list[str] = field(default_factory=list)

    def look(self, where: str, text: str, *secrets: str) -> None:
        for secret in secrets:
            self.figures.secret_checks += 1
            if secret in text:
                self.figures.secret_leaks += 1
                self.leaks.append(f"{where}: {secret[:6]}… found in\n{text[-3000:]}")

    def result(self, where: str, result: CliResult, *secrets: str) -> None:
        self.look(where, result.stdout + result.stderr, *secrets)

    def verdict(self) -> None:
        assert self.leaks == [], "\n\n".join(self.leaks)


@pytest.fixture
def search(figures: Figures) -> Search:
    return Search(figures)


def test_a_webhook_password_is_masked_in_output_json_debug_and_events(
    world: World, webhook_receiver: WebhookReceiver, search: Search
) -> None:
    cli = world.cli
    url = webhook_receiver.url().replace("http://", f"http://alerts:{WEBHOOK_PASSWORD}@")
    search.result(
        "notify add", cli("notify", "add", "ops", "--webhook", url).ok(), WEBHOOK_PASSWORD
    )
    replaced = cli("--json", "notify", "add", "ops", "--webhook", url, "--replace").ok()
    search.result("--json notify add", replaced, WEBHOOK_PASSWORD)
    search.result("notify list", cli("notify", "list").ok(), WEBHOOK_PASSWORD)
    search.result("--json notify list", cli("--json", "notify", "list").ok(), WEBHOOK_PASSWORD)
    search.result("notify test", cli("notify", "test", "ops").ok(), WEBHOOK_PASSWORD)
    [post] = webhook_receiver.received
    assert post.headers["Authorization"].startswith("Basic ")  # the password went where it must

    webhook_receiver.status = 500
    failed = cli("--debug", "-v", "notify", "test", "ops")
    assert failed.exit_code == ExitCode.REMOTE, failed.explain()
    assert "Traceback" in failed.stderr
    search.result("--debug notify test (refused)", failed, WEBHOOK_PASSWORD)

    task = world.add_task({"a.dat": 3})
    transfer = world.watch(task, "hooked")
    cli("run", "--once")
    shown = cli("--json", "transfers", "show", str(transfer)).ok()
    assert "could not notify ops" in shown.stdout
    search.result("transfers show (failed notification)", shown, WEBHOOK_PASSWORD)
    search.result("notify list (last error)", cli("notify", "list").ok(), WEBHOOK_PASSWORD)
    search.verdict()


def test_a_url_password_in_any_message_is_masked_in_a_debug_traceback(
    world: World, search: Search
) -> None:
    url = f"https://alerts:{WEBHOOK_PASSWORD}@hooks.example.org:notaport/hook"
    result = world.cli("--debug", "notify", "add", "ops", "--webhook", url)
    assert result.exit_code == ExitCode.USAGE, result.explain()
    search.result("--debug notify add (bad port)", result, WEBHOOK_PASSWORD)
    search.verdict()


@pytest.fixture
def secret_env(world: World) -> dict[str, str]:
    """What a user's shell holds: the keys it registered with, and an SMTP password."""
    env = {**world.env, "AWS_COPY_PT_SMTP_PASSWORD": SMTP_PASSWORD}
    assert env["AWS_COPY_PT_SECRET_ACCESS_KEY"] == world.accounts.staging.secret_access_key
    return isolated_env(world.home, env)


@contextmanager
def detached_daemon(env: dict[str, str]) -> Iterator[int]:
    """`aws-copy-pt daemon --detach` started from ``env``; its pid. Stopped at the end."""
    started = subprocess.run(
        [installed_script(), "--json", "daemon", "--detach", *FAST_POLLS],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    try:
        yield int(json.loads(started.stdout)["pid"])
    finally:
        stop = [installed_script(), "daemon", "stop"]
        subprocess.run(stop, env=env, capture_output=True, timeout=180, check=False)


def _mail_agent(directory: Path) -> Path:
    """A sendmail that writes down the environment it was started with."""
    script = directory / "sendmail"
    script.write_text(f'#!/bin/sh\nenv > "{directory}/sendmail.env"\ncat > /dev/null\n')
    script.chmod(0o755)
    return script


def test_a_detached_daemon_and_its_children_hold_no_secret_and_dump_no_core(
    world: World, secret_env: dict[str, str], search: Search, tmp_path: Path
) -> None:
    agent = _mail_agent(tmp_path)
    world.cli("notify", "add", "mail", "--email", "ops@example.org", "--sendmail", str(agent)).ok()
    task = world.add_task({"a.dat": 3})
    world.watch(task, "mailed")
    secrets = (SMTP_PASSWORD, world.accounts.staging.secret_access_key)
    with detached_daemon(secret_env) as pid:
        environ = Path(f"/proc/{pid}/environ")
        try:
            text = environ.read_bytes().replace(b"\0", b"\n").decode(errors="replace")
        except PermissionError:  # not dumpable: another process may not read it (not root)
            text = ""
        search.look("/proc/<daemon>/environ", text, *secrets, "AWS_COPY_PT_SECRET_ACCESS_KEY")
        limits = Path(f"/proc/{pid}/limits").read_text()
        [core] = [line for line in limits.splitlines() if line.startswith("Max core file size")]
        assert core.split()[4:6] == ["0", "0"], core
        sent = tmp_path / "sendmail.env"
        world.until(sent.exists, timeout=120, what="the daemon's notification mail")
        search.look("the mail agent's environment", sent.read_text(), *secrets)
    logs = world.home / "logs"
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in logs.iterdir()}
    assert modes and set(modes.values()) == {0o600}, modes
    for log in logs.iterdir():
        search.look(f"daemon log {log.name}", log.read_text(errors="replace"), *secrets)
    search.verdict()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_command_that_opens_the_database_makes_its_process_undumpable(world: World) -> None:
    world.cli("status").ok()  # in this process, as every test's commands run
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0
    assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
