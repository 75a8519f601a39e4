"""`aws-copy-pt run`: work in the foreground; `--once` does a single pass for cron/scrontab."""

from __future__ import annotations

import threading

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app


@click.command(short_help="Poll Globus and copy what is ready (--once: one pass, for cron).")
@click.option("--once", is_flag=True, help="Do one pass and exit (for cron and scrontab).")
@click.option("--concurrency", type=click.IntRange(1, 512), help="Parallel object copies.")
@pass_app
def command(app: AppContext, once: bool, concurrency: int | None) -> int:
    """Poll every watched Globus task, record what finished, copy and verify what is ready,
    and send notifications. Without --once it keeps going in the foreground until no transfer
    is pending (Ctrl-C stops it cleanly). Never prompts.

    \b
    Exit status tells a wrapper what to do next:
      0  every transfer is finished
      3  work remains (tasks still running): run again later
      4  some objects or transfers failed (see `aws-copy-pt status`)
      5  Globus login needed: run `aws-copy-pt login` in a terminal
      8  another aws-copy-pt process is already working in this home

    \b
    Examples:
      aws-copy-pt run --once
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
    with InstanceLock(app.home, "run --once" if once else "run"):
        if once:
            report = run_cycle(db, workers)
        else:
            stop = threading.Event()
            install_stop_handlers(stop)
            report = DaemonLoop(db, workers, stop=stop, exit_when_idle=True).run()
    code = report.exit_code()
    if app.json_output:
        render.emit_json(
            app,
            {
                "exit_code": int(code),
                "needs_login": report.needs_login,
                "states": dict(report.states),
                "errors": report.errors,
                "notes": report.notes,
                "attention": report.attention,
            },
        )
        return int(code)
    for error in report.errors:
        render.note(app, f"warning: {error}")
    for line in report.notes:
        render.info(app, line)
    states = ", ".join(f"{n} {s}" for s, n in sorted(report.states.items())) or "no transfers"
    render.info(app, f"Pass finished: {states}.")
    for item in report.attention:
        label = f" ({item.label})" if item.label else ""
        reason = f": {item.last_error}" if item.last_error else ""
        render.note(
            app,
            f"Transfer {item.transfer_id}{label} is {item.state}{reason}. See `{item.next_step}`.",
        )
    if report.needs_login:
        render.note(app, "Globus login needed: run `aws-copy-pt login` in a terminal.")
    return int(code)
