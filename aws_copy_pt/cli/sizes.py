"""``--multipart-threshold SIZE``: one option for `copy`, `watch` and `submit`."""

from __future__ import annotations

import click

from aws_copy_pt.core.copy_plan import multipart_threshold_problem, parse_size


def _threshold(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    problem = multipart_threshold_problem(size)
    if problem is not None:
        raise click.BadParameter(f"{value}: {problem}")
    return size


def multipart_threshold_option(func: click.decorators.FC) -> click.decorators.FC:
    """Objects above SIZE are copied in parts (multipart UploadPartCopy), the rest whole."""
    return click.option(
        "--multipart-threshold",
        metavar="SIZE",
        callback=_threshold,
        help="Copy objects above SIZE in parallel parts (default 256MiB; 5MiB-5GiB; "
        "units are binary: 1MB = 1MiB).",
    )(func)
