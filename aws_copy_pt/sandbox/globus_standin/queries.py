"""Transfer's common query parameters (limit/offset) and endpoint_search's scopes."""

from __future__ import annotations

from .models import ACTIVE, Collection, Task, User
from .wire import ApiError, Request


def bad_request(request: Request, message: str) -> ApiError:
    return ApiError.transfer(400, "ClientError.BadRequest", message, request)


def page_bounds(
    request: Request, default_limit: int, max_limit: int, *, max_total: int | None = None
) -> tuple[int, int]:
    """``limit`` and ``offset``; with ``max_total``, a page may not reach past that many
    results (task_list and event_list stop at 1,000: the SDK's paginators never ask beyond).
    """
    try:
        limit = int(request.query.get("limit", default_limit))
        offset = int(request.query.get("offset", 0))
    except ValueError as exc:
        raise bad_request(request, "limit and offset must be integers") from exc
    if not 0 < limit <= max_limit or offset < 0:
        raise bad_request(request, f"limit must be 1..{max_limit} and offset non-negative")
    if max_total is not None and offset + limit > max_total:
        raise bad_request(
            request, f"offset + limit must not exceed {max_total} (offset {offset}, limit {limit})"
        )
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
