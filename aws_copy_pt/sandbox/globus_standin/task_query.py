"""task_list's ``filter`` and ``orderby`` parameters, as the Transfer API takes them.

``filter`` is clauses joined by ``/``, each ``field:value``; list values are comma-separated
(the SDK formats a dict this way). Fields: ``task_id``, ``type``, ``status`` (lists),
``label`` and the ``request_time`` / ``completion_time`` ranges. A label value starts with
``=`` (exact), ``~`` (case-insensitive, ``*`` is a wildcard), ``!`` (not exact) or ``!~``
(not like), as globus-cli sends them; several label values must all hold. A range is
``start,end`` with either side blank (not both); times are ISO 8601 (``T`` or a space,
optional ``Z``/offset, UTC when none; a bare date is midnight). Anything else is a 400.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .models import STATUSES, Task
from .queries import bad_request
from .wire import Request

TaskPredicate = Callable[[Task], bool]
TASK_TYPES = frozenset({"TRANSFER", "DELETE"})

# Fields task_list can order by, with how to read each from a task.
_FIELDS: dict[str, Callable[[Task], Any]] = {
    "task_id": lambda task: task.task_id,
    "type": lambda task: "TRANSFER",
    "status": lambda task: task.status,
    "label": lambda task: task.label,
    "request_time": lambda task: task.request_time,
    "completion_time": lambda task: task.completion_time,
}

_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True)
class TaskFilter:
    """A parsed ``filter``: the status test is kept apart because the stand-in re-applies
    it after the listed tasks have advanced one scripted step."""

    status: TaskPredicate
    other: TaskPredicate


def parse_task_filter(request: Request, *, max_task_ids: int | None = None) -> TaskFilter:
    status_tests: list[TaskPredicate] = []
    other_tests: list[TaskPredicate] = []
    raw_filter = request.query.get("filter", "")
    for clause in raw_filter.split("/") if raw_filter else []:
        field_name, colon, raw = clause.partition(":")
        if not colon or not raw:
            raise bad_request(request, f"Invalid filter clause '{clause}': expected name:value")
        if field_name == "status":
            status_tests.append(_in_set(request, "status", raw, STATUSES, _FIELDS["status"]))
        else:
            other_tests.append(_field_test(request, field_name, raw, max_task_ids))
    return TaskFilter(_all(status_tests), _all(other_tests))


def _field_test(
    request: Request, field_name: str, raw: str, max_task_ids: int | None
) -> TaskPredicate:
    if field_name == "task_id":
        return _task_id_test(request, raw, max_task_ids)
    if field_name == "type":
        return _in_set(request, "type", raw, TASK_TYPES, _FIELDS["type"])
    if field_name == "label":
        return _label_test(raw)
    if field_name in ("request_time", "completion_time"):
        return _time_range_test(request, field_name, raw)
    raise bad_request(request, f"Invalid filter field '{field_name}' for task_list")


def _in_set(
    request: Request, name: str, raw: str, allowed: frozenset[str], read: Callable[[Task], Any]
) -> TaskPredicate:
    values = set(raw.split(","))
    unknown = sorted(values - allowed)
    if unknown:
        raise bad_request(request, f"Invalid {name} filter value(s) {unknown}")
    return lambda task: read(task) in values


def _task_id_test(request: Request, raw: str, max_task_ids: int | None) -> TaskPredicate:
    values = raw.split(",")
    if max_task_ids is not None and len(values) > max_task_ids:
        raise bad_request(request, f"A task_id filter takes at most {max_task_ids} ids")
    try:
        wanted = {str(uuid.UUID(value)) for value in values}
    except ValueError as exc:
        raise bad_request(request, f"Invalid task_id filter '{raw}': not a UUID") from exc
    return lambda task: task.task_id in wanted


def _label_test(raw: str) -> TaskPredicate:
    tests = [_one_label_test(value) for value in raw.split(",")]
    return _all(tests)


def _one_label_test(value: str) -> TaskPredicate:
    negate = value.startswith("!")
    body = value[1:] if negate else value
    if body.startswith("~"):
        # Only "*" is a wildcard; every other character matches itself, ignoring case.
        wildcarded = ".*".join(re.escape(part) for part in body[1:].split("*"))
        pattern = re.compile(wildcarded, re.IGNORECASE | re.DOTALL)

        def like(task: Task) -> bool:
            return task.label is not None and bool(pattern.fullmatch(task.label))

        test = like
    else:
        exact = body.removeprefix("=")

        def equal(task: Task) -> bool:
            return task.label == exact

        test = equal
    return (lambda task: not test(task)) if negate else test


def parse_filter_time(text: str) -> datetime:
    """One end of a time range; raises ValueError for anything the API would refuse."""
    if not _TIME.fullmatch(text):
        raise ValueError(f"'{text}' is not an ISO 8601 date-time")
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _time_range_test(request: Request, field_name: str, raw: str) -> TaskPredicate:
    ends = raw.split(",")
    if len(ends) > 2 or not any(ends):
        raise bad_request(request, f"Invalid {field_name} filter '{raw}': expected start,end")
    try:
        start, end = (parse_filter_time(end) if end else None for end in [*ends, ""][:2])
    except ValueError as exc:
        raise bad_request(request, f"Invalid {field_name} filter: {exc}") from exc
    read = _FIELDS[field_name]

    def test(task: Task) -> bool:
        moment: datetime | None = read(task)
        if moment is None:
            # An unfinished task completes some time after any start: an open end takes it.
            return field_name == "completion_time" and end is None
        return (start is None or moment >= start) and (end is None or moment < end)

    return test


def _all(tests: list[TaskPredicate]) -> TaskPredicate:
    return lambda task: all(test(task) for test in tests)


def order_tasks(request: Request, tasks: Iterable[Task]) -> list[Task]:
    """Apply ``orderby`` ("request_time DESC,label ASC"); newest first by default."""
    ordered = list(tasks)
    clauses = [c.split() for c in request.query.get("orderby", "request_time DESC").split(",")]
    # Sorting by the last key first keeps earlier keys dominant (sorts are stable).
    for clause in reversed([c for c in clauses if c]):
        key = _FIELDS.get(clause[0])
        direction = clause[1].upper() if len(clause) > 1 else "ASC"
        if key is None or direction not in ("ASC", "DESC") or len(clause) > 2:
            raise bad_request(request, f"Invalid orderby '{' '.join(clause)}'")
        ordered.sort(key=_nulls_last(key), reverse=direction == "DESC")
    return ordered


def _nulls_last(key: Callable[[Task], Any]) -> Callable[[Task], tuple[bool, Any]]:
    # None sorts after every value (and never gets compared with one).
    def sort_key(task: Task) -> tuple[bool, Any]:
        value = key(task)
        return (value is None, value if value is not None else "")

    return sort_key
