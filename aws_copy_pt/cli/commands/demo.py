"""`aws-copy-pt demo`: the whole pipeline, offline, in a throw-away home."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from aws_copy_pt.cli import heap, render
from aws_copy_pt.cli.context import AppContext, pass_app


@click.command(short_help="See the whole pipeline work offline, in a minute.")
@click.option("--keep", is_flag=True, help="Keep the demo's home to explore it afterwards.")
@click.option(
    "--engine",
    type=click.Choice(["local", "batch"]),
    default="local",
    show_default=True,
    help="batch: copy through an S3 Batch Operations job (a local S3 Control stand-in).",
)
@pass_app
def command(app: AppContext, keep: bool, engine: str) -> int:
    """Run the complete pipeline against local stand-ins, with no accounts and no network.

    A local S3 server plays two AWS accounts (a lab's staging bucket and a partner's archive
    bucket in another region) and a local Globus stand-in plays Globus. aws-copy-pt logs in,
    registers the credentials, buckets and staging collection, submits a Globus transfer of a
    few files (one large enough for a multipart copy), watches it with the real scheduler,
    copies every delivered object server-side, verifies it, and shows where each one landed.

    With --engine batch a local S3 Control stand-in runs S3 Batch Operations jobs: the job
    copies the objects, the local engine the one above the job's size limit (lowered to
    8 MiB for the demo), and every copy is verified the same way.

    The demo uses its own temporary home; your real one is never touched.

    \b
    Examples:
      aws-copy-pt demo
      aws-copy-pt demo --engine batch
      aws-copy-pt demo --keep     # then explore with the printed --home
    """
    from aws_copy_pt.home.paths import Home
    from aws_copy_pt.sandbox.demo import DEST_BUCKET, run_demo

    heap.settle()  # the demo opens its own database
    home = Home(Path(tempfile.mkdtemp(prefix="aws-copy-pt-demo-")))
    home.path.chmod(0o700)
    try:
        result = run_demo(home, lambda line: render.note(app, f"• {line}"), engine=engine)
    finally:
        if not keep:
            shutil.rmtree(home.path, ignore_errors=True)
    if app.json_output:
        render.emit_json(app, result)
    else:
        rows = [
            (
                o.key,
                render.human_bytes(o.size),
                o.state,
                o.checksum or "-",
                o.engine,
                "yes" if o.identical else "NO",
            )
            for o in result.objects
        ]
        columns = ("Key", "Size", "State", "Checksum", "Copied by", "Identical")
        title = f"Transfer {result.transfer_id} is {result.state}. In s3://{DEST_BUCKET}:"
        render.console(app).print(render.table(title, columns, rows))
        if keep:
            render.info(
                app,
                f"Kept the demo home. Explore it with:\n"
                f"  aws-copy-pt --home {result.home} status\n"
                f"  aws-copy-pt --home {result.home} transfers show {result.transfer_id}",
            )
    ok = result.state == "DONE" and all(o.identical for o in result.objects)
    return 0 if ok else 4
