"""The stand-in's clock: task and timer times come from it, so tests can script "days".

It follows real time until a test sets it; from then on it stands still and moves only
when told. Access-token lifetimes stay on real time: the SDK checks them against the
machine clock, and a scripted day must not make every token look expired.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            return self._frozen or datetime.now(UTC)

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen is not None

    def set(self, moment: datetime) -> None:
        """Stop the clock at ``moment`` (which needs a timezone)."""
        if moment.tzinfo is None:
            raise ValueError("the stand-in clock needs an aware datetime (e.g. tzinfo=UTC)")
        with self._lock:
            self._frozen = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (stopping it first if it was running)."""
        if delta < timedelta(0):
            raise ValueError("the stand-in clock never goes backwards")
        with self._lock:
            self._frozen = (self._frozen or datetime.now(UTC)) + delta
            return self._frozen
