"""A click group whose subcommands are the modules of a package, imported only when used.

Each module ``cli/commands/<name>.py`` defines ``command`` (a click command or group); the command
name is the module name with ``_`` replaced by ``-``. Each loaded command also accepts ``--json``
after its name (``cli.json_flag``). Listing commands for ``--help`` imports the command modules,
so they must keep heavy imports (boto3, globus_sdk) inside function bodies. A mistyped command
name gets the closest command names as suggestions (click suggests only from commands registered
up front, and a lazy group has none).
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from types import ModuleType

import click

from aws_copy_pt.cli.json_flag import accept_json_after


class LazyGroup(click.Group):
    def __init__(self, *args: object, commands_package: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._package = commands_package

    def _package_module(self) -> ModuleType:
        return importlib.import_module(self._package)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [
            info.name.replace("_", "-")
            for info in pkgutil.iter_modules(self._package_module().__path__)
            if not info.name.startswith("_")
        ]
        return sorted(names)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        unknown = name and not name.startswith("-") and self.get_command(ctx, name) is None
        if unknown and not ctx.resilient_parsing:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3)
            if close:
                choices = " or ".join(repr(c) for c in close)
                raise click.UsageError(f"No such command {name!r}. Did you mean {choices}?", ctx)
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.list_commands(ctx):
            return None
        module = importlib.import_module(f"{self._package}.{cmd_name.replace('-', '_')}")
        command = getattr(module, "command", None)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module.__name__} must define a click command named 'command'")
        return accept_json_after(command)
