"""The one place that writes results to the terminal: rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from aws_copy_pt.cli.context import AppContext

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    """Dataclasses, datetimes and containers as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    return value


def emit_json(app: AppContext, data: Any) -> None:
    app.stdout.write(json.dumps(to_jsonable(data), indent=2, sort_keys=False) + "\n")


UNWRAPPED_WIDTH = 1000  # columns for output that goes to a file or a pipe


def console(app: AppContext, *, err: bool = False) -> Console:
    """Rich output to the app's stdout (or stderr).

    A terminal's width folds long cells; output to a file or a pipe (cron mail, logs, ``grep``)
    keeps each table row on one line, unless ``COLUMNS`` says otherwise.
    """
    stream = app.stderr if err else app.stdout
    columns = app.env.get("COLUMNS", "")
    if columns.isdigit():
        width: int | None = int(columns)
    else:
        width = None if stream.isatty() else UNWRAPPED_WIDTH
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    result = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*("" if cell is None else str(cell) for cell in row))
    return result


def listing(
    app: AppContext,
    key: str,
    items: Sequence[T],
    *,
    empty: str,
    columns: Sequence[str],
    row: Callable[[T], Sequence[Any]],
) -> None:
    """Every `list` command's shape: JSON under ``key``; a next step when empty; else a table."""
    if app.json_output:
        emit_json(app, {key: list(items)})
    elif not items:
        info(app, empty)
    else:
        console(app).print(table(None, columns, [row(item) for item in items]))


def info(app: AppContext, message: str) -> None:
    """A human message on stdout (silent in --json mode, where stdout is for data)."""
    if not app.json_output:
        console(app).print(message)


def note(app: AppContext, message: str) -> None:
    """A side remark on stderr, shown in both modes."""
    console(app, err=True).print(message)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def human_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
