"""`aws-copy-pt run`: work in the foreground; `--once` does a single pass for cron/scrontab."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.core.states import TransferState
from aws_copy_pt.errors import LockedError

if TYPE_CHECKING:
    from aws_copy_pt.services.cycle import CycleReport
    from aws_copy_pt.services.news import Change

ONCE_ROLE = "run --once"
OVERLAP_QUIET_SECONDS = 24 * 3600


@click.command(short_help="Poll Globus and copy what is ready (--once: one pass, for cron).")
@click.option("--once", is_flag=True, help="Do one pass and exit (for cron and scrontab).")
@click.option("--concurrency", type=click.IntRange(1, 512), help="Parallel object copies.")
@pass_app
def command(app: AppContext, once: bool, concurrency: int | None) -> int:
    """Poll every watched Globus task, record what finished, copy and verify what is ready,
    and send notifications. Without --once it keeps going in the foreground until no transfer
    is pending (Ctrl-C stops it cleanly). Never prompts.

    A pass prints only what changed in it (a transfer moving to another state, a new Globus
    fault, a failed notification) and the problems it met, each with the command that shows
    more. A quiet pass prints nothing, so cron mails you only when there is news; the exit
    status alone tells whether work remains or something still waits for you. `aws-copy-pt
    status` shows where everything stands. With --json, every pass prints its report.

    \b
    Exit status tells a wrapper what to do next (the first that applies):
      5  Globus login needed: run `aws-copy-pt login` in a terminal
      9  a Globus task is suspended (GLOBUS_INACTIVE): renew the credentials of the
         collection named by `aws-copy-pt transfers show ID` in the Globus web app
      4  some objects or transfers failed (see `aws-copy-pt status`)
      3  work remains (tasks still running): run again later
      0  every transfer is finished
      8  another aws-copy-pt process is already working in this home (silent when it
         is the previous `run --once`, still copying, for less than a day)

    \b
    Examples:
      aws-copy-pt run --once
      */10 * * * * /path/to/.venv/bin/aws-copy-pt run --once     # crontab: mails only news
      */10 * * * * /path/to/.venv/bin/aws-copy-pt run --once >>~/acp-cron.log 2>&1
      aws-copy-pt run            # watch in the foreground until everything is copied
    """
    from aws_copy_pt.daemon.process import install_stop_handlers
    from aws_copy_pt.daemon.scheduler import DaemonLoop
    from aws_copy_pt.home.lock import InstanceLock
    from aws_copy_pt.services.cycle import run_cycle
    from aws_copy_pt.wiring import batch_workers

    db = app.database()
    workers = batch_workers(db, concurrency=concurrency)
    lock = InstanceLock(app.home, ONCE_ROLE if once else "run")
    try:
        lock.acquire()
    except LockedError as exc:
        if once and _overlapping_pass(exc):
            return int(exc.exit_code)  # the earlier pass reports what it does; nothing is news
        raise
    try:
        if once:
            report = run_cycle(db, workers)
        else:
            stop = threading.Event()
            install_stop_handlers(stop)
            report = DaemonLoop(db, workers, stop=stop, exit_when_idle=True).run()
    finally:
        lock.release()
    code = report.exit_code()
    if app.json_output:
        render.emit_json(
            app,
            {
                "exit_code": int(code),
                "needs_login": report.needs_login,
                "states": dict(report.states),
                "changes": report.changes,
                "errors": report.errors,
                "notes": report.notes,
                "attention": report.attention,
            },
        )
    elif not report.quiet:
        _show_news(app, report)
    return int(code)


def _overlapping_pass(exc: LockedError) -> bool:
    """Cron started this pass while the previous one still works (a long copy): not news,
    unless that pass has held the home for so long that it may be stuck."""
    recent = exc.held_for is not None and exc.held_for < OVERLAP_QUIET_SECONDS
    return exc.holder_role == ONCE_ROLE and recent


def _show_news(app: AppContext, report: CycleReport) -> None:
    """What changed and the cancels seen (stdout), then the problems met and what to do about
    them (stderr)."""
    attention = {item.transfer_id: item for item in report.attention}
    steps: dict[int, str] = {}
    for change in report.changes:
        render.info(app, _change_line(change))
        item = attention.get(change.transfer_id or 0)
        now_waits = item is not None and change.kind == "state" and item.state == change.to_state
        if now_waits and item and item.state != TransferState.NEEDS_LOGIN:  # one line for login
            steps[item.transfer_id] = item.next_step
    for line in report.notes:
        render.info(app, line)
    for error in report.errors:
        render.note(app, f"warning: {error}")
    for transfer_id, step in steps.items():
        render.note(app, f"  next for transfer {transfer_id}: {step}")
    if report.needs_login and any(c.to_state == TransferState.NEEDS_LOGIN for c in report.changes):
        render.note(app, "Globus login needed: run `aws-copy-pt login` in a terminal.")
    states = ", ".join(f"{n} {s}" for s, n in sorted(report.states.items())) or "no transfers"
    render.info(app, f"Pass finished: {states}.")


def _change_line(change: Change) -> str:
    name = "" if change.transfer_id is None else f"Transfer {change.transfer_id}"
    if change.label:
        name += f" ({change.label})"
    if change.kind == "state":
        what = f"{change.from_state} -> {change.to_state}"
    else:
        what = change.kind.replace("_", " ")
    return f"{name}: {what}: {change.message}" if name else f"{what}: {change.message}"
