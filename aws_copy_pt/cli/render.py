"""The one place that writes results to the terminal: rich tables for people, JSON for scripts.

This is the rendering boundary for text from outside (object keys, Globus labels and collection
names, server and error messages). Every value printed here is plain text, never rich markup,
with control characters shown as escapes (``core.text.visible``): tables, ``info`` and ``note``
lines, error lines. Our own styled text is an explicit opt-in: :func:`styled` takes markup we
wrote and escapes the values it is filled with. JSON output stays exact data (JSON escapes
control characters itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.core.text import visible as visible  # re-exported for the wizard
from aws_copy_pt.core.text import visible_lines

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
    # markup and emoji codes off: a str printed here by mistake still shows as it is
    return Console(
        file=stream, highlight=False, markup=False, emoji=False, soft_wrap=True, width=width
    )


def plain(value: object) -> Text:
    """Any value as one line of plain text: no markup, no emoji codes, controls escaped."""
    if isinstance(value, Text):
        return value
    return Text("" if value is None else visible(value))


def plain_lines(value: object) -> Text:
    """Text of several lines to copy (a policy, a cron line): controls escaped, but not LF."""
    return Text(visible_lines(value))


def styled(markup: str, **values: object) -> Text:
    """Our own rich ``markup``, filled with ``values`` (``{name}`` fields) shown as plain text.

    The one way to style a line: ``styled("[bold]{key}[/bold] failed", key=key)``.
    """
    filled = markup.format(**{k: escape(visible(v)) for k, v in values.items()})
    return Text.from_markup(filled, emoji=False)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A table whose title and cells are plain text (they often hold data from outside)."""
    result = Table(
        title=None if title is None else plain(title), title_justify="left", header_style="bold"
    )
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(plain(cell) for cell in row))
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


def info(app: AppContext, message: str | Text) -> None:
    """A human message on stdout (silent in --json mode, where stdout is for data).

    A ``str`` is plain text, shown as one line (it may embed keys or labels); only a ``Text``
    from :func:`styled` carries style.
    """
    if not app.json_output:
        console(app).print(plain(message))


def note(app: AppContext, message: str | Text) -> None:
    """A side remark on stderr, shown in both modes (plain text, as :func:`info`)."""
    console(app, err=True).print(plain(message))


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def per_second(count: float, seconds: float) -> str:
    """``count`` per second: whole numbers from 10 up, one decimal below (a few large objects
    read "0.1 obj/s", not "0 obj/s")."""
    rate = count / seconds if seconds > 0 else 0.0
    return f"{rate:,.0f}" if rate >= 10 or rate == 0 else f"{rate:.1f}"


def human_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
