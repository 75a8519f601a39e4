"""What every wizard screen receives: the app, the UI, the choices made so far, and clients.

Screens call services only through :meth:`Wizard.attempt`, which shows a failed check (message
and remedy) and returns None so the screen can ask again: a refusal never ends the wizard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, TypeVar

from aws_copy_pt.cli.context import AppContext
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.wizard.ui import Ui

if TYPE_CHECKING:
    import globus_sdk

    from aws_copy_pt.s3.clients import ClientFactory

T = TypeVar("T")


class Outcome(Enum):
    NEXT = "next"
    BACK = "back"
    QUIT = "quit"


@dataclass
class Picks:
    """What the user chose (or what the database already held) on earlier screens."""

    credential: str | None = None
    staging_bucket: str | None = None
    staging_endpoint: str | None = None
    collection: str | None = None
    destination: str | None = None
    transfer_id: int | None = None


@dataclass
class Wizard:
    app: AppContext
    ui: Ui
    picks: Picks = field(default_factory=Picks)
    globus_skipped: bool = False  # "skip Globus for now": no screen may need a Globus login
    _factory: ClientFactory | None = None

    def factory(self) -> ClientFactory:
        """One boto3 client factory for the whole session (sessions are cached per credential)."""
        if self._factory is None:
            from aws_copy_pt.s3.clients import ClientFactory

            self._factory = ClientFactory(max_pool_connections=4)
        return self._factory

    def transfer_client(self) -> globus_sdk.TransferClient:
        """The same non-prompting Globus client the commands use, from the stored login."""
        from aws_copy_pt.globus.clients import batch_transfer_client

        return batch_transfer_client(self.app.database(), env=self.app.env)

    def attempt(self, action: Callable[[], T]) -> T | None:
        """Run ``action``; on a refusal show why and what to do, and return None."""
        try:
            return action()
        except AwsCopyPtError as exc:
            self.ui.error(exc)
            return None
