"""How far the set-up got, read from what the database holds (no separate progress flag).

Each first-run screen is finished when its rows exist: a stored Globus login, a credential, a
staging collection, a destination bucket (a bucket no collection stages into), a transfer or a
follow rule. Every row is written in one transaction by the service that makes it, so after a
Ctrl-C anywhere a re-run starts at the first screen whose rows are missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_copy_pt.services.setup.buckets import BucketInfo, list_buckets
from aws_copy_pt.services.setup.collections import CollectionSummary, list_collections
from aws_copy_pt.services.setup.credentials import CredentialInfo, list_credentials
from aws_copy_pt.services.setup.globus_login import LoginStatus, whoami
from aws_copy_pt.services.transfers import TransferSummary, list_transfers
from aws_copy_pt.services.watch.follow_rules import count_rules
from aws_copy_pt.wizard.context import Picks, Wizard


@dataclass(frozen=True)
class SetupState:
    login: LoginStatus
    credentials: list[CredentialInfo]
    collections: list[CollectionSummary]
    buckets: list[BucketInfo]
    transfers: list[TransferSummary]
    follow_rules: int = 0

    @property
    def watching(self) -> bool:
        """A transfer is watched, or a follow rule will watch them as they come."""
        return bool(self.transfers) or self.follow_rules > 0

    @property
    def logged_in(self) -> bool:
        return self.login.logged_in

    @property
    def staging_buckets(self) -> set[str]:
        return {c.bucket for c in self.collections}

    @property
    def destinations(self) -> list[BucketInfo]:
        return [b for b in self.buckets if b.name not in self.staging_buckets]

    @property
    def anything(self) -> bool:
        return self.logged_in or bool(self.credentials or self.buckets)

    @property
    def who(self) -> str:
        identity = self.login.identity
        if not self.logged_in:
            return "not logged in"
        if identity is None:
            return "logged in"
        return identity.username or identity.name or identity.id

    def picks(self) -> Picks:
        """Sensible earlier choices when resuming: the first of each kind."""
        picks = Picks()
        if self.collections:
            first = self.collections[0]
            picks.collection, picks.staging_bucket = first.collection_id, first.bucket
        staging = next((b for b in self.buckets if b.name == picks.staging_bucket), None)
        if staging is not None:
            picks.credential, picks.staging_endpoint = staging.credential, staging.endpoint_url
        elif self.credentials:
            picks.credential = self.credentials[0].name
        if self.destinations:
            picks.destination = self.destinations[0].name
        return picks


def load_state(wizard: Wizard) -> SetupState:
    app = wizard.app
    login = whoami(app.database(), env=app.env, verify=False)
    with app.session() as session:
        return SetupState(
            login=login,
            credentials=list_credentials(session),
            collections=list_collections(session),
            buckets=list_buckets(session),
            transfers=list_transfers(session),
            follow_rules=count_rules(session),
        )
