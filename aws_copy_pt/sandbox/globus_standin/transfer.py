"""Globus Transfer half of the stand-in (the /v0.10 API)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .models import (
    SUCCEEDED,
    TERMINAL,
    TRANSFER_RESOURCE_SERVER,
    Collection,
    FileSpec,
    SubmittedItem,
    Task,
    TaskInfo,
    User,
)
from .payloads import (
    collection_document,
    event_documents,
    offset_page,
    successful_transfer,
    task_document,
)
from .queries import bad_request, order_tasks, page_bounds, parse_task_filter, search_collections
from .server import Route
from .state import State
from .wire import JSON, ApiError, Request, Response, new_request_id

# Submission options copied from a TransferData document onto the task it creates.
_TASK_OPTIONS = (
    "deadline",
    "sync_level",
    "verify_checksum",
    "preserve_timestamp",
    "encrypt_data",
    "delete_destination_extra",
    "skip_source_errors",
    "fail_on_quota_errors",
    "filter_rules",
)
_TASK = r"/v0.10/task/([^/]+)"


def now() -> datetime:
    return datetime.now(UTC)


class TransferService:
    def __init__(self, state: State) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        return [
            Route("GET", r"/v0.10/task_list", self.task_list),
            Route("GET", _TASK, self.get_task),
            Route("GET", _TASK + "/successful_transfers", self.successful_transfers),
            Route("GET", _TASK + "/event_list", self.event_list),
            Route("POST", _TASK + "/cancel", self.cancel_task),
            Route("GET", r"/v0.10/endpoint/([^/]+)", self.get_endpoint),
            Route("GET", r"/v0.10/endpoint_search", self.endpoint_search),
            Route("GET", r"/v0.10/submission_id", self.submission_id),
            Route("POST", r"/v0.10/transfer", self.submit_transfer),
        ]

    def _caller(self, request: Request) -> User:
        token = request.bearer_token()
        if token is None:
            raise ApiError.transfer(401, "AuthenticationFailed", "No Authorization header", request)
        record = self._state.authenticate(token, TRANSFER_RESOURCE_SERVER)
        if record is None:
            raise ApiError.transfer(401, "AuthenticationFailed", "Token is not active", request)
        return self._state.users[record.user_id]

    def _owned_task(self, request: Request, task_id: str, user: User) -> Task:
        """The caller's task; call with the state lock held."""
        task = self._state.tasks.get(task_id)
        if task is None:
            raise ApiError.transfer(
                404, "ClientError.NotFound", f"No task found with id '{task_id}'", request
            )
        if task.owner.id != user.id:
            raise ApiError.transfer(
                403,
                "PermissionDenied",
                f"User '{user.username}' does not have permission to access task '{task_id}'",
                request,
            )
        return task

    # -- task monitoring ----------------------------------------------------------------

    def get_task(self, request: Request, task_id: str) -> Response:
        user = self._caller(request)
        with self._state.lock:
            task = self._owned_task(request, task_id, user)
            reached = task.observe(now())
            document = task_document(task, now())
            info = task.info()
        # The hook runs before the answer goes out, so whoever sees SUCCEEDED can rely on it.
        self._state.notify_succeeded([info] if reached else [])
        return Response(200, document)

    def task_list(self, request: Request, *_: str) -> Response:
        user = self._caller(request)
        status_test, other_test = parse_task_filter(request)
        limit, offset = page_bounds(request, default_limit=10, max_limit=1000)
        reached: list[TaskInfo] = []
        with self._state.lock:
            owned = [t for t in self._state.tasks.values() if t.owner.id == user.id]
            matching = order_tasks(request, [t for t in owned if other_test(t) and status_test(t)])
            window = matching[offset : offset + limit]
            for task in window:
                if task.observe(now()):
                    reached.append(task.info())
            # A listed task may just have left a status filter (as a real one can finish
            # between polls): it drops out of the answer rather than contradict the filter.
            listed = [task for task in window if status_test(task)]
            documents = [task_document(task, now()) for task in listed]
        self._state.notify_succeeded(reached)
        return Response(
            200,
            {
                "DATA_TYPE": "task_list",
                "DATA": documents,
                "length": len(documents),
                "limit": limit,
                "offset": offset,
                "total": len(matching) - (len(window) - len(listed)),
            },
        )

    def successful_transfers(self, request: Request, task_id: str) -> Response:
        user = self._caller(request)
        try:
            marker = int(request.query.get("marker") or 0)
        except ValueError as exc:
            raise bad_request(request, "Invalid marker") from exc
        page_size = self._state.settings.successful_transfers_page_size
        with self._state.lock:
            task = self._owned_task(request, task_id, user)
            if task.status not in TERMINAL:
                raise bad_request(
                    request,
                    f"Task '{task_id}' is still in progress, "
                    "successful transfers are not yet available",
                )
            moved = task.transferred()
        end = marker + page_size
        return Response(
            200,
            {
                "DATA_TYPE": "successful_transfers",
                "marker": marker,
                "next_marker": end if end < len(moved) else None,
                "DATA": [successful_transfer(spec) for spec in moved[marker:end]],
            },
        )

    def event_list(self, request: Request, task_id: str) -> Response:
        user = self._caller(request)
        limit, offset = page_bounds(request, default_limit=10, max_limit=1000)
        wanted = request.query.get("filter", "")
        with self._state.lock:
            events = event_documents(self._owned_task(request, task_id, user))
        if wanted in ("is_error:1", "is_error:0"):
            events = [e for e in events if e["is_error"] == wanted.endswith("1")]
        elif wanted:
            raise bad_request(request, f"Invalid filter '{wanted}'")
        return Response(200, offset_page("event_list", events, limit, offset))

    def cancel_task(self, request: Request, task_id: str) -> Response:
        user = self._caller(request)
        with self._state.lock:
            canceled = self._owned_task(request, task_id, user).cancel(now())
        code, message = (
            ("Canceled", "The task has been cancelled successfully.")
            if canceled
            else ("TaskComplete", "The task completed before the cancel request was processed.")
        )
        return Response(200, _result(request, code, message))

    # -- collections ----------------------------------------------------------------------

    def get_endpoint(self, request: Request, endpoint_id: str) -> Response:
        self._caller(request)
        with self._state.lock:
            collection = self._collection(request, endpoint_id)
        return Response(200, collection_document(collection))

    def _collection(self, request: Request, endpoint_id: str) -> Collection:
        collection = self._state.collections.get(endpoint_id)
        if collection is None:
            raise ApiError.transfer(
                404, "EndpointNotFound", f"No such endpoint '{endpoint_id}'", request
            )
        return collection

    def endpoint_search(self, request: Request, *_: str) -> Response:
        user = self._caller(request)
        limit, offset = page_bounds(request, default_limit=25, max_limit=100)
        with self._state.lock:
            collections = list(self._state.collections.values())
            tasks = list(self._state.tasks.values())
            found = search_collections(request, user, collections, tasks)
        # Endpoint search stops at 1000 results, like the real service.
        found = found[:1000]
        page = [collection_document(c) for c in found[offset : offset + limit]]
        return Response(
            200,
            {
                "DATA_TYPE": "endpoint_list",
                "DATA": page,
                "length": len(page),
                "limit": limit,
                "offset": offset,
                "has_next_page": offset + limit < len(found),
            },
        )

    # -- submission -----------------------------------------------------------------------

    def submission_id(self, request: Request, *_: str) -> Response:
        self._caller(request)
        return Response(200, {"value": str(uuid.uuid4())})

    def submit_transfer(self, request: Request, *_: str) -> Response:
        user = self._caller(request)
        document = request.json()
        submission_id = str(document.get("submission_id") or "")
        if document.get("DATA_TYPE") != "transfer" or not submission_id:
            raise bad_request(request, "A transfer document with a submission_id is required")
        with self._state.lock:
            source = self._collection(request, str(document.get("source_endpoint")))
            destination = self._collection(request, str(document.get("destination_endpoint")))
        items = _transfer_items(request, document, source, destination)
        # The files hook may do I/O (e.g. list a bucket), so it runs without the lock.
        files = tuple(spec for item in items for spec in self._state.settings.files_for_item(item))
        task = self._new_task(user, source, destination, files, document)
        with self._state.lock:
            key = (user.id, submission_id)
            earlier = self._state.submissions.setdefault(key, task.task_id)
            if earlier == task.task_id:
                self._state.tasks[task.task_id] = task
            info = task.info()
        if earlier != task.task_id:
            # Resubmitting the same submission id is how clients retry safely.
            return Response(200, _submit_result(request, earlier, submission_id, duplicate=True))
        self._state.notify_succeeded([info] if info.status == SUCCEEDED else [])
        return Response(202, _submit_result(request, task.task_id, submission_id))

    def _new_task(
        self,
        user: User,
        source: Collection,
        destination: Collection,
        files: tuple[FileSpec, ...],
        document: JSON,
    ) -> Task:
        return Task(
            task_id=str(uuid.uuid4()),
            owner=user,
            source=source,
            destination=destination,
            files=files,
            script=list(self._state.settings.default_script),
            request_time=now(),
            label=document.get("label"),
            options={key: document[key] for key in _TASK_OPTIONS if key in document},
        )


