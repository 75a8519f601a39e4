"""`aws-copy-pt daemon`: keep watching and copying, in the foreground or detached."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.errors import AwsCopyPtError, ExitCode


@click.group(invoke_without_command=True, short_help="Keep watching and copying (or detach).")
@click.option("--detach", is_flag=True, help="Run in the background, detached from the terminal.")
@click.option(
    "--exit-when-idle", is_flag=True, help="Exit once no transfer is pending (good in batch jobs)."
)
@click.option("--concurrency", type=click.IntRange(1, 512), help="Parallel object copies.")
@click.option("--ready-fd", type=int, hidden=True, help="(--detach's own plumbing)")
@click.option(
    "--min-poll",
    type=click.FloatRange(0.1, 3600),
    default=10.0,
    show_default=True,
    help="Shortest wait between two polls of a Globus task, and between two looks for new "
    "work when nothing is watched, in seconds.",
)
@click.option(
    "--max-poll",
    type=click.FloatRange(1, 86400),
    default=300.0,
    show_default=True,
    help="Longest wait between two polls of a long-running task (also after a failed Globus "
    "login), in seconds.",
)
@click.pass_context
def command(
    ctx: click.Context,
    detach: bool,
    exit_when_idle: bool,
    concurrency: int | None,
    ready_fd: int | None,
    min_poll: float,
    max_poll: float,
) -> int | None:
    """Run the scheduler: poll Globus tasks adaptively, copy as soon as a task is ready,
    notify on outcomes. Runs in the foreground (for systemd --user, nohup, a batch job);
    --detach starts it in the background with a pid file and a log in <home>/logs/.
    SIGTERM (or `aws-copy-pt daemon stop`) finishes in-flight copies and exits 0.

    Each task is polled soon after it is watched, then less often while it runs (never
    closer than --min-poll nor further apart than --max-poll); while a follow rule is active,
    new Globus tasks are looked for every minute. `watch`, `submit`, `login`, `follow
    add`/`resume` and `transfers retry`/`cancel` wake the daemon, so their change is acted on
    within a second; `daemon status` shows when it polls next.

    \b
    Examples:
      aws-copy-pt daemon --detach
      aws-copy-pt daemon status
      aws-copy-pt daemon stop
      aws-copy-pt daemon --exit-when-idle      # inside a Slurm job
    """
    if ctx.invoked_subcommand is not None:
        return None
    app: AppContext = ctx.find_object(AppContext)  # type: ignore[assignment]
    options = LoopOptions(exit_when_idle, concurrency, min_poll, max_poll)
    if detach:
        return _start_detached(app, options)
    if ready_fd is not None:
        return _serve_detached(app, options, ready_fd)
    return _serve(app, options, ready=None)


@dataclass(frozen=True)
class LoopOptions:
    exit_when_idle: bool
    concurrency: int | None
    min_poll: float
    max_poll: float

    def argv(self) -> list[str]:
        """These options as `daemon` arguments."""
        words = ["--min-poll", repr(self.min_poll), "--max-poll", repr(self.max_poll)]
        if self.concurrency is not None:
            words += ["--concurrency", str(self.concurrency)]
        return [*words, "--exit-when-idle"] if self.exit_when_idle else words


def _serve(app: AppContext, options: LoopOptions, ready: Callable[[str], None] | None) -> int:
    import logging

    from aws_copy_pt.daemon.process import (
        install_stop_handlers,
        remove_pid_file,
        write_pid_file,
        write_schedule,
    )
    from aws_copy_pt.daemon.scheduler import DaemonLoop, Schedule
    from aws_copy_pt.daemon.wake import WakeWatcher
    from aws_copy_pt.home.lock import InstanceLock, is_network_filesystem
    from aws_copy_pt.log import configure_logging
    from aws_copy_pt.secrecy import scrub_environment
    from aws_copy_pt.wiring import batch_workers

    scrub_environment()  # what this daemon starts (a mail agent) gets none of them
    level = logging.DEBUG if app.debug else logging.INFO
    configure_logging(level, log_dir=app.home.logs_dir)
    log = logging.getLogger("aws_copy_pt.daemon")
    try:
        db = app.database()
        lock = InstanceLock(app.home, "daemon")
        lock.acquire()
    except AwsCopyPtError as exc:
        if ready is not None:
            ready(f"error\t{int(exc.exit_code)}\t{exc.message}\t{exc.hint or ''}")
        raise
    try:
        if is_network_filesystem(app.home.path):
            log.warning(
                "the home %s is on a network file system; SQLite locking there is fragile: "
                "prefer a local disk (--home)",
                app.home.path,
            )
        write_pid_file(app.home)
        stop = threading.Event()
        install_stop_handlers(stop)
        if ready is not None:
            ready("ok")
        workers = batch_workers(
            db,
            concurrency=options.concurrency,
            min_poll_seconds=options.min_poll,
            max_poll_seconds=options.max_poll,
        )

        def on_schedule(schedule: Schedule) -> None:
            write_schedule(app.home, schedule)

        DaemonLoop(
            db,
            workers,
            stop=stop,
            exit_when_idle=options.exit_when_idle,
            wake=WakeWatcher(app.home),
            on_schedule=on_schedule,
        ).run()
        return int(ExitCode.OK)
    finally:
        remove_pid_file(app.home)
        lock.release()


def _start_detached(app: AppContext, options: LoopOptions) -> int:
    import sys

    from aws_copy_pt.daemon.process import detach
    from aws_copy_pt.secrecy import without_secrets

    app.database().close()  # create/migrate now, so start-up errors show in this terminal
    app.close()
    debug = ["--debug"] if app.debug else []
    argv = [sys.executable, "-P", "-m", "aws_copy_pt", "--home", str(app.home.path), *debug]
    pid, message = detach([*argv, "daemon", *options.argv()], without_secrets(app.env))
    if message != "ok":
        raise _startup_error(message)
    log_file = app.home.logs_dir / "aws-copy-pt.log"
    if app.json_output:
        render.emit_json(app, {"pid": pid, "log_file": str(log_file)})
    else:
        render.info(app, f"Daemon started (pid {pid}). Log: {log_file}")
        render.info(app, "Check it with `aws-copy-pt daemon status`; stop it with `daemon stop`.")
    return int(ExitCode.OK)


def _serve_detached(app: AppContext, options: LoopOptions, ready_fd: int) -> int:
    """The detached daemon (started by --detach): says through ``ready_fd`` how start-up went."""
    from aws_copy_pt.daemon.process import ready_pipe

    ready = ready_pipe(ready_fd)
    try:
        return _serve(app, options, ready)
    except AwsCopyPtError as exc:
        return int(exc.exit_code)
    finally:
        ready("the daemon exited during start-up")


def _startup_error(message: str) -> Exception:
    """Rebuild the error the detached child reported through the start-up pipe."""

    parts = message.split("\t")
    if len(parts) != 4:
        return AwsCopyPtError(
            f"the daemon did not start: {message}",
            hint="run `aws-copy-pt daemon` in the foreground to see why",
        )
    error = AwsCopyPtError(parts[2], hint=parts[3] or None)
    error.exit_code = ExitCode(int(parts[1]))
    return error


@command.command("status", short_help="Is a daemon running for this home? When does it poll?")
@pass_app
def status(app: AppContext) -> int:
    """Show whether a daemon is running for this home: its pid, uptime, log file, and when it
    polls Globus next. Exits 0 when a daemon runs and 10 when none does (a script's test:
    `aws-copy-pt daemon status >/dev/null || aws-copy-pt daemon --detach`).

    \b
    Examples:
      aws-copy-pt daemon status
      aws-copy-pt --json daemon status
    """
    from aws_copy_pt.daemon.process import daemon_status

    state = daemon_status(app.home)
    now = datetime.now(UTC)
    if app.json_output:
        render.emit_json(
            app,
            {
                "running": state.running,
                "pid": state.pid,
                "log_file": str(state.log_file),
                "next_poll_at": state.next_poll_at,
                "poll_delay_seconds": state.poll_delay_seconds,
                "last_poll_at": state.last_poll_at,
                "woken_at": state.woken_at,
            },
        )
    elif state.running:
        uptime = "?"
        if state.started_at is not None:
            uptime = render.human_age(now.timestamp() - state.started_at)
        render.info(app, f"Daemon running: pid {state.pid}, up {uptime}. Log: {state.log_file}")
        if state.next_poll_at is not None:
            wait = render.human_age((state.next_poll_at - now).total_seconds())
            render.info(app, f"Next poll in {wait} ({state.next_poll_at:%H:%M:%S} UTC).")
    elif state.other is not None:
        render.info(app, f"No daemon is running; {state.other} is working in this home.")
    else:
        render.info(app, "No daemon is running. Start one with `aws-copy-pt daemon --detach`.")
    return int(ExitCode.OK if state.running else ExitCode.NOT_RUNNING)


@command.command("stop", short_help="Stop the running daemon cleanly.")
@click.option(
    "--timeout",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds to wait for in-flight copies.",
)
@pass_app
def stop(app: AppContext, timeout: float) -> None:
    """Ask the daemon to stop (SIGTERM): it takes no new work, finishes or cleanly aborts the
    copies in flight, saves its state and exits. Nothing verified is copied again later.
    Stopping when no daemon runs succeeds and says so; a `run --once` or `copy` holding the
    home is never stopped (it is named instead).

    \b
    Example:
      aws-copy-pt daemon stop
    """
    from aws_copy_pt.daemon.process import stop_daemon

    stopped = stop_daemon(app.home, timeout=timeout)
    if stopped.pid is not None:
        render.info(app, f"Daemon (pid {stopped.pid}) stopped.")
    elif stopped.other is not None:
        render.info(
            app,
            f"No daemon is running for {app.home.path}; nothing was stopped. The home is held "
            f"by {stopped.other}, which finishes its work and exits by itself.",
        )
    else:
        render.info(app, f"No daemon is running for {app.home.path}; nothing to stop.")
