"""The machinery of the bad-input table (the rows are in test_bad_input.py).

A row is a function that prepares its input and returns a :class:`Trial` (the command to run),
registered in its module's :class:`Table` with its expectation: the exit status and the phrases
the message must contain - one naming the cause, one the next step. Every row is judged the
same way: the exit status, no traceback, the phrases, a next step for every refusal, and nothing
lost (by default: the database holds exactly what it held before).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliResult, CliRunner, installed_script, isolated_env
from tests.reliability.figures import Figures
from tests.reliability.world import World

# What a refusal says to point at the next step (our `next:` line, click's help pointer...).
NEXT_STEP_MARKERS = ("next:", "Try 'aws-copy-pt", "aws-copy-pt --help", "run `aws-copy-pt")
REFUSALS = frozenset(
    {ExitCode.USAGE, ExitCode.NEEDS_LOGIN, ExitCode.CONFIG, ExitCode.REMOTE, ExitCode.LOCKED}
)
# Token refreshes are bookkeeping, not data: a refused command may store a fresh access token.
VOLATILE_TABLES = ("globus_tokens",)


@dataclass
class Trial:
    """What a row runs, and how nothing being lost is checked afterwards."""

    args: Sequence[str]
    home: Path | None = None  # None: the world's home
    keeps: Callable[[], list[str]] | None = None  # problems found; None: the database unchanged
    output: Callable[[CliResult], str] | None = None  # the text judged; None: stdout + stderr
    run: Callable[[Sequence[str]], CliResult] | None = None  # None: the in-process CLI


@dataclass(frozen=True)
class Case:
    name: str
    exit: ExitCode
    says: tuple[str, ...]  # the cause, then the next step
    prepare: Callable[[Bench], Trial]
    must_not: tuple[str, ...] = ()  # what would mislead (a healthy database called damaged)


# How a table's rows are counted in the figures: (cases run, cases clear).
Tally = Callable[[Figures, bool], None]


def as_bad_input(figures: Figures, clear: bool) -> None:
    figures.bad_inputs += 1
    figures.bad_inputs_clear += clear


@dataclass
class Bench:
    """What a row can use: the registered world (if the row needs one), a CLI and a scratch dir."""

    cli: CliRunner
    tmp: Path
    env: dict[str, str]
    monkeypatch: pytest.MonkeyPatch
    world: World | None = None
    homes: int = 0

    @property
    def w(self) -> World:
        assert self.world is not None, "this row needs the registered world"
        return self.world

    def fresh_home(self) -> Path:
        """A new, initialised home (private, with an empty current database)."""
        self.homes += 1
        home = self.tmp / f"home-{self.homes}"
        self.cli("--home", str(home), "status").ok()
        return home

    def script(
        self, home: Path, *, typed: str | None = None, **popen: object
    ) -> Callable[[Sequence[str]], CliResult]:
        """Run the installed script on ``home`` (``typed``: its stdin, else none; ``popen``:
        e.g. a ``preexec_fn``)."""
        stdin = {"input": typed} if typed is not None else {"stdin": subprocess.DEVNULL}

        def run(args: Sequence[str]) -> CliResult:
            done = subprocess.run(
                [installed_script(), *args],
                env=isolated_env(home, self.env),
                **stdin,  # type: ignore[arg-type]
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                **popen,  # type: ignore[call-overload]
            )
            return CliResult(args, done.returncode, done.stdout, done.stderr)

        return run


class Table:
    """The rows of one test module, in the order they are written."""

    def __init__(self) -> None:
        self.cases: list[Case] = []

    @property
    def ids(self) -> list[str]:
        return [case.name for case in self.cases]

    def row(
        self, name: str, exit: ExitCode, *says: str, must_not: tuple[str, ...] = ()
    ) -> Callable[[Callable[[Bench], Trial]], Callable[[Bench], Trial]]:
        """Register a row: ``says`` are phrases naming the cause, then the next step."""

        def register(prepare: Callable[[Bench], Trial]) -> Callable[[Bench], Trial]:
            self.cases.append(Case(name, exit, says, prepare, must_not))
            return prepare

        return register


def fingerprint(db: Path) -> str:
    """The database's content (minus token bookkeeping), as a hash."""
    conn = sqlite3.connect(db)
    try:
        lines = [
            line
            for line in conn.iterdump()
            if not any(f'"{table}"' in line for table in VOLATILE_TABLES)
        ]
    finally:
        conn.close()
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def file_state(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mode


def judge(case: Case, bench: Bench, figures: Figures, tally: Tally = as_bad_input) -> None:
    """Run a row and check everything; ``tally`` counts it before anything is asserted."""
    trial = case.prepare(bench)
    home = trial.home or bench.w.home
    db = home / "aws-copy-pt.db"
    before = fingerprint(db) if trial.keeps is None and db.is_file() else None
    result = trial.run(trial.args) if trial.run else bench.cli(*trial.args)
    text = trial.output(result) if trial.output else result.stdout + result.stderr
    problems = _message_problems(case, result, text)
    if trial.keeps is not None:
        problems += trial.keeps()
    elif before is not None and fingerprint(db) != before:
        problems.append("the database changed")
    tally(figures, not problems)
    assert problems == [], f"{case.name}: {problems}\n{result.explain()}\n--- judged ---\n{text}"


def _message_problems(case: Case, result: CliResult, text: str) -> list[str]:
    problems = []
    if result.exit_code != case.exit:
        problems.append(f"exit {result.exit_code}, expected {int(case.exit)}")
    if "Traceback" in text or "internal error" in text:
        problems.append("a traceback or an internal error")
    problems += [f"does not say {phrase!r}" for phrase in case.says if phrase not in text]
    problems += [f"says {phrase!r}" for phrase in case.must_not if phrase in text]
    if case.exit in REFUSALS and not any(marker in text for marker in NEXT_STEP_MARKERS):
        problems.append("names no next step")
    return problems


def recorded(world: World, transfer_id: int) -> Callable[[CliResult], str]:
    """Judge a pass by what it recorded: the failed objects' reasons and the transfer's events."""

    def output(result: CliResult) -> str:
        shown = world.cli("--json", "transfers", "show", str(transfer_id)).ok().stdout
        details = json.loads(shown)
        reasons = [str(f["last_error"]) for f in details["failures"]]
        events = [str(e["message"]) for e in details["events"]]
        return "\n".join([result.stdout + result.stderr, *reasons, *events])

    return output
