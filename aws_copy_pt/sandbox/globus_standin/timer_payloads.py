"""Documents in the shapes Globus Timers answers with (GET /jobs/, GET /jobs/<id>).

A transfer timer reads as the Timers OpenAPI ``JobRead`` (the SDK's ``globus_sdk.testing``
timer data is the older V1 shape of the same document). Its ``results`` page lists runs
newest first (globus-timer-cli took ``results.data[0]`` as the last run); each run is a
``JobResult`` whose ``resource_id`` is the Transfer task the run submitted, and whose
``data`` is the Transfer action's status with the task document in ``data.details``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import datetime

from .models import TERMINAL, Task, Timer, TimerRun
from .payloads import iso_time, task_document
from .wire import JSON

# Transfer timers run through the Transfer action provider.
TRANSFER_ACTION_URL = "https://transfer.actions.globus.org/transfer/run"
TRANSFER_ACTION_SCOPE = "https://auth.globus.org/scopes/actions.globus.org/transfer/transfer"
# A run's status, named from its task's (the Timers API documents run_status as a string).
_RUN_STATUS = {
    "ACTIVE": "in_progress",
    "INACTIVE": "in_progress",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
}


def page_token(offset: int) -> str:
    """An opaque ``page_next`` / ``results_pt`` value."""
    return base64.urlsafe_b64encode(f"results:{offset}".encode()).decode("ascii")


def page_offset(token: str) -> int:
    """The offset a ``results_pt`` token stands for; raises ValueError for a foreign one."""
    decoded = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    prefix, _, offset = decoded.partition(":")
    if prefix != "results" or not offset.isdigit():
        raise ValueError(token)
    return int(offset)


def timer_document(
    timer: Timer, tasks: Mapping[str, Task], offset: int, page_size: int, now: datetime
) -> JSON:
    runs = list(reversed(timer.runs))
    page = runs[offset : offset + page_size]
    more = offset + page_size < len(runs)
    next_run = timer.next_run()
    return {
        "name": timer.name,
        "start": iso_time(timer.start),
        "stop_after": {"date": None, "n_runs": timer.stop_after_runs},
        "interval": timer.interval.total_seconds() if timer.interval else None,
        "callback_url": TRANSFER_ACTION_URL,
        "callback_body": {"body": transfer_body(timer)},
        "inactive_reason": {"cause": "user", "detail": None}
        if timer.status == "inactive"
        else None,
        "scope": TRANSFER_ACTION_SCOPE,
        "job_id": timer.job_id,
        "status": timer.status,
        "submitted_at": iso_time(timer.submitted_at),
        "last_ran_at": iso_time(timer.runs[-1].ran_at) if timer.runs else None,
        "next_run": iso_time(next_run) if next_run else None,
        "n_runs": len(timer.runs),
        "n_errors": 0,
        "results": {
            "data": [run_result(timer, run, tasks[run.task_id], now) for run in page],
            "page_next": page_token(offset + page_size) if more else None,
        },
        "timer_type": "transfer",
        "schedule": _schedule(timer),
        "activity": _activity(timer, tasks, now),
    }


def transfer_body(timer: Timer) -> JSON:
    """The transfer document each run submits (``callback_body.body``)."""
    body: JSON = {
        "DATA": [
            {
                "DATA_TYPE": "transfer_item",
                "source_path": timer.source_path,
                "destination_path": timer.destination_path,
                "recursive": timer.source_path.endswith("/"),
            }
        ],
        "DATA_TYPE": "transfer",
        "delete_destination_extra": False,
        "destination_endpoint": timer.destination.id,
        "encrypt_data": False,
        "fail_on_quota_errors": False,
        "notify_on_failed": True,
        "notify_on_inactive": True,
        "notify_on_succeeded": True,
        "preserve_timestamp": False,
        "skip_source_errors": timer.skip_source_errors,
        "source_endpoint": timer.source.id,
        "store_base_path_info": False,
        "verify_checksum": True,
    }
    if timer.label is not None:
        body["label"] = timer.label
    return body


def run_result(timer: Timer, run: TimerRun, task: Task, now: datetime) -> JSON:
    """One entry of ``results.data``: a run and the Transfer task it submitted."""
    finished = task.completion_time if task.status in TERMINAL else None
    return {
        "ran_at": run.ran_at.isoformat(),
        "status": 202,  # the HTTP status of the submission
        "errors": None,
        "data": {
            "action_id": _action_id(run.task_id),
            "completion_time": iso_time(finished) if finished else None,
            "creator_id": f"urn:globus:auth:identity:{timer.owner.id}",
            "details": {**task_document(task, now), "event_list": []},
            "display_status": task.status,
            "label": None,
            "manage_by": [],
            "monitor_by": [],
            "release_after": "P30D",
            "start_time": run.ran_at.isoformat(),
            "status": task.status,
        },
        "run_status": _RUN_STATUS[task.status],
        "resource_id": run.task_id,
        "start_timestamp": iso_time(run.ran_at),
        "end_timestamp": iso_time(finished) if finished else None,
    }


def _action_id(task_id: str) -> str:
    # Action ids are short opaque strings ("15jfdBESgveZQ"); derive a stable one.
    return base64.urlsafe_b64encode(uuid.UUID(task_id).bytes[:10]).decode("ascii").rstrip("=")


def _schedule(timer: Timer) -> JSON:
    if timer.interval is None:
        return {"type": "once", "datetime": iso_time(timer.start)}
    schedule: JSON = {
        "type": "recurring",
        "interval_seconds": int(timer.interval.total_seconds()),
        "start": iso_time(timer.start),
    }
    if timer.stop_after_runs is not None:
        schedule["end"] = {"condition": "iterations", "count": timer.stop_after_runs}
    return schedule


def _activity(timer: Timer, tasks: Mapping[str, Task], now: datetime) -> JSON | None:
    if timer.status == "inactive":
        return {"code": "paused", "reason": "user"}
    if timer.status == "ended":
        return None
    if timer.runs:
        last = timer.runs[-1]
        if tasks[last.task_id].status not in TERMINAL:
            return {
                "code": "run_in_progress",
                "start_timestamp": iso_time(last.ran_at),
                "duration_seconds": max((now - last.ran_at).total_seconds(), 0.0),
            }
    next_run = timer.next_run()
    return {"code": "awaiting_next_run", "next_run": iso_time(next_run) if next_run else None}
