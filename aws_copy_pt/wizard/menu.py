"""The main menu of later runs: watch, status, manage registrations, the daemon, quit."""

from __future__ import annotations

from datetime import UTC, datetime

from aws_copy_pt.cli import render
from aws_copy_pt.core.states import ACTIVE_TRANSFER_STATES
from aws_copy_pt.daemon.process import daemon_status
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.services.setup.globus_login import whoami
from aws_copy_pt.services.watch.follow_rules import RuleView
from aws_copy_pt.wizard import manage, notifications
from aws_copy_pt.wizard.context import Wizard
from aws_copy_pt.wizard.state import SetupState, load_state
from aws_copy_pt.wizard.steps import globus_login, transfer, watching
from aws_copy_pt.wizard.ui import Option

STATUS_COLUMNS = ("ID", "Label", "State", "Globus", "Files", "Objects", "Destination", "Age")


def run(wizard: Wizard, state: SetupState) -> int:
    """Show the menu until the user quits."""
    if state.logged_in:
        app = wizard.app
        wizard.attempt(lambda: whoami(app.database(), env=app.env, verify=True))
        state = load_state(wizard)
    while True:
        daemon = daemon_status(wizard.app.home)
        _header(wizard, state, daemon.pid if daemon.running else None)
        daemon_option = (
            Option(f"Stop the daemon (pid {daemon.pid})", "stop")
            if daemon.running
            else Option("Start the daemon in the background", "start")
        )
        picked = wizard.ui.select(
            "What next?",
            [
                Option("Watch a new transfer", "watch"),
                Option("Status of transfers", "status"),
                Option("Manage AWS credentials", "credentials"),
                Option("Manage staging collections", "collections"),
                Option("Manage buckets", "buckets"),
                Option("Manage notifications", "notifications"),
                daemon_option,
                Option("Globus login", "login"),
                Option("Quit", "quit"),
            ],
            back=False,
        )
        if picked == "quit":
            return int(ExitCode.OK)
        _ACTIONS[picked](wizard)
        state = load_state(wizard)


def _header(wizard: Wizard, state: SetupState, daemon_pid: int | None) -> None:
    active = sum(1 for t in state.transfers if t.state in ACTIVE_TRANSFER_STATES)
    daemon = f"daemon running (pid {daemon_pid})" if daemon_pid else "no daemon"
    wizard.ui.heading(f"aws-copy-pt · Globus: {state.who} · {active} active transfer(s) · {daemon}")


def _watch_new(wizard: Wizard) -> None:
    watched = transfer.choose_and_watch(wizard)
    if watched is not None:
        # A follow rule registers no transfer yet: there is none to watch here.
        wizard.picks.transfer_id = None if isinstance(watched, RuleView) else watched.id
        watching.run(wizard)


def _status(wizard: Wizard) -> None:
    state = load_state(wizard)
    if not state.transfers:
        wizard.ui.say("No transfers yet.")
        return
    now = datetime.now(UTC)
    rows = [
        (
            t.id,
            t.label or "",
            t.state,
            t.globus_status or "",
            f"{t.files_transferred}/{t.files_expected if t.files_expected is not None else '?'}",
            t.objects_total or "",
            t.destination,
            render.human_age((now - t.created_at).total_seconds()),
        )
        for t in state.transfers
    ]
    wizard.ui.table(STATUS_COLUMNS, rows)
    wizard.ui.say("Details of one: aws-copy-pt transfers show ID")


def _start_daemon(wizard: Wizard) -> None:
    watching.start_daemon(wizard)


def _stop_daemon(wizard: Wizard) -> None:
    watching.stop_running_daemon(wizard)


def _login(wizard: Wizard) -> None:
    globus_login.run(wizard)


_ACTIONS = {
    "watch": _watch_new,
    "status": _status,
    "credentials": manage.credentials,
    "collections": manage.collections,
    "buckets": manage.buckets,
    "notifications": notifications.manage,
    "start": _start_daemon,
    "stop": _stop_daemon,
    "login": _login,
}
