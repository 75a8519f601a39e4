"""`aws-copy-pt status`: one line per transfer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.core.states import TransferState

if TYPE_CHECKING:
    from aws_copy_pt.services.transfers import TransferSummary

GLOBUS_PHASE_STATES = frozenset(
    {TransferState.WAITING, TransferState.GLOBUS_INACTIVE, TransferState.NEEDS_LOGIN}
)
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
    """Show every transfer: its Globus task, state, progress, rate, age and destination.

    Rate is the speed of the phase the transfer is in: while the Globus task runs (WAITING,
    GLOBUS_INACTIVE, NEEDS_LOGIN), the rate Globus reports; from LISTING on, the server-side
    copy's rate: bytes verified over the time from the first object copied to the last one
    verified (a retry starts a new phase). Age counts from when the transfer was registered.

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
            _rate(t),
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


def _rate(t: TransferSummary) -> str:
    """Globus's rate while its task runs; the copy rate from the copy phase on."""
    in_globus = t.state in GLOBUS_PHASE_STATES
    rate = t.effective_bytes_per_second if in_globus else t.copy_bytes_per_second
    return f"{render.human_bytes(rate)}/s" if rate else "-"


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
