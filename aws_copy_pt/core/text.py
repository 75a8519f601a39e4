"""Text from outside, made safe to show: every control character is spelled out.

Object keys, Globus task labels, collection names and server messages are data. Shown raw, an
ESC starts a terminal escape sequence (clear the screen, a fake hyperlink, a changed window
title), a CR or LF forges a line of output or of a log, and a bidi override (U+202E) makes
``evil\u202etxt.exe`` read as ``evilexe.txt``. :func:`visible` writes each such character as an
escape a person can read instead: ``\\x1b``, ``\\r``, ``\\n``, ``\\t``, ``\\u202e``.

Escaped: C0 and C1 control characters and DEL (Unicode category Cc), line and paragraph
separators, lone surrogates (undecodable bytes), and the bidirectional formatting characters.
Everything else, including a backslash, is kept as it is.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_BIDI}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_BIDI}]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """``value`` as one line of text with every control character written as an escape."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape, text)


def visible_lines(value: object) -> str:
    """Like :func:`visible`, but line feeds stay (a traceback, a policy document to copy)."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE_BUT_NEWLINE.sub(_escape, text)


def is_visible(text: str) -> bool:
    """Whether ``text`` holds no character :func:`visible` would escape."""
    return _UNSAFE.search(text) is None
