"""`--engine` and the batch engine's options, shared by `watch`, `submit` and `copy`.

The decorator collapses the four options into one ``batch`` argument (a
``services.copy.batch.settings.BatchOptions``, or None when none was given: the destination
bucket's default engine then applies).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

ENGINE_HELP = (
    "Copy engine: local (aws-copy-pt's workers), batch (an S3 Batch Operations job; objects it "
    "cannot take go local) or auto (batch at or above --batch-threshold objects when the "
    "bucket has a batch role). Default: the destination bucket's (`bucket update --engine`), "
    "else auto."
)


def engine_options(func: F) -> F:
    """Add --engine, --batch-threshold, --confirm and --report-failed-only as ``batch=``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        engine: str | None,
        batch_threshold: int | None,
        confirm: bool,
        report_failed_only: bool,
        **kwargs: Any,
    ) -> Any:
        from aws_copy_pt.services.copy.batch.settings import BatchOptions

        kwargs["batch"] = BatchOptions.from_command(
            engine, batch_threshold, confirm=confirm, failed_tasks_only=report_failed_only
        )
        return func(*args, **kwargs)

    decorated: Any = wrapper
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


_OPTIONS = (
    click.option(
        "--engine",
        type=click.Choice(["local", "batch", "auto"]),
        default=None,
        help=ENGINE_HELP,
    ),
    click.option(
        "--batch-threshold",
        type=click.IntRange(min=1),
        metavar="N",
        help="auto: use a batch job from N objects on (default: the bucket's, else 100,000).",
    ),
    click.option(
        "--confirm",
        is_flag=True,
        help="Batch: create the job suspended; `aws-copy-pt transfers confirm ID` starts it.",
    ),
    click.option(
        "--report-failed-only",
        is_flag=True,
        help="Batch: the job's completion report lists failed tasks only (smaller report).",
    ),
)
