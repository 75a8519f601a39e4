"""The `aws-copy-pt` command: global options and the one error boundary.

Commands raise typed errors (``aws_copy_pt.errors``); ``invoke`` turns them into one clean line
on stderr and an exit status. Tracebacks are shown only with ``--debug``. Ctrl-C exits 130; the
database is left consistent because every unit of work runs in a transaction.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

import click

from aws_copy_pt import __version__
from aws_copy_pt.cli import heap
from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.cli.lazy import LazyGroup
from aws_copy_pt.core.text import visible, visible_lines
from aws_copy_pt.errors import AwsCopyPtError, ConfigError, ExitCode, RemoteError
from aws_copy_pt.log import configure_logging, redact

HELP = """Finish Globus transfers into an S3 bucket that belongs to another AWS account.

Globus writes into a staging bucket you own; aws-copy-pt watches the Globus task, then copies
exactly the delivered objects server-side into the destination bucket, verifying each one.

\b
First steps:
  aws-copy-pt                            no arguments, in a terminal: the guided set-up
  aws-copy-pt demo                       see the whole pipeline run offline
  aws-copy-pt status                     what is being watched and copied

Data lives in --home (default ~/.local/share/aws-copy-pt), private to you.
"""


class _Main(LazyGroup):
    """The top-level group: in a demo home whose stand-ins have stopped, a failure to reach
    them says so (``sandbox.demo_home``) instead of blaming the network."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RemoteError as exc:
            if isinstance(ctx.obj, AppContext) and ctx.obj.demo_stopped:
                from aws_copy_pt.sandbox.demo_home import DemoStoppedError

                raise DemoStoppedError() from exc
            raise


@click.group(
    cls=_Main,
    commands_package="aws_copy_pt.cli.commands",
    invoke_without_command=True,
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--home",
    metavar="DIR",
    help="Where aws-copy-pt keeps its database and logs "
    "[env AWS_COPY_PT_HOME; default $XDG_DATA_HOME/aws-copy-pt].",
)
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help="Print machine-readable JSON on stdout (also accepted after the command).",
)
@click.option("-v", "--verbose", count=True, help="More log output (repeat for more).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(__version__, "--version", prog_name="aws-copy-pt")
@click.pass_context
def main(
    ctx: click.Context, home: str | None, json_output: bool, verbose: int, debug: bool
) -> None:
    level = logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING)
    configure_logging(level)
    app = AppContext.create(home, json_output=json_output, verbose=verbose, debug=debug)
    ctx.obj = app
    ctx.call_on_close(app.close)
    if ctx.invoked_subcommand is None:
        ctx.exit(_front_door(ctx, app))


def _front_door(ctx: click.Context, app: AppContext) -> int:
    """No command: the interactive wizard on a terminal, short help (and failure) elsewhere."""
    if not app.interactive or app.json_output:
        click.echo(ctx.get_usage(), err=True)
        click.echo(
            "No command given, and no terminal to ask questions on.\n"
            "Run `aws-copy-pt --help` for the commands, or run `aws-copy-pt` in a terminal "
            "for the guided set-up.",
            err=True,
        )
        return int(ExitCode.USAGE)
    from aws_copy_pt.wizard.app import run_wizard

    return run_wizard(app)


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or bool(os.environ.get("AWS_COPY_PT_DEBUG"))


def _translate(exc: Exception) -> AwsCopyPtError | None:
    """Known library failures that have a clear cause and fix for the user."""
    from aws_copy_pt.db.errors import as_user_error

    database_trouble = as_user_error(exc)
    if database_trouble is not None:
        return database_trouble
    if isinstance(exc, PermissionError) and exc.filename:
        return ConfigError(
            f"permission denied on {exc.filename}",
            hint="check the owner and mode of the aws-copy-pt home",
        )
    return None


def _report(exc: AwsCopyPtError) -> None:
    """The error line and its next step: redacted, one line each, controls escaped."""
    click.echo(f"error: {visible(redact(exc.message))}", err=True)
    if exc.hint:
        click.echo(f"  next: {visible(redact(exc.hint))}", err=True)


def _print_traceback(exc: BaseException) -> None:
    """``exc``'s traceback (--debug), redacted as the logs are; each exception's message, which
    may quote outside text, is one line with control characters escaped."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        hidden = current.__suppress_context__
        current = current.__cause__ or (None if hidden else current.__context__)
    parts: list[str] = []
    for earlier in reversed(chain):
        if parts:
            parts.append("\nwhich led to:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(earlier.__traceback__))
        name = f"{type(earlier).__module__}.{type(earlier).__qualname__}"
        parts.append(f"{name}: {visible(redact(str(earlier)))}\n")
    click.echo(visible_lines(redact("".join(parts))), err=True, nl=False)


def invoke(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status instead of exiting (tests call this)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        result = main.main(args=args, prog_name="aws-copy-pt", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted; nothing half-written was kept", err=True)
        return int(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted; nothing half-written was kept", err=True)
        return int(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except AwsCopyPtError as exc:
        if debug:
            _print_traceback(exc)
        _report(exc)
        return int(exc.exit_code)
    except Exception as exc:
        if debug:
            _print_traceback(exc)
        translated = _translate(exc)
        if translated is not None:
            _report(translated)
            return int(translated.exit_code)
        click.echo(f"internal error: {type(exc).__name__}: {visible(redact(str(exc)))}", err=True)
        click.echo("  next: rerun with --debug for a traceback, and report it", err=True)
        return int(ExitCode.FAILURE)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


def run() -> NoReturn:
    """Console-script entry point."""
    heap.pause()  # until the command settles (see cli/heap.py)
    sys.exit(invoke())
