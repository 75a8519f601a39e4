"""Follow rules, the pure part: which rule (if any) takes a Globus task, and which rules overlap.

A rule matches a task when all of these hold:

* the task writes into the rule's staging collection (``destination_endpoint_id``);
* it was requested at or after the rule's ``since``;
* its label matches the rule's glob (``*``, ``?`` and ``[...]`` as in the shell, case-sensitive;
  a task without a label has the empty label);
* with a timer, the task is one of that timer's runs;
* with a path, at least one file it delivered lies below that folder of the collection.

A task document carries no file paths, so a path is decided from the files the task delivered,
which Globus lists only once the task has finished: until then the rule's answer is
:attr:`RuleMatch.UNDECIDED` and the task waits as *pending*.

When several rules match, the rule created first wins (:func:`decide`); a task is decided once.
Rules that could match the same tasks are reported by :func:`shadowing` (``follow list``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from functools import cache

from aws_copy_pt.core.paths import InvalidMappingError, normalize_base_path
from aws_copy_pt.core.states import GlobusStatus

# Each list reaches back this far before the newest request time seen: a task whose submission
# committed late (its request time earlier than one already listed) is still found.
LIST_OVERLAP = timedelta(minutes=15)
MAX_GLOB = 200
_RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class FollowRuleError(ValueError):
    """A rule field that cannot be used, with the reason."""


@dataclass(frozen=True)
class RuleSpec:
    """What one rule matches. ``rule_id`` orders rules by creation (the first created wins)."""

    rule_id: int
    name: str
    collection_id: str
    since: datetime
    path: str | None = None  # a collection folder, "/a/b/"
    label_match: str | None = None
    timer_id: str | None = None


@dataclass(frozen=True)
class TaskFacts:
    """What is known of one task when rules are matched against it."""

    task_id: str
    status: str
    destination_collection: str | None
    label: str | None
    request_time: datetime | None
    timers: frozenset[str] = frozenset()  # ids of the timers whose runs include the task
    delivered_paths: tuple[str, ...] | None = None  # None: not looked at (or not listable yet)

    @property
    def finished(self) -> bool:
        return self.status in (GlobusStatus.SUCCEEDED, GlobusStatus.FAILED)


class RuleMatch(Enum):
    YES = "yes"
    NO = "no"
    UNDECIDED = "undecided"  # everything matches but the path, which needs the delivered files


class FollowOutcome(Enum):
    REGISTER = "registered"  # becomes a transfer, as `watch` makes one
    SKIP_FAILED = "skipped"  # matched, but had already failed when first seen
    PENDING = "pending"  # the winning rule needs the delivered files to decide
    NONE = "none"  # no rule matches


@dataclass(frozen=True)
class FollowDecision:
    outcome: FollowOutcome
    rule_id: int | None = None  # the winner (or the rule the task is pending for)
    also_matched: tuple[int, ...] = ()  # later rules that match too (shadowed by the winner)


def check_rule_name(name: str) -> str:
    if not _RULE_NAME.match(name):
        raise FollowRuleError(
            f"{name!r} is not a usable rule name: use letters, digits, '.', '_' and '-' "
            "(up to 100, starting with a letter or digit)"
        )
    return name


def normalize_rule_path(path: str) -> str:
    """A collection folder as stored: one leading and one trailing slash, no ``.``/``..``."""
    try:
        return normalize_base_path(path)
    except InvalidMappingError as exc:
        raise FollowRuleError(str(exc).replace("base path", "--path")) from None


def check_label_glob(glob: str) -> str:
    if not glob or len(glob) > MAX_GLOB or any(ord(c) < 32 for c in glob):
        raise FollowRuleError(
            f"--label-match takes a glob of 1 to {MAX_GLOB} printable characters, e.g. 'nightly-*'"
        )
    return glob


def matches(rule: RuleSpec, task: TaskFacts) -> RuleMatch:
    if task.destination_collection != rule.collection_id:
        return RuleMatch.NO
    if task.request_time is None or task.request_time < rule.since:
        return RuleMatch.NO
    if rule.label_match is not None and not fnmatch.fnmatchcase(task.label or "", rule.label_match):
        return RuleMatch.NO
    if rule.timer_id is not None and rule.timer_id not in task.timers:
        return RuleMatch.NO
    if rule.path is None:
        return RuleMatch.YES
    if task.delivered_paths is None:
        return RuleMatch.UNDECIDED
    inside = any(path.startswith(rule.path) for path in task.delivered_paths)
    return RuleMatch.YES if inside else RuleMatch.NO


def decide(
    rules: Sequence[RuleSpec], task: TaskFacts, *, first_sight: bool = True
) -> FollowDecision:
    """Which rule takes ``task``: the first created one that matches.

    A rule that cannot decide yet (its path needs the delivered files) ahead of every rule
    that matches makes the task PENDING for that rule. A task that had already FAILED when it
    was first seen is skipped (``first_sight``); one that failed while pending is registered,
    as it would have been when first seen, and its transfer reports the failure.
    """
    winner: RuleSpec | None = None
    waiting_for: RuleSpec | None = None
    also: list[int] = []
    for rule in sorted(rules, key=lambda r: r.rule_id):
        answer = matches(rule, task)
        if answer is RuleMatch.NO:
            continue
        if winner is not None:
            also.append(rule.rule_id)
        elif answer is RuleMatch.UNDECIDED:
            waiting_for = waiting_for or rule
        elif waiting_for is not None:
            return FollowDecision(FollowOutcome.PENDING, waiting_for.rule_id)
        else:
            winner = rule
    if winner is None:
        if waiting_for is not None:
            return FollowDecision(FollowOutcome.PENDING, waiting_for.rule_id)
        return FollowDecision(FollowOutcome.NONE)
    if first_sight and task.status == GlobusStatus.FAILED:
        return FollowDecision(FollowOutcome.SKIP_FAILED, winner.rule_id, tuple(also))
    return FollowDecision(FollowOutcome.REGISTER, winner.rule_id, tuple(also))


def list_start(since: datetime, high_water: datetime | None) -> datetime:
    """Where a rule's next task_list window starts (request time, inclusive)."""
    if high_water is None:
        return since
    return max(since, high_water - LIST_OVERLAP)


