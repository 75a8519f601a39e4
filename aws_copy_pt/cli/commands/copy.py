"""`aws-copy-pt copy SRC DEST`: a verified server-side copy between two registered buckets."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.cli.engine_options import engine_options
from aws_copy_pt.cli.route import route_option
from aws_copy_pt.cli.sizes import multipart_threshold_option, stream_memory_option
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.errors import ExitCode, RemoteError

if TYPE_CHECKING:
    from rich.progress import Progress

    from aws_copy_pt.services.copy import CopyProgress, CopyReport
    from aws_copy_pt.services.copy.batch.preview import BatchPreview
    from aws_copy_pt.services.copy.batch.settings import BatchOptions
    from aws_copy_pt.services.copy.direct import DirectCopy, DryRun

MAX_FAILURES_SHOWN = 10


@click.command(short_help="Copy objects between two registered buckets, verified.")
@click.argument("source", metavar="SRC_BUCKET[/PREFIX]")
@click.argument("dest", metavar="DEST_BUCKET[/PREFIX]")
@click.option(
    "--dry-run", is_flag=True, help="Show what would be copied and skipped; copy nothing."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 512),
    help="Copies in flight at once (default 256; copies that need more than one request "
    "share at most 32 threads; multipart parts use as many again).",
)
@click.option(
    "--on-conflict",
    type=click.Choice(["overwrite", "fail"]),
    default="overwrite",
    show_default=True,
    help="An object already at a destination key and not proven identical: replace it, or "
    "refuse that object (exit 4).",
)
@click.option(
    "--delete-staging", is_flag=True, help="Delete each source object once its copy is verified."
)
@click.option(
    "--annotate",
    is_flag=True,
    help="Record the source checksum in each copy's metadata (one HEAD more per object).",
)
@multipart_threshold_option
@route_option
@stream_memory_option
@engine_options
@pass_app
def command(
    app: AppContext,
    source: str,
    dest: str,
    dry_run: bool,
    concurrency: int | None,
    on_conflict: str,
    delete_staging: bool,
    annotate: bool,
    multipart_threshold: int | None,
    route: str,
    stream_memory: int | None,
    batch: BatchOptions | None,
) -> int:
    """Copy every object under SRC_BUCKET[/PREFIX] to the same relative key under
    DEST_BUCKET[/PREFIX] and verify each copy. Both buckets must be registered
    (`aws-copy-pt bucket add`, with --endpoint-url for a store that is not AWS).

    \b
    The route (--route, shown by --dry-run and `transfers show`):
      server-side  both buckets on one S3 service: CopyObject, signed by the destination
                   bucket's credential; the data never passes through this machine.
      stream       two services (GCS, MinIO, Ceph, Spaces, AWS): each object is read with
                   the source bucket's credential and written with the destination's,
                   in 16 MiB parts with a bounded memory budget; its bytes are hashed on
                   the way and compared with the source's own checksum (x-amz-checksum,
                   GCS x-goog-hash, a single-part ETag's MD5) and any md5sum/md5chksum
                   in its metadata. An interrupted large object resumes from its parts.
    Each object's record says what proved it (`transfers show ID`).

    Identical objects already at the destination are skipped. The copy is recorded as a
    transfer (`aws-copy-pt status`); running the same command again resumes it and retries
    the objects that failed. Ctrl-C stops cleanly: copies in flight finish first.

    With --engine batch (or auto at or above the threshold, when the destination has a batch
    role) the source is listed first, an S3 Batch Operations job copies the objects of 5 GiB
    or less whose keys it can map, and this command waits for it at ~0 CPU (Ctrl-C stops
    waiting; the job goes on in S3 and the same command picks it up again). --dry-run shows
    the split and the job's estimated cost first.

    \b
    Exit status: 0 all copied or skipped (or the transfer was cancelled meanwhile), 2 the
    destination overlaps the source or --route server-side cannot work, 3 a batch job waits
    for `transfers confirm`, 4 some objects failed or were refused (--on-conflict fail; the
    summary lists them), 7 S3 refused or could not be reached, 130 interrupted (run it again
    to resume).

    \b
    Examples:
      aws-copy-pt copy staging/run42 archive/projects/run42
      aws-copy-pt copy staging/run42 archive/run42 --dry-run
      aws-copy-pt copy staging archive/2024 --concurrency 64 --delete-staging
      aws-copy-pt copy staging/big archive/big --multipart-threshold 64MiB
      aws-copy-pt copy gcs-staging/run42 archive/run42 --dry-run   (shows: stream)
      aws-copy-pt copy gcs-staging/run42 archive/run42 --stream-memory 512MiB
      aws-copy-pt copy staging/run42 archive/run42 --engine batch --dry-run
    """
    from aws_copy_pt.services.copy.direct import DirectCopy, Location

    request = DirectCopy(
        Location.parse(source),
        Location.parse(dest),
        on_conflict=on_conflict,
        delete_staging=delete_staging,
        annotate=annotate,
        multipart_threshold=multipart_threshold,
        route=route,
        batch=batch,
        stream_memory=stream_memory,
    )
    if dry_run:
        _dry_run(app, request)
        return int(ExitCode.OK)
    return _copy(app, request, concurrency)


def _dry_run(app: AppContext, request: DirectCopy) -> None:
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.copy.batch.preview import preview_direct
    from aws_copy_pt.services.copy.direct import dry_run

    plan = dry_run(app.database(), ClientFactory(), request)
    preview = preview_direct(app.database(), request, plan)
    if app.json_output:
        render.emit_json(app, {"dry_run": plan, "engine": preview.as_dict()})
        return
    _print_plan(app, request, plan)
    _print_engine(app, preview)


def _print_engine(app: AppContext, preview: BatchPreview) -> None:
    console = render.console(app)
    if preview.cost is None:
        render.info(app, f"Engine: local ({preview.why}); no Batch Operations fee.")
        return
    rows = [
        ("engine", f"batch ({preview.why})"),
        ("objects for the job", f"{preview.to_job:,} ({render.human_bytes(preview.to_job_bytes)})"),
        ("objects for the local engine", f"{preview.left_local:,} (over 5 GiB, or not mappable)"),
        *preview.cost.lines(),
    ]
    console.print(render.table("S3 Batch Operations job (estimated cost)", ("", ""), rows))
    render.info(app, preview.cost.label)


def _copy(app: AppContext, request: DirectCopy, concurrency: int | None) -> int:
    from aws_copy_pt.home.lock import InstanceLock
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.copy import DEFAULT_CONCURRENCY
    from aws_copy_pt.services.copy.direct import run_copy

    db = app.database()
    workers = concurrency or DEFAULT_CONCURRENCY
    factory = ClientFactory(max_pool_connections=max(64, 2 * workers))
    stop = threading.Event()
    with InstanceLock(app.home, "copy"), _stop_on_signals(stop), _progress(app) as bar:
        report = run_copy(
            db,
            factory,
            request,
            concurrency=workers,
            progress=bar.update if bar else None,
            stop=stop,
            listed=bar.listed if bar else None,
        )
    return _finish(app, request, report)


def _finish(app: AppContext, request: DirectCopy, report: CopyReport) -> int:
    if app.json_output:
        render.emit_json(app, {"copy": report.as_dict()})
    else:
        _print_summary(app, request, report)
    from aws_copy_pt.services.copy.report import cancelled_line

    if report.cancelled:
        render.info(app, cancelled_line(report))
        return int(ExitCode.OK)
    if report.stopped:
        job = " The batch job goes on in S3;" if report.held_by_batch else ""
        render.note(app, f"Stopped.{job} Run the same command again to resume.")
        return int(ExitCode.INTERRUPTED)
    if report.error is not None:  # a failure every object would hit ended the run early
        raise RemoteError(report.error, hint=report.error_hint)
    if report.batch_status == "Suspended" and report.held_by_batch:
        render.note(
            app,
            f"Batch job {report.batch_job_id} waits for your confirmation: check it with "
            f"`aws-copy-pt transfers show {report.transfer_id}`, start it with `aws-copy-pt "
            "transfers confirm ID`, then run this command again (or `aws-copy-pt run --once`).",
        )
        return int(ExitCode.WORK_REMAINS)
    if report.state == TransferState.DONE:
        return int(ExitCode.OK)
    if (
        report.state == TransferState.FAILED
        and report.failures
        and all(f.refused for f in report.failures)
    ):
        render.note(
            app,
            f"{report.refused} object(s) refused (--on-conflict fail): see "
            f"`aws-copy-pt transfers show {report.transfer_id}`.",
        )
        return int(ExitCode.PARTIAL)  # a deliberate refusal, not an S3 failure
    if report.state == TransferState.FAILED:
        first = report.failures[0].error if report.failures else "see the transfer's history"
        raise RemoteError(
            f"no object could be copied: {first}",
            hint=f"see `aws-copy-pt transfers show {report.transfer_id}`, fix the cause, and run "
            "the same command again",
        )
    return int(ExitCode.PARTIAL)


# --- terminal output ---------------------------------------------------------------------------


class _Bar:
    """A rich progress bar fed by the copy engine's callback (TTY only)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("listing", total=None, done="", rate="")

    def listed(self, count: int) -> None:
        self.progress.update(self.task, description=f"listing: {count:,} objects")

    def update(self, state: CopyProgress) -> None:
        self.progress.update(
            self.task,
            description="copying",
            total=state.objects_total,
            completed=state.objects_handled,
            done=f"{render.human_bytes(state.bytes_copied)} copied",
            rate=f"{render.per_second(state.objects_per_second, 1)} obj/s, "
            f"{render.human_bytes(int(state.bytes_per_second))}/s",
        )


