"""Waking the daemon when a command changes what it should do.

`watch`, `submit`, `login`, `transfers retry` and `transfers cancel` call :func:`request_wake`
once their change is saved: it rewrites ``<home>/daemon.wake`` with a new token. The daemon reads
that small file every second (:class:`WakeWatcher`) and, when the token changed, polls Globus and
starts ready copies at once instead of at its next scheduled time (which may be --max-poll away).

A file rather than a signal to the pid in the lock file: a pid can be reused by an unrelated
process, a signal can arrive before the daemon installed its handler (and kill it), and a
``run --once`` holding the lock has no handler at all. A token nobody reads harms nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from aws_copy_pt.home.paths import Home, replace_private_file

log = logging.getLogger(__name__)


def request_wake(home: Home) -> None:
    """Ask a running daemon to poll now (best effort: without it the daemon polls later)."""
    token = f"{time.time_ns()} {os.getpid()} {threading.get_ident()}\n"
    try:
        replace_private_file(home.wake_path, token)
    except OSError as exc:
        log.debug("could not wake the daemon through %s: %s", home.wake_path, exc)


class WakeWatcher:
    """Tells whether :func:`request_wake` was called since the watcher last looked."""

    def __init__(self, home: Home) -> None:
        self._path = home.wake_path
        self._seen = self._read()  # a request made before the daemon started is not news

    def __call__(self) -> bool:
        token = self._read()
        if token is None or token == self._seen:
            return False
        self._seen = token
        return True

    def _read(self) -> str | None:
        try:
            return self._path.read_text()
        except OSError:
            return None
