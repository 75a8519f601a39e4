"""The home directory: where it is, and the ssh-like permission rules that protect it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aws_copy_pt.errors import HomePermissionError
from aws_copy_pt.home.paths import create_private_file, ensure_home, resolve_home


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


@pytest.mark.parametrize(
    "name", ["aws-copy-pt.db", "aws-copy-pt.db-wal", "aws-copy-pt.lock", "logs"]
)
def test_a_link_in_place_of_a_file_of_ours_is_refused(tmp_path: Path, name: str) -> None:
    home = resolve_home(tmp_path / "home", {})
    ensure_home(home)
    (home.path / name).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(HomePermissionError, match="is a symbolic link"):
        ensure_home(home)
    assert not (tmp_path / "elsewhere").exists()


def test_the_home_itself_may_be_a_link(tmp_path: Path) -> None:
    (tmp_path / "scratch").mkdir(mode=0o700)
    (tmp_path / "home").symlink_to(tmp_path / "scratch")
    ensure_home(resolve_home(tmp_path / "home", {}))


def test_a_private_file_is_never_created_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        create_private_file(tmp_path / "link")
    assert not (tmp_path / "target").exists()