def _transfer_items(
    request: Request, document: JSON, source: Collection, destination: Collection
) -> list[SubmittedItem]:
    raw_items: Sequence[Any] = document.get("DATA") or []
    if not raw_items:
        raise ApiError.transfer(
            400,
            "ClientError.BadRequest.NoTransferItems",
            "A transfer requires at least one item",
            request,
        )
    return [
        SubmittedItem(
            source_endpoint=source.id,
            destination_endpoint=destination.id,
            source_path=str(item.get("source_path")),
            destination_path=str(item.get("destination_path")),
            recursive=bool(item.get("recursive")),
        )
        for item in raw_items
    ]


def _result(request: Request, code: str, message: str) -> JSON:
    return {
        "DATA_TYPE": "result",
        "code": code,
        "message": message,
        "resource": request.path,
        "request_id": new_request_id(),
    }


def _submit_result(
    request: Request, task_id: str, submission_id: str, *, duplicate: bool = False
) -> JSON:
    message = (
        "A transfer with this submission id was already submitted"
        if duplicate
        else "The transfer has been accepted and a task has been created and queued for execution"
    )
    return {
        **_result(request, "Duplicate" if duplicate else "Accepted", message),
        "DATA_TYPE": "transfer_result",
        "task_id": task_id,
        "submission_id": submission_id,
        "task_link": {
            "DATA_TYPE": "link",
            "href": f"/v0.10/task/{task_id}?format=json",
            "rel": "related",
            "resource": "task",
            "title": "related task",
        },
    }
