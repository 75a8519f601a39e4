"""Logging set-up with secret redaction.

Every handler gets a filter that replaces registered secrets (AWS secret keys, session tokens,
Globus tokens) and anything shaped like them with ``***``, so a secret that slips into an
exception message still never reaches a terminal or a log file.
"""

from __future__ import annotations

import logging
import re
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path

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
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure_logging(level: int, log_dir: Path | None = None) -> None:
    """Log to stderr at ``level`` and, for the daemon, to a rotating file in ``log_dir``."""
    root = logging.getLogger("aws_copy_pt")
    root.setLevel(min(level, logging.INFO) if log_dir else level)
    root.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler()
    stderr.setLevel(level)
    stderr.setFormatter(fmt)
    stderr.addFilter(RedactingFilter())
    root.addHandler(stderr)
    if log_dir is not None:
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            log_dir / "aws-copy-pt.log", maxBytes=5_000_000, backupCount=5
        )
        handler.setLevel(logging.INFO)
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