@contextmanager
def _progress(app: AppContext) -> Iterator[_Bar | None]:
    if app.json_output or not app.stdout.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[done]}", markup=False),
        TextColumn("{task.fields[rate]}", markup=False),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=render.console(app), transient=True) as progress:
        yield _Bar(progress)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C or SIGTERM asks for a clean stop; a second Ctrl-C interrupts."""

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _print_plan(app: AppContext, request: DirectCopy, plan: DryRun) -> None:
    streamed = plan.route == "stream"
    whole = "streamed whole (GET, PUT)" if streamed else "single CopyObject"
    in_parts = "streamed in parts" if streamed else "multipart copies"
    rows = [
        ("objects", f"{plan.objects:,}", render.human_bytes(plan.bytes)),
        ("new", f"{plan.new:,}", ""),
        ("identical (skipped)", f"{plan.identical:,}", ""),
        (
            "different (overwritten)" if request.on_conflict == "overwrite" else "different (fail)",
            f"{plan.different:,}",
            "",
        ),
        ("same size, checked while copying", f"{plan.unsure:,}", ""),
        (whole, f"{plan.single:,}", ""),
        (in_parts, f"{plan.multipart:,}", render.human_bytes(plan.multipart_bytes)),
        (
            "over 50 TB (cannot be copied)",
            f"{plan.too_large:,}",
            ", ".join(plan.too_large_examples),
        ),
    ]
    rows.append(("route", plan.route, plan.route_reason))
    title = f"Dry run: {request.source} -> {request.dest} (nothing copied)"
    render.console(app).print(render.table(title, ("", "Objects", "Bytes"), rows))


def _print_summary(app: AppContext, request: DirectCopy, report: CopyReport) -> None:
    if report.objects_total == 0 and report.state == TransferState.DONE:
        render.info(app, f"Nothing to copy: {request.source} holds no object.")
        return
    rate = report.bytes_copied / report.elapsed if report.elapsed else 0.0
    copied = report.single_copies + report.multipart_copies
    checks = ", ".join(f"{n:,} by {how}" for how, n in sorted(report.verified_by.items()))
    rows = [
        ("transfer", f"{report.transfer_id} ({report.state})"),
        ("verified", f"{report.verified:,}"),
        ("skipped (identical)", f"{report.skipped:,}"),
        ("failed", f"{report.failed:,}"),
        ("left for a later run", f"{report.remaining:,}"),
        (
            "copied this run",
            f"{copied:,} ({report.multipart_copies:,} multipart), "
            f"{render.human_bytes(report.bytes_copied)}",
        ),
        ("route", report.route or "-"),
        ("content checked", checks or "-"),
        (
            "time",
            f"{report.elapsed:.1f} s, {render.per_second(copied, report.elapsed)} obj/s, "
            f"{render.human_bytes(int(rate))}/s",
        ),
    ]
    if report.batch_job_id:
        held = f", {report.held_by_batch:,} object(s) still with it" if report.held_by_batch else ""
        rows.append(("batch job", f"{report.batch_job_id} ({report.batch_status}){held}"))
    if report.overwritten:
        rows.append(("overwritten", f"{report.overwritten:,}"))
    if report.staging_deleted:
        rows.append(("staging deleted", f"{report.staging_deleted:,}"))
    console = render.console(app)
    console.print(render.table(f"Copy {request.source} -> {request.dest}", ("", ""), rows))
    if report.failures and report.error is None:  # else the error line below says it all
        shown = report.failures[:MAX_FAILURES_SHOWN]
        console.print(
            render.table("Failed objects", ("Key", "Why"), [(f.key, f.error) for f in shown])
        )
        if report.failed > len(shown):
            render.info(app, f"... see `aws-copy-pt transfers show {report.transfer_id}` for all.")
