"""``--route auto|server-side|stream``: one option for `copy`, `watch` and `submit`."""

from __future__ import annotations

import click

from aws_copy_pt.core.route import RouteChoice

ROUTE_HELP = (
    "How objects travel. auto (default): server-side when both buckets are on one S3 service "
    "(every AWS region is one), else streamed through this machine (GCS, MinIO, Ceph, Spaces, "
    "another endpoint). stream: always stream, read with the source bucket's credential and "
    "written with the destination's (two accounts that no one principal can bridge). "
    "server-side: refuse (exit 2) where it cannot work."
)


def route_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--route",
        type=click.Choice([choice.value for choice in RouteChoice]),
        default=RouteChoice.AUTO.value,
        show_default=True,
        help=ROUTE_HELP,
    )(func)
