"""A fault-injecting HTTP proxy for the local S3 server (see :mod:`.proxy`)."""

from __future__ import annotations

from .proxy import FaultProxy
from .rules import (
    ACTED,
    Answer,
    Chaos,
    FaultKind,
    Gate,
    Pace,
    Predicate,
    ProxyRecord,
    ProxyRequest,
    Responder,
    matching,
)

__all__ = [
    "ACTED",
    "Answer",
    "Chaos",
    "FaultKind",
    "FaultProxy",
    "Gate",
    "Pace",
    "Predicate",
    "ProxyRecord",
    "ProxyRequest",
    "Responder",
    "matching",
]
