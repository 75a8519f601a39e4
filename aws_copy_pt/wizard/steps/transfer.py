"""Transfer to watch: where its files land (bucket and prefix), then which Globus task.

The task is the last answer, so it is registered (and validated by the watch service) the
moment it is given: a wrong or foreign task id is refused right there and asked again. Instead
of one task, the user can have every new task into a staging collection followed (a follow
rule, as `aws-copy-pt follow add` makes it; optionally only a Globus Timer's runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from aws_copy_pt.core.batch_cost import usd
from aws_copy_pt.core.paths import PathError, parse_bucket_target
from aws_copy_pt.errors import UsageError
from aws_copy_pt.services.copy.batch.preview import engine_choice
from aws_copy_pt.services.setup.buckets import get_bucket, list_buckets
from aws_copy_pt.services.setup.collections import list_collections
from aws_copy_pt.services.transfers import TransferSummary
from aws_copy_pt.services.watch.follow_rules import RuleView
from aws_copy_pt.services.watch.submit import RecentTask, recent_tasks, watch_task
from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.steps import follow
from aws_copy_pt.wizard.ui import BACK, Option, walk

TOP_LEVEL = ""
UNDER_PREFIX = "\0prefix"
PASTE = "\0paste"
FOLLOW = "\0follow"


@dataclass
class _Target:
    bucket: str
    prefix: str = ""
    watched: TransferSummary | RuleView | None = None


def run(wizard: Wizard) -> Outcome:
    watched = choose_and_watch(wizard)
    if watched is None:
        return Outcome.BACK
    if isinstance(watched, TransferSummary):
        wizard.picks.transfer_id = watched.id
    return Outcome.NEXT


def choose_and_watch(wizard: Wizard) -> TransferSummary | RuleView | None:
    """Ask where and which task, and register it (or follow every new one); the new
    transfer or follow rule, or None (back)."""
    destinations = _destinations(wizard)
    if not destinations:
        wizard.ui.warn("Register a destination bucket first (Manage buckets).")
        return None
    default = wizard.picks.destination
    target = _Target(default if default in destinations else destinations[0])

    def bucket() -> bool:
        picked = wizard.ui.select(
            "Copy into which bucket?",
            [Option(name, name) for name in destinations],
            default=target.bucket,
        )
        target.bucket = target.bucket if picked is BACK else str(picked)
        return picked is not BACK

    def prefix() -> bool:
        chosen = _ask_prefix(wizard, target.bucket, target.prefix)
        target.prefix = chosen if chosen is not None else target.prefix
        return chosen is not None

    def task() -> bool:
        target.watched = _choose_task(wizard, target)
        return target.watched is not None

    questions = [bucket, prefix, task] if len(destinations) > 1 else [prefix, task]
    return target.watched if walk(questions) else None


def _destinations(wizard: Wizard) -> list[str]:
    with wizard.app.session() as session:
        staging = {c.bucket for c in list_collections(session)}
        return [b.name for b in list_buckets(session) if b.name not in staging]


def _ask_prefix(wizard: Wizard, bucket: str, current: str) -> str | None:
    """The key prefix ('' for the top level), or None for back."""
    while True:
        where = wizard.ui.select(
            f"Where in s3://{bucket}/ should the files land?",
            [Option("At the top level", TOP_LEVEL), Option("Under a prefix…", UNDER_PREFIX)],
            default=UNDER_PREFIX if current else TOP_LEVEL,
        )
        if where is BACK:
            return None
        if where == TOP_LEVEL:
            return ""
        typed = wizard.ui.text("Prefix", default=current, instruction="(e.g. run1/; empty: back)")
        if typed is None:
            continue
        try:
            return parse_bucket_target(f"{bucket}/{typed}")[1]
        except PathError as exc:
            wizard.ui.error(UsageError(str(exc), hint="use a/b/c: no empty, . or .. parts"))


def _choose_task(wizard: Wizard, target: _Target) -> TransferSummary | RuleView | None:
    """Pick or paste a task and watch it at once (or follow every new task); the transfer or
    the rule, or None for back."""
    ui = wizard.ui
    while True:

        def recent() -> list[RecentTask]:
            with wizard.app.session() as session:
                return recent_tasks(session, wizard.transfer_client(), limit=15)

        tasks = wizard.attempt(recent) or []
        options = [Option(_describe(t), t.task_id, _watched(t)) for t in tasks]
        options.append(Option("Paste a task id", PASTE))
        options.append(Option("Every new task into staging, hands-free (a follow rule)", FOLLOW))
        picked = ui.select("Which Globus transfer should be copied when it is done?", options)
        if picked is BACK:
            return None
        if picked == FOLLOW:
            rule = follow.offer_rule(wizard, target.bucket, target.prefix)
            if rule is not None:
                return rule
            continue
        task_id = ui.text("Globus task id") if picked == PASTE else str(picked)
        if task_id is None:
            continue
        files = next((t.files for t in tasks if t.task_id == task_id), None)
        _show_engine(wizard, target, files)
        watched = wizard.attempt(partial(_watch, wizard, task_id, target))
        if watched is not None:
            _show(wizard, watched)
            return watched


def _watch(wizard: Wizard, task_id: str, target: _Target) -> TransferSummary:
    client = wizard.transfer_client()
    with wizard.app.session() as session:
        return watch_task(session, client, task_id, to=f"{target.bucket}/{target.prefix}")


def _show_engine(wizard: Wizard, target: _Target, files: int | None) -> None:
    """With a batch role on the destination: which engine will copy, and what a batch job
    would cost (an estimate), before any job exists. `bucket update --engine` changes it."""
    with wizard.app.session() as session:
        choice = engine_choice(get_bucket(session, target.bucket), files)
    if not choice.has_role:
        return
    when = {
        "batch": "an S3 Batch Operations job copies it",
        "local": "aws-copy-pt's own workers copy it (--engine local)",
        "auto": f"an S3 Batch Operations job copies it if it has {choice.threshold:,} objects "
        "or more",
    }[choice.default]
    wizard.ui.say(f"Copy engine for {target.bucket}: {when}.")
    if choice.estimate is not None and files:
        wizard.ui.say(
            f"A batch job for its {files:,} files would cost about {usd(choice.estimate.total)} "
            f"({choice.estimate.label})."
        )


def _show(wizard: Wizard, summary: TransferSummary) -> None:
    wizard.ui.ok(
        f"Transfer {summary.id} watches Globus task {summary.globus_task_id} "
        f"({summary.globus_status}) → s3://{summary.destination}/ [{summary.state}]."
    )
    if summary.last_error:
        wizard.ui.warn(summary.last_error)


def _describe(task: RecentTask) -> str:
    when = (task.request_time or "")[:16].replace("T", " ")
    files = "?" if task.files is None else str(task.files)
    label = task.label or "(no label)"
    return f"{label} · {task.status} · {files} files · {when} · {task.task_id[:8]}"


def _watched(task: RecentTask) -> str | None:
    return None if task.watched_as is None else f"watched as transfer {task.watched_as}"
