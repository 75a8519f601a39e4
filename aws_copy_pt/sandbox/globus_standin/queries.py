"""Transfer's query mini-languages: task_list filter/orderby and endpoint_search scopes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .models import ACTIVE, Collection, Task, User
from .wire import ApiError, Request

TaskPredicate = Callable[[Task], bool]

# Fields task_list can order by, with how to read each from a task.
_ORDER_KEYS: dict[str, Callable[[Task], Any]] = {
    "task_id": lambda task: task.task_id,
    "status": lambda task: task.status,
    "label": lambda task: task.label,
    "request_time": lambda task: task.request_time,
    "completion_time": lambda task: task.completion_time,
    "type": lambda task: "TRANSFER",
}


def bad_request(request: Request, message: str) -> ApiError:
    return ApiError.transfer(400, "ClientError.BadRequest", message, request)


def parse_task_filter(request: Request) -> tuple[TaskPredicate, TaskPredicate]:
    """Split ``filter`` ("task_id:A,B/status:ACTIVE") into (status test, other tests).

    The status test is kept apart because the stand-in re-applies it after the listed
    tasks have advanced one scripted step.
    """
    status_tests: list[TaskPredicate] = []
    other_tests: list[TaskPredicate] = []
    for clause in filter(None, request.query.get("filter", "").split("/")):
        field_name, _, raw = clause.partition(":")
        values = [value.strip() for value in raw.split(",")]
        if field_name == "status":
            status_tests.append(_status_test(set(values)))
        else:
            other_tests.append(_field_test(request, field_name, values))
    return _all(status_tests), _all(other_tests)


def _status_test(allowed: set[str]) -> TaskPredicate:
    return lambda task: task.status in allowed


def _field_test(request: Request, field_name: str, values: list[str]) -> TaskPredicate:
    if field_name == "task_id":
        return lambda task: task.task_id in set(values)
    if field_name == "type":
        return lambda task: "TRANSFER" in set(values)
    if field_name == "label":
        return _label_test(values)
    if field_name in ("request_time", "completion_time"):
        return _time_range_test(request, field_name, values)
    raise bad_request(request, f"Invalid filter field '{field_name}'")


def _label_test(values: list[str]) -> TaskPredicate:
    # "label:~part" matches labels containing "part" (case-insensitive); otherwise exact.
    def test(task: Task) -> bool:
        label = task.label or ""
        for value in values:
            if value.startswith("~") and value[1:].lower() in label.lower():
                return True
            if value == label:
                return True
        return False

    return test


def _time_range_test(request: Request, field_name: str, values: list[str]) -> TaskPredicate:
    try:
        bounds = [datetime.fromisoformat(value) if value else None for value in values]
    except ValueError as exc:
        raise bad_request(request, f"Invalid {field_name} filter: {exc}") from exc
    # "start,end" with either side optional; a single value is an open-ended start.
    start = bounds[0]
    end = bounds[1] if len(bounds) > 1 else None

    def test(task: Task) -> bool:
        moment = _ORDER_KEYS[field_name](task)
        if moment is None:
            return False
        return (start is None or moment >= start) and (end is None or moment <= end)

    return test


def _all(tests: list[TaskPredicate]) -> TaskPredicate:
    return lambda task: all(test(task) for test in tests)


def order_tasks(request: Request, tasks: Iterable[Task]) -> list[Task]:
    """Apply ``orderby`` ("request_time DESC,label ASC"); newest first by default."""
    ordered = list(tasks)
    clauses = [c.split() for c in request.query.get("orderby", "request_time DESC").split(",")]
    # Sorting by the last key first keeps earlier keys dominant (sorts are stable).
    for clause in reversed([c for c in clauses if c]):
        key = _ORDER_KEYS.get(clause[0])
        direction = clause[1].upper() if len(clause) > 1 else "ASC"
        if key is None or direction not in ("ASC", "DESC"):
            raise bad_request(request, f"Invalid orderby '{' '.join(clause)}'")
        ordered.sort(key=_nulls_last(key), reverse=direction == "DESC")
    return ordered


def _nulls_last(key: Callable[[Task], Any]) -> Callable[[Task], tuple[bool, Any]]:
    # None sorts after every value (and never gets compared with one).
    def sort_key(task: Task) -> tuple[bool, Any]:
        value = key(task)
        return (value is None, value if value is not None else "")

    return sort_key


def page_bounds(request: Request, default_limit: int, max_limit: int) -> tuple[int, int]:
    try:
        limit = int(request.query.get("limit", default_limit))
        offset = int(request.query.get("offset", 0))
    except ValueError as exc:
        raise bad_request(request, "limit and offset must be integers") from exc
    if not 0 < limit <= max_limit or offset < 0:
        raise bad_request(request, f"limit must be 1..{max_limit} and offset non-negative")
    return limit, offset


# endpoint_search scopes the stand-in knows; the ones it has no data for answer empty.
_EMPTY_SCOPES = frozenset({"my-gcp-endpoints", "shared-by-me", "shared-with-me"})


def search_collections(
    request: Request, user: User, collections: list[Collection], tasks: list[Task]
) -> list[Collection]:
    scope = request.query.get("filter_scope", "all")
    fulltext = request.query.get("filter_fulltext", "").strip().lower()
    if scope == "all" and not fulltext:
        raise bad_request(request, "filter_fulltext is required when filter_scope is 'all'")
    if scope == "all":
        found = [c for c in collections if c.public or c.owner.id == user.id]
    elif scope in ("my-endpoints", "administered-by-me"):
        found = [c for c in collections if c.owner.id == user.id]
    elif scope in ("recently-used", "in-use"):
        found = _used_collections(user, tasks, only_active=scope == "in-use")
    elif scope in _EMPTY_SCOPES:
        found = []
    else:
        raise bad_request(request, f"Invalid filter_scope '{scope}'")
    return [c for c in found if _matches(request, c, fulltext)]


def _used_collections(user: User, tasks: list[Task], *, only_active: bool) -> list[Collection]:
    """Collections of the user's tasks, most recently used first."""
    used: dict[str, Collection] = {}
    for task in sorted(tasks, key=lambda t: t.request_time, reverse=True):
        if task.owner.id == user.id and (task.status == ACTIVE or not only_active):
            used.setdefault(task.source.id, task.source)
            used.setdefault(task.destination.id, task.destination)
    return list(used.values())


def _matches(request: Request, collection: Collection, fulltext: str) -> bool:
    owner_id = request.query.get("filter_owner_id")
    entity_type = request.query.get("filter_entity_type")
    if owner_id and collection.owner.id != owner_id:
        return False
    if entity_type and collection.entity_type != entity_type:
        return False
    haystack = " ".join(
        [
            collection.display_name,
            collection.description or "",
            collection.organization or "",
            collection.owner.username,
            *collection.keywords,
        ]
    ).lower()
    return all(word in haystack for word in fulltext.split())
