"""Packaging: every package ships, and migrations travel inside the installed package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_lists_every_package_below_aws_copy_pt() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "aws_copy_pt").rglob("__init__.py")
    }
    on_disk |= {"aws_copy_pt.migrations", "aws_copy_pt.migrations.versions"}
    assert on_disk == listed
