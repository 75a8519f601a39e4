"""Outside text made safe to show: each control character becomes an escape a person can read."""

from __future__ import annotations

import pytest

from aws_copy_pt.core.text import visible, visible_lines


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain key/with spaces (1).tif", "plain key/with spaces (1).tif"),
        ("[/x][bold red]", "[/x][bold red]"),  # markup is not ours to interpret: kept as text
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]8;;http://evil\x1b\\link", "\\x1b]8;;http://evil\\x1b\\link"),
        ("one\ntwo\rthree\tfour", "one\\ntwo\\rthree\\tfour"),
        ("\x00\x07\x7f", "\\x00\\x07\\x7f"),
        ("c1 \x9b control", "c1 \\x9b control"),
        ("invoice\u202efdp.exe", "invoice\\u202efdp.exe"),
        ("\u2066isolate\u2069 \u200emark\u200f", "\\u2066isolate\\u2069 \\u200emark\\u200f"),
        ("line\u2028separator", "line\\u2028separator"),
        ("undecodable \udcff byte", "undecodable \\udcff byte"),
        ("überblick ✓ 日本", "überblick ✓ 日本"),
        ("back\\slash", "back\\slash"),
    ],
)
def test_control_characters_are_shown_as_escapes_and_the_rest_as_it_is(
    raw: str, shown: str
) -> None:
    assert visible(raw) == shown


def test_anything_is_shown_through_its_text() -> None:
    assert visible(42) == "42"
    assert visible(ValueError("bad\x1b")) == "bad\\x1b"


def test_text_of_several_lines_keeps_its_line_feeds_only() -> None:
    assert visible_lines("first\nsecond\x1b[2J\r\n") == "first\nsecond\\x1b[2J\\r\n"
