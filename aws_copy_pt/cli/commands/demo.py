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
@pass_app
def command(app: AppContext, keep: bool) -> int:
    """Run the complete pipeline against local stand-ins, with no accounts and no network.

    A local S3 server plays two AWS accounts (a lab's staging bucket and a partner's archive
    bucket in another region) and a local Globus stand-in plays Globus. aws-copy-pt logs in,
    registers the credentials, buckets and staging collection, submits a Globus transfer of a
    few files (one large enough for a multipart copy), watches it with the real scheduler,
    copies every delivered object server-side, verifies it, and shows where each one landed.

    The demo uses its own temporary home; your real one is never touched.

    \b
    Examples:
      aws-copy-pt demo
      aws-copy-pt demo --keep     # then explore with the printed --home
    """
    from aws_copy_pt.home.paths import Home
    from aws_copy_pt.sandbox.demo import DEST_BUCKET, run_demo

    heap.settle()  # the demo opens its own database
    home = Home(Path(tempfile.mkdtemp(prefix="aws-copy-pt-demo-")))
    home.path.chmod(0o700)
    try:
        result = run_demo(home, lambda line: render.note(app, f"• {line}"))
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
                "yes" if o.identical else "NO",
            )
            for o in result.objects
        ]
        columns = ("Key", "Size", "State", "Checksum", "Identical")
        title = f"Transfer {result.transfer_id} is {result.state}. In s3://{DEST_BUCKET}:"
        render.console(app).print(render.table(title, columns, rows))
        if keep:
            render.info(app, "Kept the demo home. Explore it with:")
            render.info(app, f"  aws-copy-pt --home {result.home} status")
            render.info(
                app, f"  aws-copy-pt --home {result.home} transfers show {result.transfer_id}"
            )
    ok = result.state == "DONE" and all(o.identical for o in result.objects)
    return 0 if ok else 4
