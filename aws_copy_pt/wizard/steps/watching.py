"""How to keep watching: the daemon in the background, a cron / scrontab line, or right here.

The daemon is started by running ``aws-copy-pt daemon --detach`` itself, so the wizard shares
its code path (locking, pid file, start-up errors) instead of duplicating process handling.
Watching here runs the same scheduler loop as ``aws-copy-pt run`` under the same instance lock.
"""

from __future__ import annotations

import shlex
import subprocess
import threading

from aws_copy_pt.cli import program
from aws_copy_pt.core.states import ACTIVE_TRANSFER_STATES, ObjectState, TransferState
from aws_copy_pt.daemon.process import daemon_status, stop_daemon
from aws_copy_pt.daemon.wake import request_wake
from aws_copy_pt.errors import LockedError
from aws_copy_pt.secrecy import without_secrets
from aws_copy_pt.services.transfers import TransferDetail, transfer_detail
from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.ui import BACK, Option

CRON_EVERY_MINUTES = 10
STOP_TIMEOUT_SECONDS = 120.0
PROGRESS_EVERY_SECONDS = 1.0


def run(wizard: Wizard) -> Outcome:
    picked = wizard.ui.select(
        "How should aws-copy-pt keep watching?",
        [
            Option("Start the daemon in the background (survives logging out)", "daemon"),
            Option("Show a cron / scrontab line for batch passes", "cron"),
            Option("Watch here now, with progress (Ctrl-C stops)", "here"),
            Option("Nothing now", "nothing"),
        ],
    )
    if picked is BACK:
        return Outcome.BACK
    if picked == "daemon":
        start_daemon(wizard)
    elif picked == "cron":
        show_schedule_lines(wizard)
    elif picked == "here" and wizard.picks.transfer_id is not None:
        watch_here(wizard, wizard.picks.transfer_id)
    return Outcome.NEXT


def command_words(wizard: Wizard) -> list[str]:
    """How to run this very aws-copy-pt again: its absolute path, and --home unless default."""
    return program.command_words(wizard.app.home, wizard.app.env, absolute=True)


def start_daemon(wizard: Wizard) -> bool:
    """Start ``aws-copy-pt daemon --detach``; True when a daemon is running afterwards."""
    ui = wizard.ui
    status = daemon_status(wizard.app.home)
    if status.running:
        request_wake(wizard.app.home)
        ui.ok(f"A daemon is already running (pid {status.pid}); it picks up new transfers.")
        return True
    ui.say("Starting the daemon…")
    started = subprocess.run(
        [*command_words(wizard), "daemon", "--detach"],
        env=without_secrets(wizard.app.env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        for line in (started.stdout + started.stderr).splitlines():
            ui.warn(line)
        return False
    for line in started.stdout.splitlines():
        ui.ok(line)
    return True


def stop_running_daemon(wizard: Wizard) -> None:
    wizard.ui.say("Stopping the daemon (in-flight copies finish first)…")
    stopped = wizard.attempt(lambda: stop_daemon(wizard.app.home, timeout=STOP_TIMEOUT_SECONDS))
    if stopped is not None and stopped.pid is not None:
        wizard.ui.ok(f"Daemon (pid {stopped.pid}) stopped.")
    elif stopped is not None and stopped.other is not None:
        wizard.ui.warn(f"No daemon is running; {stopped.other} holds the home and was left alone.")


def show_schedule_lines(wizard: Wizard) -> None:
    command = shlex.join([*command_words(wizard), "run", "--once"])
    log = "$HOME/aws-copy-pt-cron.log"
    ui = wizard.ui
    ui.say("For cron, add this line with `crontab -e`:")
    ui.verbatim(f"*/{CRON_EVERY_MINUTES} * * * * {command} >>{log} 2>&1")
    ui.say("For Slurm, add these lines with `scrontab -e`:")
    ui.verbatim("#SCRON --time=00:30:00\n#SCRON --job-name=aws-copy-pt")
    ui.verbatim(f"*/{CRON_EVERY_MINUTES} * * * * {command}")


def watch_here(wizard: Wizard, transfer_id: int) -> None:
    """Poll and copy in this terminal until ``transfer_id`` is finished (or Ctrl-C)."""
    from aws_copy_pt.daemon.scheduler import DaemonLoop
    from aws_copy_pt.home.lock import InstanceLock
    from aws_copy_pt.wiring import batch_workers

    db = wizard.app.database()
    lock = InstanceLock(wizard.app.home, "wizard: watching")
    try:
        lock.acquire()
    except LockedError as exc:
        wizard.ui.error(exc)
        return
    stop = threading.Event()
    loop = DaemonLoop(db, batch_workers(db), stop=stop)
    worker = threading.Thread(target=loop.run, name="aws-copy-pt-watch", daemon=True)
    try:
        worker.start()
        _show_progress(wizard, transfer_id, worker, stop)
    except KeyboardInterrupt:
        wizard.ui.say("Stopping: in-flight copies finish first…")
        raise
    finally:
        stop.set()
        worker.join()
        lock.release()
    for error in loop.report.errors:
        wizard.ui.warn(error)


def _show_progress(
    wizard: Wizard, transfer_id: int, worker: threading.Thread, stop: threading.Event
) -> None:
    shown = ""
    while worker.is_alive():
        detail = _detail(wizard, transfer_id)
        line = _progress_line(detail)
        if line != shown:
            wizard.ui.say(line)
            shown = line
        if detail.summary.state not in ACTIVE_TRANSFER_STATES:
            stop.set()
            if detail.summary.state == TransferState.DONE:
                wizard.ui.ok("Every object is copied and verified.")
            elif detail.summary.last_error:
                wizard.ui.warn(detail.summary.last_error)
            return
        worker.join(timeout=PROGRESS_EVERY_SECONDS)


def _detail(wizard: Wizard, transfer_id: int) -> TransferDetail:
    with wizard.app.session() as session:
        return transfer_detail(session, transfer_id, failure_limit=0)


def _progress_line(detail: TransferDetail) -> str:
    summary = detail.summary
    expected = "?" if summary.files_expected is None else str(summary.files_expected)
    parts = [
        f"Transfer {summary.id}: {summary.state}",
        f"Globus {summary.globus_status or '?'} {summary.files_transferred}/{expected} files",
    ]
    if summary.objects_total:
        verified = detail.object_counts.get(ObjectState.VERIFIED, 0)
        parts.append(f"copied {verified}/{summary.objects_total}")
    if detail.failures_total:
        parts.append(f"{detail.failures_total} failed")
    return " · ".join(parts)
