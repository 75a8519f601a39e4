"""``--multipart-threshold SIZE`` and ``--stream-memory SIZE``: options of `copy`, `watch`
and `submit`."""

from __future__ import annotations

from collections.abc import Callable

import click

from aws_copy_pt.core.copy_plan import multipart_threshold_problem, parse_size
from aws_copy_pt.core.route import stream_memory_problem


def _size_option(
    flag: str, problem_of: Callable[[int], str | None], help_text: str
) -> Callable[[click.decorators.FC], click.decorators.FC]:
    """A ``--flag SIZE`` option: a size in human units (parse_size), checked by ``problem_of``
    (a bad one is a usage error naming the accepted range), given to the command in bytes."""

    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
        if value is None:
            return None
        try:
            size = parse_size(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        problem = problem_of(size)
        if problem is not None:
            raise click.BadParameter(f"{value}: {problem}")
        return size

    return click.option(flag, metavar="SIZE", callback=parse, help=help_text)


# Objects above SIZE are copied in parts (multipart UploadPartCopy), the rest whole.
multipart_threshold_option = _size_option(
    "--multipart-threshold",
    multipart_threshold_problem,
    "Copy objects above SIZE in parallel parts (default 256MiB; 5MiB-5GiB; "
    "units are binary: 1MB = 1MiB).",
)

# How many bytes a streamed copy may hold in memory at once, all objects together.
stream_memory_option = _size_option(
    "--stream-memory",
    stream_memory_problem,
    "Memory a streamed copy (--route stream) may hold for object data at once, all "
    "objects together: parts of 16MiB, SIZE/16MiB of them in flight (default 128MiB; "
    "16MiB-64GiB). The process needs about 100MiB more.",
)
