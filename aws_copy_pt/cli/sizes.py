"""``--multipart-threshold SIZE`` and ``--stream-memory SIZE``: options of `copy`, `watch`
and `submit`."""

from __future__ import annotations

from collections.abc import Callable

import click

from aws_copy_pt.core.copy_plan import multipart_threshold_problem, parse_size
from aws_copy_pt.core.route import stream_memory_problem


def _size(problem_of: Callable[[int], str | None]) -> Callable[..., int | None]:
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

    return parse


def multipart_threshold_option(func: click.decorators.FC) -> click.decorators.FC:
    """Objects above SIZE are copied in parts (multipart UploadPartCopy), the rest whole."""
    return click.option(
        "--multipart-threshold",
        metavar="SIZE",
        callback=_size(multipart_threshold_problem),
        help="Copy objects above SIZE in parallel parts (default 256MiB; 5MiB-5GiB; "
        "units are binary: 1MB = 1MiB).",
    )(func)


def stream_memory_option(func: click.decorators.FC) -> click.decorators.FC:
    """How many bytes a streamed copy may hold in memory at once, all objects together."""
    return click.option(
        "--stream-memory",
        metavar="SIZE",
        callback=_size(stream_memory_problem),
        help="Memory a streamed copy (--route stream) may hold for object data at once, all "
        "objects together: parts of 16MiB, SIZE/16MiB of them in flight (default 128MiB; "
        "16MiB-64GiB). The process needs about 100MiB more.",
    )(func)
