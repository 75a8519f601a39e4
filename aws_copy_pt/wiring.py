"""Builds the outside-world clients an unattended pass needs: the one place that wires them.

Every front end (the `run` and `daemon` commands, the wizard's "watch here", the offline demo)
wires the workflow the same way through :func:`batch_workers`.
"""

from __future__ import annotations

from typing import Any

from aws_copy_pt.db.engine import Database
from aws_copy_pt.services.cycle import Workers


def batch_workers(
    db: Database,
    *,
    concurrency: int | None = None,
    min_poll_seconds: float | None = None,
    max_poll_seconds: float | None = None,
) -> Workers:
    """Workers for unattended passes: never prompt; missing Globus login raises NeedsLoginError."""
    from aws_copy_pt.globus.clients import batch_timers_client, batch_transfer_client
    from aws_copy_pt.s3.clients import ClientFactory

    def transfer_client() -> Any:
        return batch_transfer_client(db)

    def timers_client() -> Any:
        return batch_timers_client(db)

    workers = Workers(
        transfer_client=transfer_client,
        # Object copies and multipart part copies each run ``concurrency`` workers.
        s3=ClientFactory(max_pool_connections=max(64, 2 * (concurrency or 0))),
        concurrency=concurrency,
        timers_client=timers_client,
    )
    if min_poll_seconds is not None:
        workers.min_poll_seconds = min_poll_seconds
    if max_poll_seconds is not None:
        workers.max_poll_seconds = max(max_poll_seconds, workers.min_poll_seconds)
    return workers
