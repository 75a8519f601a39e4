"""Text from outside is data: never rich markup, never terminal control.

Hostile strings are planted where outside systems put text: a Globus task label, collection
display names, object keys (in the local S3 server, delivered by the Globus stand-in), a region
header and error bodies from S3, an error message from Globus, a webhook receiver's error page.
Then every command that prints data runs through the CLI, and the wizard's listing screens
through a pretend terminal. Each output must keep its exit status, hold no raw control character
(ESC, CR, a bidi override) and show the planted text as visible escapes: ``[/x]`` as written,
ESC as ``\\x1b``, a line break as ``\\n``, U+202E as ``\\u202e``. ``--json`` keeps the exact data.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, cast

import pytest

from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.home.paths import Home
from tests.fixtures.cli import CliResult
from tests.fixtures.notify import WebhookReceiver
from tests.fixtures.wizard import CTRL_C, DEFAULT_WAIT, Transcript, WizardRun, answer
from tests.reliability.figures import Figures
from tests.reliability.world import STAGING_FOLDER, World
from tests.support.faultproxy import Answer, ProxyRequest, matching

# What an attacker (or an unlucky user) can put into a label, a name or a message, ...
HOSTILE = (
    "[/x][bold red]loud[/bold red]:smile:"
    "\x1b[2J"
    "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"
    "ok\nerror: forged\rX"
    "\u202etxt.exe"
)
# ... and how it must be shown: written out by hand, not computed with the code under test.
SHOWN = (
    "[/x][bold red]loud[/bold red]:smile:"
    "\\x1b[2J"
    "\\x1b]8;;http://evil.example\\x1b\\click\\x1b]8;;\\x1b\\"
    "ok\\nerror: forged\\rX"
    "\\u202etxt.exe"
)
# A key the local S3 server can hold: no "/" (folders) and no LF (it answers 404), the rest.
HOSTILE_KEY = "[/x][bold]k\x1b[2J\u202etxt\rforged.dat"
SHOWN_KEY = "[/x][bold]k\\x1b[2J\\u202etxt\\rforged.dat"
# Characters that must never reach the terminal raw.
RAW = {"ESC": "\x1b", "CR": "\r", "U+202E": "\u202e", "forged line": "\nerror: forged"}
NO_CONTROL = {"ESC": "\x1b", "U+202E": "\u202e"}
LONG = "L" * 3000
WIDE = {"COLUMNS": "50000"}  # table cells are not folded, so every escape stays on one line


@dataclass
class Inspector:
    """Examines outputs and counts each examination in the figures."""

    figures: Figures
    problems: list[str] = field(default_factory=list)

    def output(
        self, what: str, text: str, *shown: str, raw: Mapping[str, str] = RAW, debug: bool = False
    ) -> None:
        found = [f"{name} raw" for name, char in raw.items() if char in text]
        found += [f"{s!r} not shown" for s in shown if s not in text]
        if "internal error" in text or ("Traceback" in text and not debug):
            found.append("an internal error")
        self.figures.hostile_checks += 1
        self.figures.hostile_safe += not found
        if found:
            self.problems.append(f"{what}: {found}\n{text[-4000:]}")

    def result(
        self, what: str, result: CliResult, code: int, *shown: str, debug: bool = False
    ) -> None:
        if result.exit_code != code:
            self.problems.append(f"{what}: exit {result.exit_code}, expected {code}")
        self.output(what, result.stdout + result.stderr, *shown, debug=debug)

    def verdict(self) -> None:
        assert self.problems == [], "\n\n".join(self.problems)


@pytest.fixture
def inspector(figures: Figures) -> Inspector:
    return Inspector(figures)


def _plant(world: World) -> tuple[str, int]:
    """A task labelled HOSTILE from a collection named HOSTILE, delivering a HOSTILE_KEY object
    and a path that is refused (its reason quotes it); watched, not yet copied. The HOSTILE_KEY
    object is deleted from staging, so the copy fails and its reason names the key."""
    source = world.standin.add_collection(HOSTILE, owner=world.user)
    files = {"good.dat": 10, HOSTILE_KEY: 12, f"../{HOSTILE}.dat": 5}
    task = world.standin.add_task(
        world.user,
        source,
        world.staging_collection,
        [
            (f"/src/{n}", f"/{world.staging_bucket}/{STAGING_FOLDER}/{n}", size)
            for n, size in files.items()
        ],
        label=HOSTILE + LONG,
        script=["SUCCEEDED"],
    )
    transfer = world.watch(task, "out")  # its first poll found it done: the files are in staging
    world.staging_s3.delete_object(Bucket=world.staging_bucket, Key=f"in/{HOSTILE_KEY}")
    return task, transfer


def test_every_command_that_prints_data_shows_hostile_text_as_visible_escapes(
    world: World, inspector: Inspector, webhook_receiver: WebhookReceiver
) -> None:
    cli = world.cli
    webhook_receiver.status, webhook_receiver.reply = 500, HOSTILE.encode()
    cli("notify", "add", "ops", "--webhook", webhook_receiver.url()).ok()
    _task, transfer = _plant(world)

    inspector.result("run --once", cli("run", "--once", env=WIDE), ExitCode.PARTIAL, SHOWN)
    inspector.result("status", cli("status"), ExitCode.OK, SHOWN)
    inspector.result("tasks", cli("tasks"), ExitCode.OK, SHOWN)
    shown = cli("transfers", "show", str(transfer))
    inspector.result("transfers show", shown, ExitCode.OK, SHOWN, SHOWN_KEY)
    # An HTML error page is read as words: its CR and LF are spaces there.
    inspector.result("notify list", cli("notify", "list"), ExitCode.OK, SHOWN[:50])
    texts = [str(post.payload["text"]) for post in webhook_receiver.received]
    inspector.output("webhook text", "\n".join(texts) or "(nothing was sent)", SHOWN[:40])

    other = world.standin.add_collection(HOSTILE, owner=world.user)
    added = cli("collection", "add", other, "--bucket", world.staging_bucket, "--key-prefix", "b/")
    inspector.result("collection add", added, ExitCode.OK, SHOWN)
    inspector.result("collection list", cli("collection", "list"), ExitCode.OK, SHOWN)

    refused = world.add_task({"a.dat": 1})
    body = {"code": "Conflict", "message": HOSTILE}
    world.standin.inject("GET", f"/v0.10/task/{refused}$", status=409, body=body, times=10)
    watch = cli("watch", refused, "--to", f"{world.dest_bucket}/w")
    inspector.result("watch (Globus error)", watch, ExitCode.REMOTE, SHOWN)

    dry_run = cli(
        "copy", f"{world.staging_bucket}/{STAGING_FOLDER}", f"{world.dest_bucket}/[/x]", "--dry-run"
    )
    inspector.result("copy --dry-run", dry_run, ExitCode.OK, "[/x]")

    region = "[/x]\x1b[2J-weird-1"
    bucket = _bucket_with_a_hostile_region(world, region)
    added_bucket = cli("bucket", "add", bucket, "--credentials", "lab", *_endpoint(world))
    inspector.result("bucket add", added_bucket, ExitCode.OK, "[/x]\\x1b[2J-weird-1")
    inspector.result("bucket list", cli("bucket", "list"), ExitCode.OK, "[/x]\\x1b[2J-weird-1")

    exact = json.loads(cli("--json", "status").ok().stdout)["transfers"]
    assert [t["label"] for t in exact if t["id"] == transfer] == [HOSTILE + LONG]
    inspector.verdict()


def _endpoint(world: World) -> tuple[str, str]:
    return ("--endpoint-url", world.proxy.endpoint_url)


def _bucket_with_a_hostile_region(world: World, region: str) -> str:
    """A bucket whose S3 server names its region ``region`` (header of the HeadBucket answer)."""
    name = world.s3.make_bucket(
        world.accounts.staging, f"rel-odd-{uuid.uuid4().hex[:12]}", "us-east-1"
    )

    def odd(_request: ProxyRequest, answer: Answer) -> Answer:
        headers = [(k, v) for k, v in answer.headers if k.lower() != "x-amz-bucket-region"]
        return Answer(answer.status, [*headers, ("x-amz-bucket-region", region)], answer.body)

    world.proxy.rewrite(matching("HeadBucket", bucket=name), odd)
    return name


def test_error_lines_show_a_hostile_server_message_as_visible_escapes(
    world: World, inspector: Inspector
) -> None:
    task = world.add_task({"a.dat": 1})
    body = {"code": "ClientError.BadRequest", "message": HOSTILE}
    world.standin.inject("GET", f"/v0.10/task/{task}$", status=400, body=body, times=10)
    for debug in (False, True):
        flags = ("--debug",) if debug else ()
        result = world.cli(*flags, "watch", task, "--to", f"{world.dest_bucket}/x")
        inspector.result(f"watch {flags}", result, ExitCode.REMOTE, SHOWN, debug=debug)
    inspector.verdict()


def test_the_wizards_listing_screens_show_hostile_text_as_visible_escapes(
    world: World, inspector: Inspector
) -> None:
    _plant(world)
    other = world.standin.add_collection(HOSTILE, owner=world.user)
    world.cli("collection", "add", other, "--bucket", world.staging_bucket, "--key-prefix", "b/")
    world.add_task({"second.dat": 1})
    world.standin.add_task(
        world.user,
        world.source,
        world.staging_collection,
        [("/src/x", f"/{world.staging_bucket}/{STAGING_FOLDER}/x", 1)],
        label=HOSTILE,
    )
    run = _wizard(world, WIDE)
    run.start(answer("Status"))
    run.wait_for("Details of one")
    run.send(answer("collections"))
    run.wait_for("Collection id")
    run.send(answer("back", "watch", world.dest_bucket, "top"))
    asked = run.prompts.wait_for(re.compile("Which Globus transfer"), DEFAULT_WAIT)
    assert asked is not None, run.prompts.text()[-3000:]
    run.send(CTRL_C)
    code = run.finish()
    assert code == ExitCode.INTERRUPTED, run.screen.text()
    inspector.output("wizard screens", run.screen.text(), SHOWN)
    # prompt_toolkit moves its cursor with CR and folds the question at 80 columns
    inspector.output("wizard questions", run.prompts.text(), "\\x1b[2J", raw=NO_CONTROL)
    inspector.verdict()


def _wizard(world: World, extra_env: dict[str, str]) -> WizardRun:
    screen = Transcript()
    terminal = cast(TextIO, screen)
    env = {**world.env, **extra_env, "AWS_COPY_PT_HOME": str(world.home)}
    app = AppContext(Home(Path(world.home)), env=env, stdout=terminal, stderr=terminal)
    return WizardRun(app, screen)
