"""Logs: secrets masked (tracebacks included), one line per record, files only the owner reads."""

from __future__ import annotations

import logging
import logging.handlers
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_copy_pt.log import LOG_FILENAME, configure_logging, redact, register_secret


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "logs"
    configure_logging(logging.INFO, log_dir=directory)
    yield directory
    configure_logging(logging.WARNING)  # back to stderr only: the files are closed


def _text(log_dir: Path) -> str:
    for handler in logging.getLogger("aws_copy_pt").handlers:
        handler.flush()
    return (log_dir / LOG_FILENAME).read_text()


def test_the_password_of_a_url_is_masked_and_the_rest_kept() -> None:
    assert redact("POST https://alerts:s3cr3t-pw@hooks.example.org/x failed") == (
        "POST https://alerts:***@hooks.example.org/x failed"
    )
    assert redact("see https://hooks.example.org/a:b@c") == "see https://hooks.example.org/a:b@c"


def test_a_logged_message_is_one_line_whatever_the_key_holds(log_dir: Path) -> None:
    logging.getLogger("aws_copy_pt.test").warning("copied %s", "a.dat\n2025-01-01 ERROR forged")
    lines = _text(log_dir).splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("copied a.dat\\n2025-01-01 ERROR forged")


def test_a_logged_traceback_is_redacted(log_dir: Path) -> None:
    register_secret("planted-secret-value")
    try:
        raise RuntimeError("failed with planted-secret-value and https://u:pw-in-url@h/x")
    except RuntimeError:
        logging.getLogger("aws_copy_pt.test").exception("it failed")
    text = _text(log_dir)
    assert "Traceback" in text
    assert "planted-secret-value" not in text
    assert "pw-in-url" not in text


def test_log_files_are_created_and_rotated_private(tmp_path: Path) -> None:
    directory = tmp_path / "logs"
    directory.mkdir(mode=0o700)
    old = directory / LOG_FILENAME
    old.write_text("from an older release\n")
    old.chmod(0o644)
    configure_logging(logging.INFO, log_dir=directory)
    try:
        handler = logging.getLogger("aws_copy_pt").handlers[-1]
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        handler.maxBytes = 200
        for n in range(20):
            logging.getLogger("aws_copy_pt.test").info("line %d %s", n, "x" * 40)
    finally:
        configure_logging(logging.WARNING)
    files = sorted(directory.iterdir())
    assert len(files) > 1  # rotated
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
