"""Documents in the shapes the real Globus Auth and Transfer APIs answer with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .models import (
    ACTIVE,
    FAILED,
    INACTIVE,
    STANDIN_IDP_ID,
    STANDIN_IDP_NAME,
    SUCCEEDED,
    TERMINAL,
    Collection,
    FileSpec,
    Task,
    User,
)
from .wire import JSON

# Transfer's default deadline for a task submitted without one.
DEFAULT_DEADLINE = timedelta(days=1)


def iso_time(moment: datetime) -> str:
    """Task documents use ISO 8601 with an explicit offset: 2021-09-02T18:04:47+00:00."""
    return moment.isoformat(timespec="seconds")


def event_time(moment: datetime) -> str:
    """Event documents use a space separator: 2014-07-08 18:50:18+00:00."""
    return moment.isoformat(sep=" ", timespec="seconds")


def offset_page(data_type: str, items: Sequence[JSON], limit: int, offset: int) -> JSON:
    """A limit/offset/total page (task_list, event_list)."""
    page = list(items[offset : offset + limit])
    return {
        "DATA_TYPE": data_type,
        "DATA": page,
        "length": len(page),
        "limit": limit,
        "offset": offset,
        "total": len(items),
    }


def task_document(task: Task, now: datetime) -> JSON:
    return {
        "DATA_TYPE": "task",
        "task_id": task.task_id,
        "type": "TRANSFER",
        "status": task.status,
        "label": task.label,
        "owner_id": task.owner.id,
        "username": task.owner.legacy_username,
        "command": "API 0.10",
        "request_time": iso_time(task.request_time),
        "completion_time": iso_time(task.completion_time) if task.completion_time else None,
        "deadline": task.options.get("deadline") or iso_time(task.request_time + DEFAULT_DEADLINE),
        "history_deleted": False,
        "is_paused": False,
        "canceled_by_admin": None,
        "canceled_by_admin_message": None,
        "fatal_error": _fatal_error(task),
        "faults": len(task.visible_faults()),
        **_endpoint_fields(task),
        **_progress_fields(task, now),
        **_nice_status_fields(task),
        **_subtask_fields(task),
        **_option_fields(task),
    }


def _endpoint_fields(task: Task) -> JSON:
    return {
        "source_endpoint": task.source.legacy_name,
        "source_endpoint_id": task.source.id,
        "source_endpoint_display_name": task.source.display_name,
        "destination_endpoint": task.destination.legacy_name,
        "destination_endpoint_id": task.destination.id,
        "destination_endpoint_display_name": task.destination.display_name,
    }


def _fatal_error(task: Task) -> JSON | None:
    if task.status != FAILED:
        return None
    code, description = task.fatal_error
    return {"code": code, "description": description}


def _progress_fields(task: Task, now: datetime) -> JSON:
    moved = task.transferred()
    if task.status in TERMINAL:
        moved_bytes = sum(spec.size for spec in moved)
    else:
        moved_bytes = int(sum(spec.size for spec in task.files) * task.progress())
    elapsed = ((task.completion_time or now) - task.request_time).total_seconds()
    return {
        "files": len(task.files),
        "directories": 0,
        "symlinks": 0,
        "files_skipped": 0,
        "files_transferred": len(moved),
        "bytes_transferred": moved_bytes,
        "bytes_checksummed": moved_bytes if task.options.get("verify_checksum", True) else 0,
        "effective_bytes_per_second": int(moved_bytes / max(elapsed, 1.0)),
    }


def _nice_status_fields(task: Task) -> JSON:
    """nice_status explains what an unfinished task is doing right now (None once done)."""
    current_faults = [fault for fault in task.visible_faults() if fault.step == task.step]
    if task.status in TERMINAL:
        status, short, details, is_ok = None, None, None, None
    elif task.status == INACTIVE:
        status, short, details, is_ok = "AUTH", "Authentication error", None, False
    elif current_faults:
        fault = current_faults[-1]
        status, short, details, is_ok = fault.code, fault.description, fault.details, False
    else:
        status, short, details, is_ok = "OK", "OK", None, True
    return {
        "nice_status": status,
        "nice_status_short_description": short,
        "nice_status_details": details,
        "nice_status_expires_in": None,
        "is_ok": is_ok,
    }


def _subtask_fields(task: Task) -> JSON:
    total = len(task.files)
    succeeded = len(task.transferred())
    unfinished = total - succeeded
    canceled = task.status == FAILED and task.fatal_error[0] == "CANCELED"
    # A fault seen at the current step means one file is being retried.
    faulted = task.status == ACTIVE and any(f.step == task.step for f in task.visible_faults())
    retrying = 1 if faulted and unfinished > 0 else 0
    return {
        "subtasks_total": total,
        "subtasks_succeeded": succeeded,
        "subtasks_pending": 0 if task.status in TERMINAL else unfinished - retrying,
        "subtasks_retrying": retrying,
        "subtasks_failed": unfinished if task.status == FAILED and not canceled else 0,
        "subtasks_canceled": unfinished if canceled else 0,
        "subtasks_expired": 0,
        "subtasks_skipped_errors": 0,
    }


def _option_fields(task: Task) -> JSON:
    options = task.options
    return {
        "sync_level": options.get("sync_level"),
        "verify_checksum": options.get("verify_checksum", True),
        "preserve_timestamp": options.get("preserve_timestamp", False),
        "encrypt_data": options.get("encrypt_data", False),
        "delete_destination_extra": options.get("delete_destination_extra", False),
        "skip_source_errors": options.get("skip_source_errors", False),
        "fail_on_quota_errors": options.get("fail_on_quota_errors", False),
        "filter_rules": options.get("filter_rules"),
        "recursive_symlinks": "ignore",
    }


def event_documents(task: Task) -> list[JSON]:
    """The task's events, newest first, as GET /task/<id>/event_list lists them."""
    events = [_event("STARTED", "started", "{}", False, task.request_time)]
    for fault in task.visible_faults():
        when = task.reached.get(fault.step, task.request_time)
        events.append(_event(fault.code, fault.description.lower(), fault.details, True, when))
    if task.status == SUCCEEDED and task.completion_time:
        details = f'{{"files_succeeded": {len(task.files)}}}'
        events.append(_event("SUCCEEDED", "succeeded", details, False, task.completion_time))
    elif task.status == FAILED and task.completion_time:
        code, description = task.fatal_error
        # A cancel is a lifecycle event, not an error; any other fatal event is an error.
        is_error = code != "CANCELED"
        events.append(
            _event(code, description.lower(), description, is_error, task.completion_time)
        )
    return list(reversed(events))


