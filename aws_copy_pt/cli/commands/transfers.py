"""`aws-copy-pt transfers show|retry|confirm|cancel ID`: one transfer in detail, and acting
on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app

if TYPE_CHECKING:
    from aws_copy_pt.services.transfers import TransferDetail, TransferSummary


@click.group(short_help="Show, retry, confirm or cancel one transfer.")
def command() -> None:
    """Look at one transfer (its Globus task, objects, failures and history) and act on it.
    `aws-copy-pt status` lists transfers and their ids.

    \b
    Examples:
      aws-copy-pt transfers show 3
      aws-copy-pt transfers retry 3
      aws-copy-pt transfers retry 4 --copy-partial
      aws-copy-pt transfers confirm 6
      aws-copy-pt transfers cancel 5 --globus
    """


@command.command("show", short_help="A transfer's progress, failures and history.")
@click.argument("transfer_id", type=int, metavar="ID")
@click.option("--failures", default=50, show_default=True, help="How many failed objects to list.")
@pass_app
def show(app: AppContext, transfer_id: int, failures: int) -> None:
    """Show transfer ID: its Globus task status and faults, its route (server-side, or
    streamed between two S3 services, and why), object counts by state, what proved the
    verified objects ("crc32c from source", "md5 from ETag", "size only"...), each failed
    object with its reason, the files Globus skipped (a task sent with skip_source_errors),
    and every event.

    \b
    Examples:
      aws-copy-pt transfers show 3
      aws-copy-pt --json transfers show 3 --failures 1000
    """
    from aws_copy_pt.services.transfers import transfer_detail

    with app.session() as session:
        detail = transfer_detail(session, transfer_id, failure_limit=failures)
    if app.json_output:
        render.emit_json(app, detail)
        return
    _print_detail(app, detail)


@command.command("retry", short_help="Copy failed objects again (or what a failed task left).")
@click.argument("transfer_id", type=int, metavar="ID")
@click.option(
    "--copy-partial",
    is_flag=True,
    help="The Globus task FAILED: list and copy the files that did arrive.",
)
@pass_app
def retry(app: AppContext, transfer_id: int, copy_partial: bool) -> None:
    """Put the failed objects of a PARTIAL or FAILED transfer back in line (-> COPYING). With
    --copy-partial, a transfer whose Globus task FAILED has the files that did arrive listed
    and copied (-> LISTING). A running daemon starts at once (it is woken up); otherwise the
    next `run --once` does the work.

    \b
    Examples:
      aws-copy-pt transfers retry 3
      aws-copy-pt transfers retry 4 --copy-partial
    """
    from aws_copy_pt.daemon.wake import request_wake
    from aws_copy_pt.services.transfers import retry_transfer

    with app.session() as session:
        result = retry_transfer(session, transfer_id, copy_partial=copy_partial)
    request_wake(app.home)
    if app.json_output:
        render.emit_json(app, result)
        return
    again = (
        f": {result.objects_reset} object(s) will be copied again" if result.objects_reset else ""
    )
    render.info(app, f"Transfer {transfer_id}: {result.from_state} -> {result.to_state}{again}.")


@command.command("confirm", short_help="Start a batch job that waits for confirmation.")
@click.argument("transfer_id", type=int, metavar="ID")
@pass_app
def confirm(app: AppContext, transfer_id: int) -> None:
    """Confirm the S3 Batch Operations job of transfer ID (created with --confirm, so it
    waits Suspended): S3 moves it to Ready and it starts copying. `transfers show ID` shows
    the job's objects and its estimated cost first.

    \b
    Examples:
      aws-copy-pt transfers show 6      # check the job's objects and estimated cost
      aws-copy-pt transfers confirm 6
    """
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.copy.batch.actions import confirm_job

    job = confirm_job(app.database(), ClientFactory(), transfer_id)
    if app.json_output:
        render.emit_json(app, job)
        return
    render.info(app, f"Batch job {job.job_id} of transfer {transfer_id} confirmed: {job.status}.")


@command.command("cancel", short_help="Stop a transfer for good.")
@click.argument("transfer_id", type=int, metavar="ID")
@click.option("--globus", is_flag=True, help="Also cancel its Globus task if still running.")
@pass_app
def cancel(app: AppContext, transfer_id: int, globus: bool) -> None:
    """Cancel transfer ID: nothing more is polled or copied (objects already copied stay).
    Its S3 Batch Operations job, if one runs, is cancelled first. The Globus task keeps
    running unless --globus; either way `status` shows the task's Globus status until it ends.

    \b
    Examples:
      aws-copy-pt transfers cancel 5
      aws-copy-pt transfers cancel 5 --globus
    """
    from aws_copy_pt.daemon.wake import request_wake
    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.services.copy.batch.actions import cancel_job
    from aws_copy_pt.services.transfers import cancel_transfer

    client = None
    if globus:
        from aws_copy_pt.globus.clients import batch_transfer_client

        client = batch_transfer_client(app.database(), env=app.env)
    job = cancel_job(app.database(), ClientFactory(), transfer_id)
    with app.session() as session:
        summary = cancel_transfer(session, transfer_id, transfer_client=client)
    request_wake(app.home)
    if app.json_output:
        render.emit_json(app, {**vars(summary), "batch_job_cancelled": job})
        return
    cancelled = f" (batch job {job} cancelled)" if job else ""
    render.info(app, f"Transfer {transfer_id} is {summary.state}{cancelled}.")


def _globus_status(d: TransferDetail) -> str:
    status = d.summary.globus_status or "-"
    if d.nice_status and d.nice_status != status:
        status += f" ({d.nice_status})"
    return f"{status}, {d.faults} fault(s)"


def _copy_phase(s: TransferSummary) -> str:
    """The latest copy phase: bytes verified, how long it took, the rate (see `status`)."""
    if not s.copy_bytes_per_second or s.copy_seconds is None:
        return "-"
    took = render.human_age(s.copy_seconds)
    return (
        f"{render.human_bytes(s.copy_bytes)} verified in {took}, "
        f"{render.human_bytes(s.copy_bytes_per_second)}/s"
    )


def _print_detail(app: AppContext, d: TransferDetail) -> None:
    s = d.summary
    files = f"{s.files_transferred}/{s.files_expected if s.files_expected is not None else '?'}"
    rate = render.human_bytes(d.effective_bytes_per_second)
    rows = [
        ("State", s.state),
        ("Label", s.label),
        ("Globus task", s.globus_task_id or "(direct copy)"),
        ("Globus status", _globus_status(d)),
        ("Globus progress", f"{files} files, {render.human_bytes(s.bytes_transferred)}, {rate}/s"),
        ("Copy", _copy_phase(s)),
        ("Staging collection", d.collection_name or d.collection_id),
        ("From", d.source),
        ("To", f"s3://{s.destination}"),
        ("Route", d.route_reason or s.route or "decided by its first copy run"),
        ("Options", ", ".join(f"{k}={v}" for k, v in sorted(d.options.items())) or "-"),
        ("Objects", ", ".join(f"{k} {v}" for k, v in sorted(d.object_counts.items())) or "-"),
        ("Verified by", ", ".join(f"{v:,} {k}" for k, v in sorted(d.verified_by.items())) or "-"),
        ("Last error", s.last_error),
    ]
    if d.globus_skipped_total:
        rows.insert(-1, ("Skipped by Globus", f"{d.globus_skipped_total} file(s), never delivered"))
    out = render.console(app)
    out.print(render.table(f"Transfer {s.id}", ("", ""), rows))
    if d.failures:
        title = f"Failed objects ({len(d.failures)} of {d.failures_total})"
        failure_rows = [(f.source_key, f.dest_key, f.attempts, f.last_error) for f in d.failures]
        out.print(
            render.table(title, ("Staging key", "Destination key", "Tries", "Why"), failure_rows)
        )
    if d.staging_left:
        title = f"Staging objects not deleted yet ({len(d.staging_left)} of {d.staging_left_total})"
        left_rows = [
            (o.source_key, o.why or "not tried yet: the next pass deletes it")
            for o in d.staging_left
        ]
        out.print(render.table(title, ("Staging key", "Why"), left_rows))
    if d.globus_skipped:
        title = f"Files Globus skipped ({len(d.globus_skipped)} of {d.globus_skipped_total})"
        skipped_rows = [
            (f.source_path, f.destination_path, f.error_code, f.error_details)
            for f in d.globus_skipped
        ]
        out.print(
            render.table(title, ("Source path", "Destination path", "Code", "Why"), skipped_rows)
        )
    event_rows = [
        (
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.kind,
            f"{e.from_state or ''} -> {e.to_state}" if e.to_state else "",
            e.message,
        )
        for e in d.events
    ]
    if d.batch_jobs:
        out.print(render.table("Batch jobs", ("", ""), _batch_rows(d)))
    out.print(render.table("Events", ("When (UTC)", "Kind", "State", "Message"), event_rows))


def _batch_rows(d: TransferDetail) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for job in d.batch_jobs:
        total = "?" if job.tasks_total is None else f"{job.tasks_total:,}"
        estimate = job.estimate
        rows += [
            (f"Attempt {job.attempt}", f"{job.phase}; S3 status {job.status or '-'}"),
            ("  Job", f"{job.job_id or '(not created yet)'} in {job.account_id}, {job.region}"),
            ("  Objects", f"{job.objects:,} ({render.human_bytes(job.bytes)})"),
            (
                "  Tasks",
                f"{job.tasks_succeeded:,} succeeded, {job.tasks_failed:,} failed of {total}",
            ),
            (
                "  Estimated cost",
                f"${estimate['total_usd']} (batch fees ${estimate['job_fees_usd']} + "
                f"${estimate['object_fees_usd']}; estimate, prices of {estimate['prices_as_of']})",
            ),
            ("  Manifest", job.manifest),
            ("  Reports", job.report_prefix),
        ]
        if job.failure_reasons:
            rows.append(("  Failure reasons", job.failure_reasons))
        if job.last_error:
            rows.append(("  Last error", job.last_error))
        if job.status == "Suspended":
            rows.append(("  Next step", f"aws-copy-pt transfers confirm {d.summary.id}"))
    return rows
