"""How to run this very aws-copy-pt again: in a hint the user types, or a cron line."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from aws_copy_pt.home.paths import Home, resolve_home

NAME = "aws-copy-pt"


def program_words(env: Mapping[str, str], *, absolute: bool = False) -> list[str]:
    """``aws-copy-pt`` when that name on PATH is this program (what works as typed), else its
    absolute path; ``python -m aws_copy_pt`` when it was not started as the script. With
    ``absolute`` the path is always named (cron and scrontab run with a minimal PATH)."""
    script = Path(sys.argv[0])
    if script.name != NAME or not script.exists():
        return [sys.executable, "-m", "aws_copy_pt"]
    path = script.absolute()
    if not absolute:
        found = shutil.which(NAME, path=env.get("PATH"))
        if found is not None and Path(found).resolve() == path.resolve():
            return [NAME]
    return [str(path)]


def command_words(home: Home, env: Mapping[str, str], *, absolute: bool = False) -> list[str]:
    """:func:`program_words` plus ``--home DIR`` unless ``home`` is the default one."""
    words = program_words(env, absolute=absolute)
    default = resolve_home(None, {"HOME": env.get("HOME", str(Path.home()))})
    if home != default:
        words += ["--home", str(home.path)]
    return words