def _event(code: str, description: str, details: str, is_error: bool, when: datetime) -> JSON:
    return {
        "DATA_TYPE": "event",
        "code": code,
        "description": description,
        "details": details,
        "is_error": is_error,
        "time": event_time(when),
    }


def successful_transfer(spec: FileSpec) -> JSON:
    return {
        "DATA_TYPE": "successful_transfer",
        "source_path": spec.source_path,
        "destination_path": spec.destination_path,
    }


def collection_document(collection: Collection) -> JSON:
    """An endpoint/collection document as GET /endpoint/<id> answers for GCSv5 collections."""
    owner = collection.owner
    document: JSON = {
        "DATA_TYPE": "endpoint",
        "id": collection.id,
        "name": collection.id,
        "canonical_name": collection.legacy_name,
        "display_name": collection.display_name,
        "entity_type": collection.entity_type,
        "description": collection.description,
        "organization": collection.organization,
        "department": None,
        "keywords": ",".join(collection.keywords) or None,
        "contact_email": owner.email,
        "info_link": None,
        "owner_id": owner.id,
        "owner_string": owner.username,
        "username": owner.legacy_username,
        "public": collection.public,
        "is_globus_connect": False,
        "gcs_version": "5.4.80",
        "non_functional": False,
        "high_assurance": False,
        "authentication_assurance_timeout": None,
        "subscription_id": None,
        "https_server": f"https://{collection.id[:6]}.data.globus.org",
        "tlsftp_server": f"tlsftp://{collection.id[:6]}.data.globus.org:443",
        "default_directory": "/~/",
        "force_encryption": False,
        "disable_verify": False,
        "mfa_required": False,
        "activated": True,
        "expires_in": -1,
        "acl_available": False,
        "acl_editable": False,
        "in_use": False,
        "DATA": [],
    }
    document.update(collection.extra)
    return document


def identity_document(user: User) -> JSON:
    return {
        "id": user.id,
        "username": user.username,
        "status": "used",
        "identity_type": "login",
        "identity_provider": STANDIN_IDP_ID,
        "name": user.name,
        "email": user.email,
        "organization": user.organization,
    }


def user_claims(user: User) -> dict[str, Any]:
    """Identity claims shared by the id_token and the userinfo answer."""
    return {
        "sub": user.id,
        "name": user.name,
        "email": user.email,
        "preferred_username": user.username,
        "organization": user.organization,
        "identity_provider": STANDIN_IDP_ID,
        "identity_provider_display_name": STANDIN_IDP_NAME,
    }
