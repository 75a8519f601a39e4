"""The wizard's "which task" question offers a follow rule: every new task, hands-free."""

from __future__ import annotations

import sqlite3

from aws_copy_pt.errors import ExitCode
from tests.fixtures.wizard import WizardWorld, answer


def test_the_transfer_step_of_the_set_up_adds_a_follow_rule_into_the_chosen_destination(
    wizard_world: WizardWorld,
) -> None:
    world = wizard_world
    world.set_up(through="destination")

    run = world.run(answer("top", "hands", "", "", "Nothing"))

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert f"✓ Follow rule follow-{world.dest_bucket}: every new task into" in shown
    assert f"is copied to s3://{world.dest_bucket}." in shown
    with sqlite3.connect(world.home / "aws-copy-pt.db") as db:
        rules = db.execute("SELECT name, timer_id, dest_prefix FROM follow_rules").fetchall()
    assert rules == [(f"follow-{world.dest_bucket}", None, "")]


def test_with_a_follow_rule_the_next_run_opens_the_main_menu(wizard_world: WizardWorld) -> None:
    world = wizard_world
    world.set_up(through="destination")
    world.run(answer("top", "hands", "", "", "Nothing")).finish()

    run = world.run(answer("Quit"))

    assert run.finish() == ExitCode.OK
    shown = run.screen.text()
    assert "Step " not in shown
    assert "0 active transfer(s)" in shown
