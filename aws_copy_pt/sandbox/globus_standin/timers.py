"""Globus Timers half of the stand-in: what TimersClient.list_jobs and get_job read.

GET /jobs/ lists the caller's timers (``filter_status``, ``filter_name``, ``order``,
``result_count`` runs each); GET /jobs/<id> reads one timer with a page of its runs
(``page_size``; the next page with ``results_pt=<results.page_next>``). Calls need an
access token for the Timers resource server, which Globus Auth issues only when the login
asked for the Timers scope; any other token is a 401.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from .models import TIMERS_RESOURCE_SERVER, Timer, User
from .server import Handler, Route
from .state import State
from .timer_payloads import page_offset, timer_document
from .wire import ApiError, Request, Response

# filter_status values and the timer statuses each covers.
_STATUS_GROUPS = {"active": {"new", "loaded"}, "inactive": {"inactive"}, "ended": {"ended"}}
_ORDER_FIELDS: dict[str, Callable[[Timer], Any]] = {
    "submitted_at": lambda timer: timer.submitted_at,
    "name": lambda timer: timer.name,
    "job_id": lambda timer: timer.job_id,
    "start": lambda timer: timer.start,
}


class TimersService:
    def __init__(self, state: State) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/jobs/?", self.list_jobs),
            ("GET", r"/jobs/([^/]+)", self.get_job),
        ]
        return [Route(verb, path, fn, f"timer.{fn.__name__}") for verb, path, fn in table]

    def _caller(self, request: Request) -> User:
        record = self._state.authenticate(request.bearer_token(), TIMERS_RESOURCE_SERVER)
        if record is None:
            raise ApiError.timers(
                401,
                "AUTHENTICATION_ERROR",
                "The access token is missing, expired, or not valid for Globus Timers",
            )
        return self._state.users[record.user_id]

    def list_jobs(self, request: Request, *_: str) -> Response:
        user = self._caller(request)
        statuses = _status_filter(request)
        name = (request.query.get("filter_name") or "").lower()
        per_job = _positive_int(request, "result_count", self._page_size())
        order, descending = _order(request)
        now = self._state.clock.now()
        with self._state.lock:
            timers = [
                timer
                for timer in self._state.timers.values()
                if timer.owner.id == user.id
                and timer.status in statuses
                and name in timer.name.lower()
            ]
            timers.sort(key=order, reverse=descending)
            jobs = [timer_document(t, self._state.tasks, 0, per_job, now) for t in timers]
        return Response(200, {"jobs": jobs})

    def get_job(self, request: Request, job_id: str) -> Response:
        user = self._caller(request)
        try:
            uuid.UUID(job_id)
        except ValueError as exc:
            raise ApiError.timers_invalid(
                "path", "job_id", "value is not a valid uuid", "type_error.uuid"
            ) from exc
        page_size = _positive_int(request, "page_size", self._page_size())
        offset = _results_offset(request)
        now = self._state.clock.now()
        with self._state.lock:
            timer = self._state.timers.get(job_id)
            # Another user's timer is as invisible as a missing one.
            if timer is None or timer.owner.id != user.id:
                raise ApiError.timers(404, "NOT_FOUND", f"No timer found with id '{job_id}'")
            document = timer_document(timer, self._state.tasks, offset, page_size, now)
        return Response(200, document)

    def _page_size(self) -> int:
        return self._state.settings.timer_results_page_size


def _status_filter(request: Request) -> set[str]:
    raw = request.query.get("filter_status") or "active,inactive,ended"
    statuses: set[str] = set()
    for name in raw.split(","):
        if name not in _STATUS_GROUPS:
            raise ApiError.timers_invalid(
                "query",
                "filter_status",
                f"'{name}' is not one of 'active', 'inactive', 'ended'",
                "value_error",
            )
        statuses |= _STATUS_GROUPS[name]
    return statuses


def _order(request: Request) -> tuple[Callable[[Timer], Any], bool]:
    field_name, _, direction = (request.query.get("order") or "submitted_at").partition(" ")
    key = _ORDER_FIELDS.get(field_name)
    if key is None or direction.lower() not in ("", "asc", "desc"):
        raise ApiError.timers_invalid(
            "query", "order", f"cannot order timers by '{field_name} {direction}'", "value_error"
        )
    return key, direction.lower() == "desc"


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError.timers_invalid(
            "query", name, "value is not a valid positive integer", "type_error.integer"
        )
    return int(raw)


def _results_offset(request: Request) -> int:
    token = request.query.get("results_pt")
    if not token:
        return 0
    try:
        return page_offset(token)
    except ValueError as exc:
        raise ApiError.timers_invalid(
            "query", "results_pt", "invalid page token", "value_error"
        ) from exc
