"""`aws-copy-pt status`: one line per transfer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app

if TYPE_CHECKING:
    from aws_copy_pt.services.transfers import TransferSummary

COLUMNS = (
    "ID",
    "Label",
    "Globus task",
    "State",
    "Globus",
    "Files",
    "Bytes",
    "Rate",
    "Age",
    "Destination",
)


@click.command(short_help="Show watched transfers and how far each got.")
@click.option("--active", is_flag=True, help="Only transfers that have not finished.")
@pass_app
def command(app: AppContext, active: bool) -> None:
    """Show every transfer: its Globus task, state, progress, age and destination.

    \b
    Examples:
      aws-copy-pt status
      aws-copy-pt --json status --active
    """
    from aws_copy_pt.services.transfers import list_transfers

    with app.session() as session:
        transfers = list_transfers(session, include_finished=not active)
    if app.json_output:
        render.emit_json(app, {"transfers": transfers})
        return
    if not transfers:
        render.info(
            app,
            "No transfers yet. Register one with `aws-copy-pt watch TASK_ID --to BUCKET`, "
            "or try `aws-copy-pt demo`.",
        )
        return
    now = datetime.now(UTC)
    rows = [
        (
            t.id,
            t.label,
            t.globus_task_id or "(direct copy)",
            t.state,
            _globus(t),
            *_amounts(t),
            f"{render.human_bytes(t.effective_bytes_per_second)}/s"
            if t.effective_bytes_per_second
            else "-",
            render.human_age((now - t.created_at).total_seconds()),
            t.destination,
        )
        for t in transfers
    ]
    render.console(app).print(render.table(None, COLUMNS, rows))


def _amounts(t: TransferSummary) -> tuple[str, str]:
    """Files and bytes: Globus's progress, or for a direct copy the objects it covers."""
    if t.kind == "direct":
        return f"{t.objects_total} objects", render.human_bytes(t.bytes_total)
    expected = t.files_expected if t.files_expected is not None else "?"
    return f"{t.files_transferred}/{expected}", render.human_bytes(t.bytes_transferred)


def _globus(t: TransferSummary) -> str:
    """The task's status as Globus words it, with faults called out (they can stall a task)."""
    if t.globus_status is None:
        return "-"
    text = t.globus_status
    if t.nice_status and t.nice_status not in {"OK", "Queued", t.globus_status}:
        text += f" ({t.nice_status})"
    if t.faults:
        text += f", {t.faults} fault(s)"
    return text
