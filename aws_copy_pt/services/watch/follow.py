"""Following: each pass, the new tasks of every active follow rule become watched transfers.

A pass (``run --once``; in the daemon, the poll job at most once a minute) works in three steps:

1. **Find** (``follow_find``: Globus calls, no database lock held). A collection rule lists the
   TRANSFER tasks requested since its high-water mark, oldest first: one ``task_list`` call
   filtered on the server by type and request time (``LIST_OVERLAP`` before the mark, so a
   task whose submission committed late is not missed). A full page (Globus answers 1,000 at
   most) continues from the last request time seen, never by offset. A timer rule reads the
   timer's runs newest first, page by page, down to the newest run already seen; their task
   documents come in one ``task_list`` call by id, together with the tasks still pending.
2. **Decide** (``core.follow``). The first rule created that matches takes a task. A rule with
   ``--path`` needs the files a task delivered, which Globus lists only once it has finished:
   a running task waits as *pending* and is re-read each pass (1,000 per call). A task that had
   already FAILED when first seen is recorded as skipped (a failed or cancelled task is usually
   re-sent; ``watch TASK`` adopts one by hand).
3. **Record**, in one transaction: every decision (``followed_tasks``, unique per task id),
   every new transfer (``services.watch.submit.register_task``: exactly as ``watch`` makes one,
   the rule named in its first event) and the rules' new marks. A crash before the commit
   leaves the marks where they were: the next pass finds the same tasks, and a task already
   decided or watched is never registered again.

Globus calls per pass: one per rule (more only while a backlog of over 1,000 tasks is paged),
one per 1,000 pending tasks, and one per new task that has faults or needs its files read for
a path: never per task ever seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.core.follow import (
    FollowDecision,
    FollowOutcome,
    TaskFacts,
    decide,
)
from aws_copy_pt.core.route import RouteChoice
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import FollowedTask, FollowRule, Transfer
from aws_copy_pt.db.transactions import begin_writing
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.errors import GlobusCallError
from aws_copy_pt.globus.gateway import TimersClient, TransferClient
from aws_copy_pt.services.copy.batch.settings import BatchOptions
from aws_copy_pt.services.watch.follow_find import (
    FollowReport,
    FoundTask,
    RulePass,
    find_tasks,
    known_tasks,
    load_rules,
)
from aws_copy_pt.services.watch.follow_rules import destination_of
from aws_copy_pt.services.watch.poll import fault_detail
from aws_copy_pt.services.watch.submit import WatchOptions, register_task

WATCHED = "watched"  # decision of a matched task that `watch` had registered already


def follow_new_tasks(
    db: Database,
    transfer_client: Callable[[], TransferClient],
    timers_client: Callable[[], TimersClient] | None = None,
    *,
    min_interval: float = 0.0,
    now: datetime | None = None,
) -> FollowReport:
    """Check every active rule (when one was last checked ``min_interval`` seconds ago or more)
    and register what they match. A Transfer login failure raises ``NeedsLoginError``; a timer
    rule without a Timers login only sets ``needs_login`` (the other rules carry on)."""
    now = now or datetime.now(UTC)
    rules, pending = load_rules(db, now, min_interval)
    report = FollowReport(rules=len(rules))
    if not rules:
        return report
    client = transfer_client()
    found = find_tasks(client, timers_client, rules, pending, report)
    known = known_tasks(db, [tid for tid in found if tid not in pending])
    decisions = _decide(client, rules, found, pending, known, report)
    _record(db, rules, found, decisions, now, report)
    return report


def active_rules_exist(db: Database) -> bool:
    with db.session() as session:
        return session.scalar(select(FollowRule.id).where(~FollowRule.paused).limit(1)) is not None


# --- deciding (step 2) ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
    decision: FollowDecision
    fault_detail: str | None = None


def _decide(
    client: TransferClient,
    rules: Sequence[RulePass],
    found: Mapping[str, FoundTask],
    pending: Mapping[str, set[str]],
    known: set[str],
    report: FollowReport,
) -> dict[str, _Verdict]:
    specs = [rule.spec for rule in rules]
    verdicts: dict[str, _Verdict] = {}
    for task_id, item in found.items():
        if item.doc is None or task_id in known:
            continue
        first_sight = task_id not in pending
        facts = _facts(item.doc, item.timers)
        decision = decide(specs, facts, first_sight=first_sight)
        if decision.outcome is FollowOutcome.PENDING and facts.finished:
            paths = _delivered_paths(client, task_id, report)
            if paths is None:
                continue  # decided at a later pass
            decision = decide(specs, replace(facts, delivered_paths=paths), first_sight=first_sight)
        if decision.outcome is FollowOutcome.NONE and first_sight:
            continue
        detail = None
        faults = int(item.doc.get("faults") or 0)
        if decision.outcome is FollowOutcome.REGISTER and faults:
            detail = fault_detail(client, task_id, faults)
            report.calls += 1
        verdicts[task_id] = _Verdict(decision, detail)
    return verdicts


def _facts(doc: Mapping[str, Any], timers: Iterable[str]) -> TaskFacts:
    return TaskFacts(
        task_id=str(doc["task_id"]),
        status=str(doc.get("status")),
        destination_collection=doc.get("destination_endpoint_id"),
        label=doc.get("label"),
        request_time=gateway.parse_time(doc.get("request_time")),
        timers=frozenset(timers),
    )


def _delivered_paths(
    client: TransferClient, task_id: str, report: FollowReport
) -> tuple[str, ...] | None:
    """Destination paths on the first page of what a finished task delivered (or, when it
    delivered nothing, of what it skipped); None when Globus could not say."""
    try:
        page = gateway.successful_transfers(client, task_id)
        report.calls += 1
        paths = [str(e.get("destination_path")) for e in page.entries]
        if not paths:
            skipped = gateway.skipped_errors(client, task_id)
            report.calls += 1
            paths = [str(e.get("destination_path")) for e in skipped.entries]
    except GlobusCallError as exc:
        report.errors.append(f"task {task_id}: {exc.message}")
        return None
    return tuple(paths)


# --- recording (step 3) -----------------------------------------------------------------------


def _record(
    db: Database,
    rules: Sequence[RulePass],
    found: Mapping[str, FoundTask],
    verdicts: Mapping[str, _Verdict],
    now: datetime,
    report: FollowReport,
) -> None:
    with db.session() as session:
        begin_writing(session)  # so that one task's savepoint rolls back only that task
        rows = {
            r.id: r
            for r in session.scalars(
                select(FollowRule).where(FollowRule.id.in_([x.spec.rule_id for x in rules]))
            )
        }
        errors: dict[int, str] = {}
        for task_id, verdict in verdicts.items():
            item = found[task_id]
            assert item.doc is not None
            _apply(session, rows, task_id, item, verdict, errors, report)
        for rule in rules:
            row = rows.get(rule.spec.rule_id)
            if row is None:
                continue  # removed meanwhile
            row.high_water = _new_mark(rule, found) or row.high_water
            row.last_checked_at = now
            row.last_error = rule.error or errors.get(row.id)
            if row.last_error:
                report.errors.append(f"follow rule {row.name!r}: {row.last_error}")


def _apply(
    session: Session,
    rows: Mapping[int, FollowRule],
    task_id: str,
    item: FoundTask,
    verdict: _Verdict,
    errors: dict[int, str],
    report: FollowReport,
) -> None:
    decision, doc = verdict.decision, item.doc
    assert doc is not None
    rule = rows.get(decision.rule_id) if decision.rule_id is not None else None
    row = session.scalar(select(FollowedTask).where(FollowedTask.globus_task_id == task_id))
    if rule is None:  # a pending task that no rule takes after all
        if row is not None:
            row.decision = FollowOutcome.NONE.value
            row.reason = "no active rule takes it (its files are not below a rule's --path)"
        return
    outcome, transfer_id, reason = decision.outcome.value, None, None
    if decision.outcome is FollowOutcome.PENDING:
        reason = "running: the files it delivers decide whether it is below the rule's --path"
        report.pending += 1
    elif decision.outcome is FollowOutcome.SKIP_FAILED:
        reason = "the task had already failed when the rule first saw it: nothing is copied"
        report.skipped += 1
    else:
        registered = _register(session, rule, doc, verdict, report)
        if isinstance(registered, str):
            errors[rule.id] = registered
            return  # nothing recorded: tried again at the next pass
        outcome, transfer_id = registered
        reason = "watched by hand already" if outcome == WATCHED else None
    if row is None:
        row = FollowedTask(globus_task_id=task_id, rule_id=rule.id, decision=outcome)
        session.add(row)
    row.rule_id, row.decision, row.transfer_id, row.reason = rule.id, outcome, transfer_id, reason
    row.also_matched = {"rules": list(decision.also_matched)}
    row.timers = {"ids": sorted(item.timers)}
    row.request_time = gateway.parse_time(doc.get("request_time"))


def _register(
    session: Session,
    rule: FollowRule,
    doc: Mapping[str, Any],
    verdict: _Verdict,
    report: FollowReport,
) -> tuple[str, int] | str:
    """(decision, transfer id) once registered, or why it could not be (nothing written)."""
    task_id = str(doc["task_id"])
    watched = session.scalar(select(Transfer.id).where(Transfer.globus_task_id == task_id))
    if watched is not None:  # `watch` registered it since the rule listed it
        return WATCHED, watched
    options = rule.options or {}
    engine = options.get("engine")
    try:
        with session.begin_nested():
            summary = register_task(
                session,
                doc,
                to=destination_of(rule),
                options=WatchOptions(
                    on_conflict=str(options.get("on_conflict", "overwrite")),
                    delete_staging=bool(options.get("delete_staging", False)),
                    route=str(options.get("route", RouteChoice.AUTO.value)),
                    batch=BatchOptions.from_command(None if engine is None else str(engine)),
                ),
                fault_detail=verdict.fault_detail,
                found_by=f"follow rule {rule.name!r}",
                extra_options={"follow_rule": rule.name},
            )
    except AwsCopyPtError as exc:
        return f"task {task_id} could not be registered: {exc.message}"
    report.registered.append(summary.id)
    return FollowOutcome.REGISTER.value, summary.id


def _new_mark(rule: RulePass, found: Mapping[str, FoundTask]) -> datetime | None:
    """The rule's next high-water mark: the newest request time listed (collection rules), or
    the newest run up to which every run's task was read (timer rules)."""
    if rule.spec.timer_id is None:
        return rule.newest
    mark = None
    for run in reversed(rule.runs):  # oldest first
        if run.task_id and found.get(run.task_id, FoundTask(None)).doc is None:
            break
        mark = run.ran_at or mark
    return mark
