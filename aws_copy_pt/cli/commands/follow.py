"""`aws-copy-pt follow`: rules that turn every new Globus task into a watched transfer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext, pass_app
from aws_copy_pt.cli.route import route_option

if TYPE_CHECKING:
    from aws_copy_pt.services.watch.follow_rules import RuleView

WHEN_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]
COLUMNS = ("Name", "State", "Follows", "To", "Seen up to", "Checked", "Tasks", "Shadowing", "Error")


@click.group(short_help="Copy every new Globus task (or Timer run) into staging, hands-free.")
def command() -> None:
    """Follow rules: each pass (`run --once`, or the daemon about once a minute) lists the new
    Globus tasks into a staging collection and watches every one that matches, exactly as
    `aws-copy-pt watch TASK` would, so a nightly Globus Timer or an instrument's script needs no
    one to register its tasks.

    A task matches a rule when it writes into the rule's collection, was requested after the
    rule's start (--since, default: when the rule is added), has a label matching
    --label-match, is a run of --timer, and delivered files below --path (a folder of the
    collection, as Globus shows it), for the options given. When two rules match one task, the
    rule created first takes it; `follow list` shows which rules shadow which. A task that had
    already failed when first seen is skipped; one that fails later is reported like any
    watched transfer.

    \b
    Examples:
      aws-copy-pt follow add nightly --collection 6f1e0c3a-0000-4000-8000-000000000000 \\
          --timer 1b2c3d4e-0000-4000-8000-000000000000 --to archive-dest/nightly
      aws-copy-pt follow add scope-a --collection 6f1e0c3a-0000-4000-8000-000000000000 \\
          --path /staging-bucket/scope-a/ --label-match 'scope-a *' --to archive-dest/a
      aws-copy-pt follow list
      aws-copy-pt follow pause nightly
    """


@command.command(
    "add", short_help="Add a rule: new tasks into a collection are copied to a bucket."
)
@click.argument("name")
@click.option("--collection", required=True, metavar="UUID", help="The staging collection.")
@click.option("--to", "to", required=True, metavar="BUCKET[/PREFIX]", help="Destination.")
@click.option("--path", metavar="/FOLDER/", help="Only tasks delivering below this folder.")
@click.option("--label-match", metavar="GLOB", help="Only tasks whose label matches (* ? [..]).")
@click.option("--timer", metavar="TIMER_ID", help="Only the runs of this Globus Timer.")
@click.option(
    "--delete-staging",
    is_flag=True,
    help="Delete each staging object once its copy is verified (and only while it is "
    "still what was verified: a replaced object is kept).",
)
@click.option(
    "--on-conflict",
    type=click.Choice(["overwrite", "fail"]),
    default="overwrite",
    show_default=True,
    help="A destination key that already holds something not proven identical: replace "
    "it, or refuse that object (the transfer ends PARTIAL).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "batch", "auto"]),
    help="Copy engine of the transfers this rule registers, as `watch --engine` (default: the "
    "destination bucket's, else auto); batch needs the bucket's batch role.",
)
@route_option
@click.option(
    "--since",
    type=click.DateTime(WHEN_FORMATS),
    metavar="WHEN",
    help="Follow tasks requested from WHEN on (UTC unless an offset is given) [default: now].",
)
@pass_app
def add(
    app: AppContext,
    name: str,
    collection: str,
    to: str,
    path: str | None,
    label_match: str | None,
    timer: str | None,
    delete_staging: bool,
    on_conflict: str,
    engine: str | None,
    route: str,
    since: datetime | None,
) -> None:
    """Add follow rule NAME: every new task into staging collection UUID (a registered one)
    that matches the options is watched and, once it succeeded, copied to BUCKET/PREFIX (a
    registered bucket that must not overlap staging) and verified.

    With --timer, the rule follows that Globus Timer's runs: aws-copy-pt reads the timer through
    the Globus Timers API, which needs `aws-copy-pt login` to allow Timers (asked once the rule
    exists).

    \b
    Examples:
      aws-copy-pt follow add nightly --collection 6f1e0c3a-0000-4000-8000-000000000000 \\
          --timer 1b2c3d4e-0000-4000-8000-000000000000 --to archive-dest/nightly --delete-staging
      aws-copy-pt follow add scope-a --collection 6f1e0c3a-0000-4000-8000-000000000000 \\
          --path /staging-bucket/scope-a/ --to archive-dest/a --since 2026-03-01
    """
    from aws_copy_pt.daemon.wake import request_wake
    from aws_copy_pt.globus.clients import batch_timers_client
    from aws_copy_pt.services.watch.follow_rules import RuleRequest, add_rule

    db = app.database()
    request = RuleRequest(
        name=name,
        collection=collection,
        to=to,
        path=path,
        label_match=label_match,
        timer=timer,
        delete_staging=delete_staging,
        on_conflict=on_conflict,
        engine=engine,
        route=route,
        since=_utc(since),
    )
    added = add_rule(db, request, timers_client=lambda: batch_timers_client(db, env=app.env))
    request_wake(app.home)  # a running daemon follows the new rule now
    if app.json_output:
        render.emit_json(app, added)
        return
    rule = added.rule
    render.info(app, f"Follow rule {rule.name} added: {_follows(rule)} -> s3://{rule.destination}.")
    if added.timer_name:
        render.info(app, f"Timer {rule.timer_id} is {added.timer_name!r} at Globus Timers.")
    render.info(app, f"Tasks requested from {_when(rule.since)} UTC on are followed.")
    for note in rule.shadowed_by:
        render.note(
            app,
            f"note: rule {note.rule}, created earlier, matches {_extent(note.kind)} the same "
            "tasks: it takes them (`aws-copy-pt follow list`).",
        )
    if added.needs_timers_login:
        render.note(
            app,
            "Run `aws-copy-pt login` again to allow Globus Timers: the rule reads the runs of "
            f"timer {rule.timer_id} once you have.",
        )
    render.info(
        app, "`aws-copy-pt run --once` (cron) or the daemon registers and copies its tasks."
    )


@command.command("list", short_help="Rules, how far each has seen, and which shadows which.")
@pass_app
def list_(app: AppContext) -> None:
    """List the follow rules, oldest first (an older rule wins a task both match): what each
    follows, where to, the newest request time it has seen, its last check, the tasks it
    registered (and skipped or holds pending), the rules it shadows or is shadowed by, and its
    last error.

    \b
    Examples:
      aws-copy-pt follow list
      aws-copy-pt --json follow list
    """
    from aws_copy_pt.services.watch.follow_rules import list_rules

    with app.session() as session:
        rules = list_rules(session)
    render.listing(
        app,
        "rules",
        rules,
        empty="No follow rules. Add one with `aws-copy-pt follow add NAME --collection UUID "
        "--to BUCKET`.",
        columns=COLUMNS,
        row=_row,
    )


@command.command("remove", short_help="Remove a rule (its transfers stay).")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Remove follow rule NAME. Transfers it registered carry on; tasks it held pending are
    no longer followed.

    \b
    Example:
      aws-copy-pt follow remove nightly
    """
    from aws_copy_pt.services.watch.follow_rules import remove_rule

    with app.session() as session:
        view = remove_rule(session, name)
    if app.json_output:
        render.emit_json(app, view)
        return
    render.info(
        app, f"Follow rule {name} removed ({view.registered} transfer(s) it registered stay)."
    )


