"""The wizard's look: one questionary style, one way to go back, short messages, hidden secrets.

Questions go through questionary (prompt_toolkit) on the terminal; everything the wizard shows
goes through a rich console on ``app.stdout``, so tests can read it. Both go through the CLI's
rendering boundary (``cli.render``): every shown value is plain text with control characters
escaped, whether it is a line, a table cell, a question or a choice. Ctrl-C inside a question
raises ``KeyboardInterrupt`` (``unsafe_ask``) and is handled once, in ``wizard.app``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import questionary
from rich.console import Console
from rich.text import Text

from aws_copy_pt.cli import render
from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.log import redact, register_secret

STYLE = questionary.Style(
    [
        ("qmark", "fg:#5f87ff bold"),
        ("question", "bold"),
        ("answer", "fg:#5fafaf bold"),
        ("pointer", "fg:#5f87ff bold"),
        ("highlighted", "fg:#5f87ff bold"),
        ("instruction", "fg:#808080"),
        ("disabled", "fg:#808080 italic"),
        ("search_success", "fg:#5fafaf"),
        ("search_none", "fg:#d75f5f"),
    ]
)
QMARK = "?"
BACK_TITLE = "← Back"
EMPTY_GOES_BACK = "(empty: back)"


class _Back:
    """The answer meaning "go back one question"."""

    def __repr__(self) -> str:
        return "BACK"


BACK = _Back()


@dataclass(frozen=True)
class Option:
    """One entry of a choice list: what the user reads, what the code gets."""

    title: str
    value: Any
    disabled: str | None = None  # why it cannot be picked, shown beside it

    def choice(self) -> questionary.Choice:
        disabled = None if self.disabled is None else render.visible(self.disabled)
        return questionary.Choice(render.visible(self.title), value=self.value, disabled=disabled)


class Ui:
    """Asks and shows. Every prompt of the wizard goes through one of these methods."""

    def __init__(self, app: AppContext) -> None:
        self._out: Console = render.console(app)

    # -- showing -----------------------------------------------------------------------

    def heading(self, text: str) -> None:
        self._out.print()
        self._out.print(Text(render.visible(text), style="bold"))

    def say(self, text: str) -> None:
        self._out.print(render.plain(redact(text)), soft_wrap=False)

    def ok(self, text: str) -> None:
        self._out.print(Text("✓ ", style="green") + render.plain(redact(text)), soft_wrap=False)

    def warn(self, text: str) -> None:
        self._out.print(Text("! ", style="yellow") + render.plain(redact(text)), soft_wrap=False)

    def error(self, exc: AwsCopyPtError, *, hint: bool = True) -> None:
        """A failed check: what happened and (unless the screen offers it) what to do."""
        self._out.print(
            Text("✗ ", style="red") + render.plain(redact(exc.message)), soft_wrap=False
        )
        if exc.hint and hint:
            hint_line = Text(f"  → {render.visible(redact(exc.hint))}", style="dim")
            self._out.print(hint_line, soft_wrap=False)

    def accepts(self, check: Callable[[], object]) -> bool:
        """Run the check of one answer; on a refusal show why and return False (ask again)."""
        try:
            check()
        except AwsCopyPtError as exc:
            self.error(exc)
            return False
        return True

    def verbatim(self, text: str) -> None:
        """Text to copy (URLs, JSON, cron lines): never wrapped or re-styled."""
        self._out.print(render.plain_lines(text), soft_wrap=True)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._out.print(render.table(None, columns, rows))

    # -- asking ------------------------------------------------------------------------

    def select(
        self,
        message: str,
        options: Sequence[Option],
        *,
        back: bool = True,
        default: Any = None,
    ) -> Any:
        """One of ``options``' values, or BACK (offered last unless ``back`` is False)."""
        choices = [option.choice() for option in options]
        if back:
            choices.append(questionary.Choice(BACK_TITLE, value=BACK))
        preselected = next((c for c in choices if c.value == default and not c.disabled), None)
        return questionary.select(
            render.visible(message),
            choices=choices,
            default=preselected,
            qmark=QMARK,
            style=STYLE,
            use_jk_keys=False,
            use_search_filter=True,
        ).unsafe_ask()

    def text(
        self, message: str, *, default: str = "", instruction: str | None = None
    ) -> str | None:
        """Typed text, stripped; None when the answer was empty (meaning: go back)."""
        answer = questionary.text(
            render.visible(message),
            default=default,
            qmark=QMARK,
            style=STYLE,
            instruction=instruction or EMPTY_GOES_BACK,
        ).unsafe_ask()
        return str(answer or "").strip() or None

    def optional_text(self, message: str, *, default: str = "", instruction: str) -> str:
        """Typed text where empty is a meaningful answer (``instruction`` says what it means)."""
        answer = questionary.text(
            render.visible(message),
            default=default,
            qmark=QMARK,
            style=STYLE,
            instruction=instruction,
        ).unsafe_ask()
        return str(answer or "").strip()

    def secret(self, message: str) -> str:
        """Hidden input (shown as *), registered for redaction before anything else sees it."""
        answer = str(
            questionary.password(render.visible(message), qmark=QMARK, style=STYLE).unsafe_ask()
            or ""
        )
        answer = answer.strip()
        register_secret(answer)
        return answer

    def confirm(self, message: str, *, default: bool = False) -> bool:
        return bool(
            questionary.confirm(
                render.visible(message), default=default, qmark=QMARK, style=STYLE
            ).unsafe_ask()
        )


def walk(questions: Sequence[Any]) -> bool:
    """Ask ``questions`` (callables returning True to go on, False to go back) in order.

    Returns True once the last one went on, False when the user backed out of the first.
    """
    index = 0
    while 0 <= index < len(questions):
        index += 1 if questions[index]() else -1
    return index == len(questions)
