"""Welcome: what the tool does and where its data lives."""

from __future__ import annotations

from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.ui import Option

LINES = (
    "aws-copy-pt lands Globus transfers in an S3 bucket of another AWS account.",
    "Globus writes into a staging bucket you own; aws-copy-pt watches the task,",
    "then copies what it delivered server-side into the destination bucket and",
    "verifies every object.",
)


def run(wizard: Wizard) -> Outcome:
    ui = wizard.ui
    for line in LINES:
        ui.say(line)
    ui.say("")
    ui.say(f"Your data lives in {wizard.app.home.path} (private to you).")
    ui.say("Ctrl-C stops at any time; the next run resumes where you left off.")
    start = ui.select(
        "Ready?",
        [Option("Start the set-up", Outcome.NEXT), Option("Quit", Outcome.QUIT)],
        back=False,
    )
    return Outcome(start)
