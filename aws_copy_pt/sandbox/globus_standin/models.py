"""Records the stand-in keeps: identities, collections, tokens and scripted tasks."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
STATUSES = frozenset({ACTIVE, INACTIVE, SUCCEEDED, FAILED})
TERMINAL = frozenset({SUCCEEDED, FAILED})

AUTH_RESOURCE_SERVER = "auth.globus.org"
TRANSFER_RESOURCE_SERVER = "transfer.api.globus.org"
TRANSFER_ALL_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"
LOGIN_SCOPES = ("openid", "profile", "email", TRANSFER_ALL_SCOPE)

# Fixed id for the identity provider every stand-in user signs in with.
STANDIN_IDP_ID = "41143743-f3c8-4d60-bbdb-eeecaba85bd9"
STANDIN_IDP_NAME = "Globus ID"


@dataclass(frozen=True)
class User:
    id: str
    username: str
    name: str
    email: str
    organization: str

    @property
    def legacy_username(self) -> str:
        # Transfer's deprecated "username" field: "u_" + lowercase base32 of the identity id.
        encoded = base64.b32encode(uuid.UUID(self.id).bytes).decode("ascii")
        return "u_" + encoded.rstrip("=").lower()


@dataclass(frozen=True)
class Collection:
    id: str
    display_name: str
    owner: User
    entity_type: str
    description: str | None = None
    organization: str | None = None
    keywords: tuple[str, ...] = ()
    public: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def legacy_name(self) -> str:
        # The pre-GCSv5 "owner#name" form Transfer still reports in task documents.
        return f"{self.owner.legacy_username}#{self.id}"


class FileSpec(NamedTuple):
    source_path: str
    destination_path: str
    size: int = 0


@dataclass(frozen=True)
class Fault:
    """A fault event; it becomes visible once the task's script reaches ``step``."""

    code: str = "CONNECTION_RESET"
    description: str = "Connection reset by peer"
    details: str = "Error (transfer)\nMessage: The connection was reset; retrying\n"
    step: int = 0


@dataclass(frozen=True)
class SubmittedItem:
    """One transfer_item of a POST /transfer document, handed to the files hook."""

    source_endpoint: str
    destination_endpoint: str
    source_path: str
    destination_path: str
    recursive: bool


@dataclass(frozen=True)
class TaskInfo:
    """Immutable view of a task, safe to hand to hooks and tests."""

    task_id: str
    owner_id: str
    source_endpoint_id: str
    destination_endpoint_id: str
    label: str | None
    status: str
    files: tuple[FileSpec, ...]


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: Mapping[str, str]
    status: int


@dataclass
class AccessToken:
    user_id: str
    client_id: str
    resource_server: str
    scopes: tuple[str, ...]
    expires_at: float
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class Grant:
    """A user's consent for a client to some scopes of one resource server."""

    user_id: str
    client_id: str
    resource_server: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass(frozen=True)
class AuthCode:
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    refresh: bool
    redirect_uri: str | None = None
    code_challenge: str | None = None


@dataclass
class Task:
    """A transfer task whose status follows ``script``, one step per observation."""

    task_id: str
    owner: User
    source: Collection
    destination: Collection
    files: tuple[FileSpec, ...]
    script: list[str]
    request_time: datetime
    label: str | None = None
    faults: tuple[Fault, ...] = ()
    fatal_error: tuple[str, str] = ("ENDPOINT_ERROR", "An error occurred on the endpoint")
    files_ok_on_failure: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)
    step: int = 0
    polls: int = 0
    completion_time: datetime | None = None
    # When each script step was reached; fault events are stamped with these times.
    reached: dict[int, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reached.setdefault(0, self.request_time)
        if self.status in TERMINAL:
            self.completion_time = self.request_time

    @property
    def status(self) -> str:
        return self.script[self.step]

    def observe(self, now: datetime) -> bool:
        """Record one poll; returns True when this poll made the task reach SUCCEEDED.

        The first poll shows ``script[0]`` and each later poll the next entry, so the
        status seen between polls is always the one the last observer was shown.
        """
        self.polls += 1
        if self.polls == 1:
            return False
        return self.move_to(min(self.step + 1, len(self.script) - 1), now)

    def move_to(self, step: int, now: datetime) -> bool:
        before = self.status
        self.step = step
        self.reached.setdefault(step, now)
        if self.status == before:
            return False
        if self.status in TERMINAL:
            self.completion_time = now
        return self.status == SUCCEEDED

    def cancel(self, now: datetime) -> bool:
        if self.status in TERMINAL:
            return False
        self.script = [*self.script[: self.step], FAILED]
        self.fatal_error = ("CANCELED", "The task was canceled by the user")
        self.completion_time = now
        return True

    def progress(self) -> float:
        """Share of the bytes moved so far; never 1.0 before the task succeeds."""
        if self.status == SUCCEEDED:
            return 1.0
        if self.status == FAILED:
            return self.files_ok_on_failure / len(self.files) if self.files else 0.0
        return self.step / len(self.script)

    def transferred(self) -> tuple[FileSpec, ...]:
        if self.status == SUCCEEDED:
            return self.files
        if self.status == FAILED:
            return self.files[: self.files_ok_on_failure]
        return self.files[: int(len(self.files) * self.progress())]

    def visible_faults(self) -> tuple[Fault, ...]:
        return tuple(fault for fault in self.faults if fault.step <= self.step)

    def info(self) -> TaskInfo:
        return TaskInfo(
            task_id=self.task_id,
            owner_id=self.owner.id,
            source_endpoint_id=self.source.id,
            destination_endpoint_id=self.destination.id,
            label=self.label,
            status=self.status,
            files=self.files,
        )