@command.command("pause", short_help="Stop following for now (resume catches up).")
@click.argument("name")
@pass_app
def pause(app: AppContext, name: str) -> None:
    """Pause follow rule NAME: passes skip it, and it takes no task while paused (a later
    rule that matches may). `follow resume` catches up on what was requested meanwhile.

    \b
    Example:
      aws-copy-pt follow pause nightly
    """
    _set_paused(app, name, paused=True)


@command.command("resume", short_help="Follow again, catching up (or --skip-missed).")
@click.argument("name")
@click.option(
    "--skip-missed",
    is_flag=True,
    help="Follow tasks from now on, not those requested while paused.",
)
@pass_app
def resume(app: AppContext, name: str, skip_missed: bool) -> None:
    """Resume follow rule NAME. The next pass registers the matching tasks requested while it
    was paused (tasks other rules took meanwhile stay theirs), unless --skip-missed.

    \b
    Examples:
      aws-copy-pt follow resume nightly
      aws-copy-pt follow resume nightly --skip-missed
    """
    _set_paused(app, name, paused=False, skip_missed=skip_missed)


def _set_paused(app: AppContext, name: str, *, paused: bool, skip_missed: bool = False) -> None:
    from aws_copy_pt.daemon.wake import request_wake
    from aws_copy_pt.services.watch.follow_rules import set_paused

    with app.session() as session:
        view = set_paused(session, name, paused, skip_missed=skip_missed)
    if not paused:
        request_wake(app.home)  # a running daemon follows the resumed rule now
    if app.json_output:
        render.emit_json(app, view)
        return
    render.info(app, f"Follow rule {name} is {view.state}.")


def _row(rule: RuleView) -> tuple[object, ...]:
    tasks = f"{rule.registered} registered"
    if rule.skipped:
        tasks += f", {rule.skipped} skipped"
    if rule.pending:
        tasks += f", {rule.pending} pending"
    return (
        rule.name,
        rule.state,
        _follows(rule),
        f"s3://{rule.destination}",
        _when(rule.high_water) if rule.high_water else f"(from {_when(rule.since)})",
        _when(rule.last_checked_at) if rule.last_checked_at else "never",
        tasks,
        _shadowing(rule),
        rule.last_error,
    )


def _follows(rule: RuleView) -> str:
    text = rule.collection_name or rule.collection_id
    if rule.path:
        text += f" below {rule.path}"
    if rule.label_match:
        text += f", label {rule.label_match!r}"
    if rule.timer_id:
        text += f", runs of timer {rule.timer_id}"
    return text


def _shadowing(rule: RuleView) -> str:
    parts = [f"shadowed by {_note(n.rule, n.kind, n.tasks)}" for n in rule.shadowed_by]
    parts += [f"shadows {_note(n.rule, n.kind, n.tasks)}" for n in rule.shadows]
    return "; ".join(parts) or "-"


def _note(name: str, kind: str, tasks: int) -> str:
    return f"{name} ({kind}{f', {tasks} task(s)' if tasks else ''})"


def _extent(kind: str) -> str:
    return "all of" if kind == "full" else "some of"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
