"""The collector is paused while the program loads, and resumed once a command has loaded."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_copy_pt.cli import heap
from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.home.paths import Home


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_settling_freezes_what_start_up_built_and_collects_again() -> None:
    heap.pause()
    assert not gc.isenabled()

    heap.settle()

    assert gc.isenabled()
    assert gc.get_freeze_count() > 10_000  # the modules, classes and functions loaded so far


def test_settling_without_a_pause_changes_nothing() -> None:
    heap.settle()

    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_opening_the_database_settles_a_paused_collector(tmp_path: Path) -> None:
    app = AppContext(home=Home(tmp_path / "home"))
    heap.pause()

    app.database()

    assert gc.isenabled()
    app.close()
