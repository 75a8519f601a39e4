"""``--json`` after the command too: ``aws-copy-pt status --json`` is ``aws-copy-pt --json status``.

The global ``--json`` stays the documented one. Every command and subcommand also accepts a
hidden ``--json`` of its own (added once, when :class:`~aws_copy_pt.cli.lazy.LazyGroup` loads
the command) that sets the same flag on the :class:`~aws_copy_pt.cli.context.AppContext`, so no
command needs to know where the user put it.
"""

from __future__ import annotations

import click

from aws_copy_pt.cli.context import AppContext

PARAM_NAME = "json_after_command"


def _set_json(ctx: click.Context, _param: click.Parameter, given: bool) -> None:
    app = ctx.find_object(AppContext)
    if given and app is not None:
        app.json_output = True


def accept_json_after(command: click.Command) -> click.Command:
    """Give ``command`` (and, for a group, every subcommand below it) the hidden ``--json``."""
    if not any(param.name == PARAM_NAME for param in command.params):
        command.params.append(
            click.Option(
                ["--json", PARAM_NAME],
                is_flag=True,
                hidden=True,
                expose_value=False,
                is_eager=True,  # set before other options' callbacks and --help run
                callback=_set_json,
                help="Print machine-readable JSON on stdout (as the global --json).",
            )
        )
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            accept_json_after(subcommand)
    return command
