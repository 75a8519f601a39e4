"""Following, step 1: finding the tasks of each rule (Globus calls, no database lock held).

See ``services.watch.follow`` for the whole pass. A collection rule lists tasks by request time
(server-side filters, oldest first, windows continued from the last request time seen); a timer
rule reads the timer's runs down to the newest one already seen; task documents of timer runs
and of pending tasks are read by id, 1,000 per call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from aws_copy_pt.core.follow import FollowOutcome, RuleSpec, filter_time, list_start
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import FollowedTask, FollowRule, Transfer
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.errors import GlobusCallError, TimersLoginError
from aws_copy_pt.globus.gateway import TASK_LIST_MAX, TimersClient, TransferClient
from aws_copy_pt.services.watch.follow_rules import spec_of

MAX_PAGES = 50  # per rule and pass; a longer backlog continues at the next pass
_CHUNK = 500  # ids per SQL IN (...)


@dataclass
class FollowReport:
    rules: int = 0  # active rules checked
    calls: int = 0  # Globus calls made
    listed: int = 0  # task documents read
    registered: list[int] = field(default_factory=list)  # new transfer ids
    skipped: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)
    needs_login: str | None = None  # why a login is needed (Transfer or Timers)


@dataclass
class RulePass:
    """A rule as this pass sees it, and what the pass found out for it."""

    spec: RuleSpec
    high_water: datetime | None
    runs: list[gateway.TimerRun] = field(default_factory=list)  # timer runs newer than the mark
    newest: datetime | None = None  # newest request time listed (collection rules)
    error: str | None = None


@dataclass
class FoundTask:
    doc: dict[str, Any] | None  # None: not read (yet)
    timers: set[str] = field(default_factory=set)


def load_rules(
    db: Database, now: datetime, min_interval: float
) -> tuple[list[RulePass], dict[str, set[str]]]:
    with db.session() as session:
        rows = list(
            session.scalars(select(FollowRule).where(~FollowRule.paused).order_by(FollowRule.id))
        )
        due = [
            r
            for r in rows
            if r.last_checked_at is None
            or r.last_checked_at <= now - timedelta(seconds=min_interval)
        ]
        if not due:
            return [], {}
        pending = {
            row.globus_task_id: set((row.timers or {}).get("ids", []))
            for row in session.scalars(
                select(FollowedTask).where(FollowedTask.decision == FollowOutcome.PENDING.value)
            )
        }
        return [RulePass(spec_of(r), r.high_water) for r in rows], pending


def find_tasks(
    client: TransferClient,
    timers_client: Callable[[], TimersClient] | None,
    rules: Sequence[RulePass],
    pending: Mapping[str, set[str]],
    report: FollowReport,
) -> dict[str, FoundTask]:
    found: dict[str, FoundTask] = {}
    for rule in rules:
        try:
            if rule.spec.timer_id is None:
                _list_collection_rule(client, rule, found, report)
            else:
                _list_timer_rule(timers_client, rule, found, report)
        except TimersLoginError as exc:
            rule.error = exc.message
            report.needs_login = exc.message
        except GlobusCallError as exc:
            rule.error = exc.message
    for task_id, timers in pending.items():
        found.setdefault(task_id, FoundTask(None)).timers |= timers
    # Timer runs' tasks and pending tasks that no list of this pass has just shown.
    _read_documents(client, [tid for tid, f in found.items() if f.doc is None], found, report)
    report.listed = sum(f.doc is not None for f in found.values())
    return found


def _list_collection_rule(
    client: TransferClient, rule: RulePass, found: dict[str, FoundTask], report: FollowReport
) -> None:
    """Every TRANSFER task requested since the rule's window start, page by page."""
    cursor = list_start(rule.spec.since, rule.high_water)
    for _ in range(MAX_PAGES):
        page = gateway.tasks_requested_since(client, filter_time(cursor))
        report.calls += 1
        for doc in page:
            found.setdefault(str(doc["task_id"]), FoundTask(None)).doc = doc
            requested = gateway.parse_time(doc.get("request_time"))
            if requested is not None and (rule.newest is None or requested > rule.newest):
                rule.newest = requested
        if len(page) < TASK_LIST_MAX:
            return
        last = gateway.parse_time(page[-1].get("request_time"))
        if last is None or last <= cursor:
            # offset + limit may not pass 1,000: the rest of this second cannot be listed
            rule.error = (
                f"Globus lists over {TASK_LIST_MAX} tasks requested at {filter_time(cursor)}; "
                "tasks after the first 1,000 of that second were not followed"
            )
            last = cursor + timedelta(seconds=1)
            rule.newest = max(rule.newest or last, last)
        cursor = last  # the next window starts at the last request time seen (inclusive)


def _list_timer_rule(
    timers_client: Callable[[], TimersClient] | None,
    rule: RulePass,
    found: dict[str, FoundTask],
    report: FollowReport,
) -> None:
    """The timer's runs newer than the rule's mark (and not before its ``since``)."""
    if timers_client is None:
        rule.error = "no Globus Timers client configured for this pass"
        return
    client, page, timer_id = timers_client(), None, str(rule.spec.timer_id)
    for _ in range(MAX_PAGES):
        result = gateway.timer_runs(client, timer_id, page=page)
        report.calls += 1
        for run in result.runs:
            if run.ran_at is not None and (
                run.ran_at < rule.spec.since
                or (rule.high_water is not None and run.ran_at <= rule.high_water)
            ):
                return
            rule.runs.append(run)
            if run.task_id:
                found.setdefault(run.task_id, FoundTask(None)).timers.add(timer_id)
        if result.next_page is None:
            return
        page = result.next_page


def _read_documents(
    client: TransferClient,
    task_ids: Sequence[str],
    found: dict[str, FoundTask],
    report: FollowReport,
) -> None:
    """Fresh documents of timer-run and pending tasks, 1,000 per call; a failure leaves them
    unread (they are decided at a later pass)."""
    for start in range(0, len(task_ids), TASK_LIST_MAX):
        chunk = task_ids[start : start + TASK_LIST_MAX]
        try:
            documents = gateway.tasks_by_id(client, chunk)
        except GlobusCallError as exc:
            report.errors.append(f"reading {len(chunk)} followed task(s): {exc.message}")
            continue
        finally:
            report.calls += 1
        for doc in documents:
            found[str(doc["task_id"])].doc = doc


def known_tasks(db: Database, task_ids: Sequence[str]) -> set[str]:
    """Tasks decided before (other than pending) or watched already: never registered again."""
    known: set[str] = set()
    with db.session() as session:
        for start in range(0, len(task_ids), _CHUNK):
            chunk = task_ids[start : start + _CHUNK]
            known.update(
                session.scalars(
                    select(FollowedTask.globus_task_id).where(
                        FollowedTask.globus_task_id.in_(chunk)
                    )
                )
            )
            known.update(
                str(tid)
                for tid in session.scalars(
                    select(Transfer.globus_task_id).where(Transfer.globus_task_id.in_(chunk))
                )
            )
    return known
