"""Generated parts of README.rst, so the docs never restate the code by hand.

``python -m aws_copy_pt.cli.docs`` rewrites the blocks between ``.. BEGIN GENERATED: name`` and
``.. END GENERATED: name`` markers; a test fails when README.rst is out of date.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from aws_copy_pt.core.states import transfer_state_table
from aws_copy_pt.errors import EXIT_CODE_MEANINGS, ExitCode

README = Path(__file__).resolve().parents[2] / "README.rst"


def state_table() -> str:
    """The transfer lifecycle as an RST list table."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 18 60 22",
        "",
        "   * - State",
        "     - Meaning",
        "     - Can move to",
    ]
    for state, meaning, targets in transfer_state_table():
        lines.append(f"   * - ``{state}``")
        wrapped = textwrap.wrap(meaning, 90)
        lines.append(f"     - {wrapped[0]}")
        lines.extend(f"       {rest}" for rest in wrapped[1:])
        lines.append(f"     - {targets}")
    return "\n".join(lines)


def exit_code_table() -> str:
    """Every exit status (``errors.ExitCode``) with its meaning, as an RST list table."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 8 92",
        "",
        "   * - Code",
        "     - Meaning",
    ]
    for code in sorted(ExitCode):
        wrapped = textwrap.wrap(EXIT_CODE_MEANINGS[code], 90)
        lines.append(f"   * - {int(code)}")
        lines.append(f"     - {wrapped[0]}")
        lines.extend(f"       {rest}" for rest in wrapped[1:])
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[], str]] = {
    "state-table": state_table,
    "exit-codes": exit_code_table,
}


def _replacement(body: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return f"{match.group(1)}\n{body}\n\n{match.group(3)}"

    return replace


def render(text: str) -> str:
    """``text`` with every generated block replaced by its current content."""
    for name, generate in GENERATORS.items():
        pattern = re.compile(
            rf"(\.\. BEGIN GENERATED: {name}\n)(.*?)(\.\. END GENERATED: {name})", re.DOTALL
        )
        text = pattern.sub(_replacement(generate()), text)
    return text


def main() -> int:
    current = README.read_text()
    updated = render(current)
    if updated != current:
        README.write_text(updated)
        sys.stdout.write(f"updated {README}\n")
    return int(ExitCode.OK)


if __name__ == "__main__":
    raise SystemExit(main())
