"""The home directory: where it is, and the ssh-like permission rules that protect it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aws_copy_pt.errors import HomePermissionError
from aws_copy_pt.home.paths import ensure_home, resolve_home


def test_explicit_home_wins_over_environment(tmp_path: Path) -> None:
    env = {"AWS_COPY_PT_HOME": "/env/home", "XDG_DATA_HOME": "/xdg", "HOME": "/u"}
    assert resolve_home(tmp_path / "x", env).path == tmp_path / "x"


def test_environment_variable_wins_over_xdg() -> None:
    env = {"AWS_COPY_PT_HOME": "/env/home", "XDG_DATA_HOME": "/xdg", "HOME": "/u"}
    assert resolve_home(None, env).path == Path("/env/home")


def test_xdg_data_home_is_used_when_set() -> None:
    assert resolve_home(None, {"XDG_DATA_HOME": "/xdg", "HOME": "/u"}).path == Path(
        "/xdg/aws-copy-pt"
    )


def test_default_is_under_dot_local_share() -> None:
    assert resolve_home(None, {"HOME": "/u"}).path == Path("/u/.local/share/aws-copy-pt")


def test_new_home_is_created_private(tmp_path: Path) -> None:
    home = resolve_home(tmp_path / "deep" / "home", {})
    ensure_home(home)
    assert stat.S_IMODE(home.path.stat().st_mode) == 0o700


def test_group_readable_home_is_refused_with_the_chmod_that_fixes_it(tmp_path: Path) -> None:
    home = resolve_home(tmp_path / "home", {})
    home.path.mkdir(mode=0o755)
    home.path.chmod(0o755)
    with pytest.raises(HomePermissionError) as err:
        ensure_home(home)
    assert err.value.hint == f"run: chmod 700 {home.path}"


def test_world_readable_database_is_refused_with_the_chmod_that_fixes_it(tmp_path: Path) -> None:
    home = resolve_home(tmp_path / "home", {})
    ensure_home(home)
    home.db_path.write_bytes(b"")
    home.db_path.chmod(0o644)
    with pytest.raises(HomePermissionError) as err:
        ensure_home(home)
    assert "0644" in err.value.message
    assert err.value.hint == f"run: chmod 600 {home.db_path}"
