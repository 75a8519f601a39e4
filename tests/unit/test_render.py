"""Tables for people: folded to a terminal's width, whole rows when piped."""

from __future__ import annotations

import io
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
