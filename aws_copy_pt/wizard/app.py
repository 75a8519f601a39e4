"""`aws-copy-pt` with no command on a terminal: the first-run wizard, later the main menu.

The first run walks through the screens in :data:`SCREENS`; each can go back to the previous
one. Which screen comes first is read from the database (see ``wizard.state``), so a run that
was interrupted resumes at the first screen whose rows are missing. Once a transfer (or a follow
rule) exists the main menu takes over.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from aws_copy_pt.cli import program
from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.errors import ExitCode
from aws_copy_pt.wizard import menu
from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.state import SetupState, load_state
from aws_copy_pt.wizard.steps import (
    aws_credentials,
    destination,
    globus_login,
    staging,
    transfer,
    watching,
    welcome,
)
from aws_copy_pt.wizard.ui import Ui


@dataclass(frozen=True)
class Screen:
    title: str
    run: Callable[[Wizard], Outcome]
    done: Callable[[SetupState], bool]
    needs_globus: bool = False  # not shown after "skip Globus for now"


SCREENS = (
    Screen("Welcome", welcome.run, lambda s: s.anything),
    Screen("Globus login", globus_login.run, lambda s: s.logged_in),
    Screen("AWS credentials", aws_credentials.run, lambda s: bool(s.credentials)),
    Screen("Staging collection", staging.run, lambda s: bool(s.collections)),
    Screen("Destination bucket", destination.run, lambda s: bool(s.destinations)),
    Screen("Transfer to watch", transfer.run, lambda s: s.watching, needs_globus=True),
    Screen("Keep watching", watching.run, lambda s: s.watching, needs_globus=True),
)


def run_wizard(app: AppContext) -> int:
    """Run the first-run wizard or the main menu; returns the exit status."""
    wizard = Wizard(app, Ui(app))
    try:
        state = load_state(wizard)
        wizard.picks = state.picks()
        start = first_unfinished(state)
        if start is None:
            return menu.run(wizard, state)
        return first_run(wizard, start)
    except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D / end of input at a question
        wizard.ui.say("")
        wizard.ui.say("Stopped. Nothing half-done was kept; run aws-copy-pt again to resume.")
        return int(ExitCode.INTERRUPTED)


def first_unfinished(state: SetupState) -> int | None:
    """Index of the first screen whose rows are missing, or None when set-up is complete."""
    return next((i for i, screen in enumerate(SCREENS) if not screen.done(state)), None)


def first_run(wizard: Wizard, start: int) -> int:
    if start > 0:
        wizard.ui.heading("Welcome back: resuming the set-up.")
    index = start
    while index < len(SCREENS):
        screen = SCREENS[index]
        if screen.needs_globus and wizard.globus_skipped:
            return globus_later(wizard)
        if index > 0:
            wizard.ui.heading(f"Step {index} of {len(SCREENS) - 1}: {screen.title}")
        outcome = screen.run(wizard)
        if outcome is Outcome.QUIT:
            return int(ExitCode.OK)
        index = max(index - 1, 0) if outcome is Outcome.BACK else index + 1
    wizard.ui.heading("Set-up done. Run aws-copy-pt again any time for the main menu.")
    return int(ExitCode.OK)


def globus_later(wizard: Wizard) -> int:
    """The end of a set-up that skipped Globus: what is done, and how to finish it later."""
    ui = wizard.ui
    ui.heading("AWS and the buckets are set up; the Globus part comes next.")
    ui.say("Once your Globus app exists (and Globus is reachable), run aws-copy-pt again: it")
    ui.say("logs in, registers the staging collection and picks the transfer to watch.")
    ui.say("The same with commands:")
    run = shlex.join(program.command_words(wizard.app.home, wizard.app.env))
    staging = wizard.picks.staging_bucket or "STAGING_BUCKET"
    ui.verbatim(f"  {run} login --client-id CLIENT_ID")
    ui.verbatim(f"  {run} collection add COLLECTION_ID --bucket {shlex.quote(staging)}")
    return int(ExitCode.OK)
