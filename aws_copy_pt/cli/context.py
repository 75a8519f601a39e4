"""What every command receives: the home, output mode, terminal streams and a lazy database."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

import click

from aws_copy_pt.cli import heap
from aws_copy_pt.home.paths import Home, resolve_home

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aws_copy_pt.db.engine import Database


@dataclass
class AppContext:
    """Carries stdin/stdout/stderr and settings so tests can swap any of them."""

    home: Home
    json_output: bool = False
    verbose: int = 0
    debug: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    demo_stopped: bool = False  # a kept demo home whose stand-ins are gone
    _db: Database | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def create(cls, home: str | None, **kwargs: object) -> AppContext:
        env = dict(os.environ)
        return cls(home=resolve_home(home, env), env=env, **kwargs)  # type: ignore[arg-type]

    @property
    def interactive(self) -> bool:
        return self.stdin.isatty() and self.stdout.isatty()

    def database(self) -> Database:
        """Open (creating and migrating on first use) the database in the home."""
        if self._db is None:
            from aws_copy_pt.db.engine import open_database
            from aws_copy_pt.secrecy import harden_process

            harden_process()  # the database holds secrets: no core dump of this process
            self._db = open_database(self.home)
            self._use_demo_servers(self._db)
            heap.settle()  # the command has loaded what it works with
            if self._db.backup_path is not None:
                click.echo(
                    f"Upgraded the database schema; the previous copy is {self._db.backup_path}",
                    err=True,
                )
        return self._db

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.database().session() as session:
            yield session

    def _use_demo_servers(self, db: Database) -> None:
        """In a kept demo home, point the SDKs at its stand-ins, running or not: a demo home
        never reaches the real Globus (see ``sandbox.demo_home``)."""
        from aws_copy_pt.sandbox.demo_home import demo_servers

        servers = demo_servers(db)
        if servers is None:
            return
        self.demo_stopped = not servers.running()
        for name, value in servers.env.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        self.env = {**self.env, **servers.env}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()


pass_app = click.make_pass_decorator(AppContext)
