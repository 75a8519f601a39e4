"""A local stand-in for Globus Auth, Transfer and Timers that the real globus-sdk talks to.

Start one with ``GlobusStandIn()`` as a context manager, point the SDK at it with the
variables from ``env()``, then script users, collections, tasks, timers and the clock
through its methods.
"""

from __future__ import annotations

from .auth import generate_signing_key
from .models import (
    LOGIN_SCOPES,
    TIMERS_RESOURCE_SERVER,
    TIMERS_SCOPE,
    Fault,
    FileSpec,
    RequestRecord,
    SkippedFile,
    SubmittedItem,
    TaskInfo,
    User,
)
from .standin import DEFAULT_CLIENT_ID, GlobusStandIn
from .state import Settings

__all__ = [
    "DEFAULT_CLIENT_ID",
    "LOGIN_SCOPES",
    "TIMERS_RESOURCE_SERVER",
    "TIMERS_SCOPE",
    "Fault",
    "FileSpec",
    "GlobusStandIn",
    "RequestRecord",
    "Settings",
    "SkippedFile",
    "SubmittedItem",
    "TaskInfo",
    "User",
    "generate_signing_key",
]
