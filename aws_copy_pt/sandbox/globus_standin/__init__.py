"""A local stand-in for Globus Auth and Globus Transfer that the real globus-sdk talks to.

Start one with ``GlobusStandIn()`` as a context manager, point the SDK at it with the
variables from ``env()``, then script users, collections and tasks through its methods.
"""

from __future__ import annotations

from .auth import generate_signing_key
from .models import Fault, FileSpec, RequestRecord, SubmittedItem, TaskInfo, User
from .standin import DEFAULT_CLIENT_ID, GlobusStandIn
from .state import Settings

__all__ = [
    "DEFAULT_CLIENT_ID",
    "Fault",
    "FileSpec",
    "GlobusStandIn",
    "RequestRecord",
    "Settings",
    "SubmittedItem",
    "TaskInfo",
    "User",
    "generate_signing_key",
]
