"""Logging set-up with secret redaction.

Every handler gets a filter that replaces registered secrets (AWS secret keys, session tokens,
Globus tokens, SMTP and webhook passwords) and anything shaped like them (``key=value`` pairs,
bearer tokens, the password in a URL's ``user:password@``) with ``***``, so a secret that slips
into an exception message or a traceback still never reaches a terminal or a log file. A log
record is one line: control characters in its message (from object keys, labels, server
messages) are written as escapes (``core.text``). Log files are created 0600.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from aws_copy_pt.core.text import visible, visible_lines

LOG_FILENAME = "aws-copy-pt.log"
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)([^\s/@]+)(@)")
_PATTERNS = [
    # "secret"-ish key=value pairs in messages or reprs
    re.compile(
        r"(?i)((?:secret[_-]?access[_-]?key|session[_-]?token|refresh[_-]?token|access[_-]?token"
        r"|password|authorization)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"
    ),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]{8,})"),
]
_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so that it is masked wherever it appears in log output."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Mask registered secrets and secret-shaped fragments in ``text``."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, "***")
    text = _URL_USERINFO.sub(lambda m: m.group(1) + "***" + m.group(3), text)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


class RedactingFilter(logging.Filter):
    """The message redacted and made one visible line (a key with a newline forges no line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = visible(redact(record.getMessage()))
        record.args = None
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the whole formatted record, tracebacks included (they are formatted here)."""

    def format(self, record: logging.LogRecord) -> str:
        return visible_lines(redact(super().format(record)))


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose files (the current one and every rotated one) are 0600."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # a log left by an older release may be wider
        return os.fdopen(fd, self.mode.replace("w", "a"), encoding=self.encoding)


def configure_logging(level: int, log_dir: Path | None = None) -> None:
    """Log to stderr at ``level`` and, for the daemon, to a rotating file in ``log_dir``."""
    root = logging.getLogger("aws_copy_pt")
    root.setLevel(min(level, logging.INFO) if log_dir else level)
    root.handlers.clear()
    fmt = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler()
    stderr.setLevel(level)
    stderr.setFormatter(fmt)
    stderr.addFilter(RedactingFilter())
    root.addHandler(stderr)
    if log_dir is not None:
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = PrivateRotatingFileHandler(
            log_dir / LOG_FILENAME, maxBytes=5_000_000, backupCount=5
        )
        handler.setLevel(logging.INFO)
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
