"""Tables for people: folded to a terminal's width, whole rows when piped; outside text is plain
text with control characters escaped (the rendering boundary)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.home.paths import Home

LONG_KEY = "incoming/run42/images/" + "plate 1 (überblick) " * 6 + ".tif"


def printed(tmp_path: Path, env: dict[str, str]) -> str:
    out = io.StringIO()  # not a terminal
    app = AppContext(home=Home(tmp_path / "home"), env=env, stdout=out)
    render.console(app).print(render.table("Objects", ("Key", "State"), [(LONG_KEY, "verified")]))
    return out.getvalue()


def test_piped_tables_keep_each_row_on_one_line(tmp_path: Path) -> None:
    lines = printed(tmp_path, env={}).splitlines()
    assert any(LONG_KEY in line and "verified" in line for line in lines)


def test_columns_in_the_environment_still_sets_the_width(tmp_path: Path) -> None:
    lines = printed(tmp_path, env={"COLUMNS": "60"}).splitlines()
    assert max(len(line) for line in lines) <= 60
    assert not any(LONG_KEY in line for line in lines)


HOSTILE = "[/x][bold]k\x1b[2J\u202e:smile:"
SHOWN = "[/x][bold]k\\x1b[2J\\u202e:smile:"


def rendered(tmp_path: Path, show: Callable[[AppContext], None]) -> str:
    out = io.StringIO()
    app = AppContext(home=Home(tmp_path / "home"), env={}, stdout=out, stderr=out)
    show(app)
    return out.getvalue()


def test_table_cells_and_titles_are_plain_text_with_controls_escaped(tmp_path: Path) -> None:
    text = rendered(
        tmp_path,
        lambda app: render.console(app).print(render.table(HOSTILE, ("Key",), [(HOSTILE,)])),
    )
    assert text.count(SHOWN) == 2
    assert "\x1b" not in text
    assert "\u202e" not in text


def test_info_and_note_lines_are_plain_text_on_one_line(tmp_path: Path) -> None:
    def show(app: AppContext) -> None:
        render.info(app, f"Copied {HOSTILE}\nerror: forged")
        render.note(app, f"warning: {HOSTILE}")

    text = rendered(tmp_path, show)
    assert text.splitlines() == [f"Copied {SHOWN}\\nerror: forged", f"warning: {SHOWN}"]


def test_styled_text_is_our_markup_filled_with_plain_values(tmp_path: Path) -> None:
    line = render.styled("[bold]{key}[/bold] failed", key=HOSTILE)
    assert line.plain == f"{SHOWN} failed"
    assert [span.style for span in line.spans] == ["bold"]


def test_a_rate_below_ten_per_second_keeps_one_decimal_instead_of_reading_zero() -> None:
    assert render.per_second(1, 16.6) == "0.1"  # one 1 GiB object in 16.6 s
    assert render.per_second(1_000, 14.2) == "70"
    assert render.per_second(123_456, 2.0) == "61,728"
    assert render.per_second(0, 5.0) == "0"
    assert render.per_second(5, 0.0) == "0"  # no time measured: no rate