def filter_time(moment: datetime) -> str:
    """A time as task_list's request_time filter takes it (UTC, seconds)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# --- shadowing ---------------------------------------------------------------------------------


class Shadow(Enum):
    FULL = "full"  # every task the later rule matches goes to the earlier one
    PARTIAL = "partial"  # some tasks could match both


def shadowing(earlier: RuleSpec, later: RuleSpec) -> Shadow | None:
    """Whether ``earlier`` (created first) takes tasks that ``later`` matches too."""
    if earlier.collection_id != later.collection_id:
        return None
    if earlier.timer_id and later.timer_id and earlier.timer_id != later.timer_id:
        return None  # a task is the run of one timer only
    if earlier.path and later.path and not _nested(earlier.path, later.path):
        return None
    if (
        earlier.label_match
        and later.label_match
        and not globs_intersect(earlier.label_match, later.label_match)
    ):
        return None
    covers = (
        (earlier.timer_id is None or earlier.timer_id == later.timer_id)
        and (earlier.path is None or (later.path or "").startswith(earlier.path))
        and (earlier.label_match is None or earlier.label_match == later.label_match)
        and earlier.since <= later.since
    )
    return Shadow.FULL if covers else Shadow.PARTIAL


def _nested(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


_STAR, _ANY = object(), object()


def _tokens(glob: str) -> tuple[object, ...]:
    """A glob as tokens: _STAR, _ANY (``?``, and ``[...]`` taken as any character), or a
    literal character. Treating a class as any character can only report more overlap."""
    tokens: list[object] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if char == "*":
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
        elif char == "?":
            tokens.append(_ANY)
        elif char == "[" and "]" in glob[i + 2 :]:
            tokens.append(_ANY)
            i = glob.index("]", i + 2)
        else:
            tokens.append(char)
        i += 1
    return tuple(tokens)


def globs_intersect(a: str, b: str) -> bool:
    """Whether some label matches both globs."""
    left, right = _tokens(a), _tokens(b)

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(left) and j == len(right):
            return True
        if i < len(left) and left[i] is _STAR:
            return meet(i + 1, j) or (j < len(right) and meet(i, j + 1))
        if j < len(right) and right[j] is _STAR:
            return meet(i, j + 1) or (i < len(left) and meet(i + 1, j))
        if i == len(left) or j == len(right):
            return False
        x, y = left[i], right[j]
        return (x is _ANY or y is _ANY or x == y) and meet(i + 1, j + 1)

    return meet(0, 0)
