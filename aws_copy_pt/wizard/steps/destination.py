"""Destination bucket: registered (region found, access checked), with an opt-in write test."""

from __future__ import annotations

from aws_copy_pt.services.setup.buckets import list_buckets
from aws_copy_pt.services.setup.collections import list_collections
from aws_copy_pt.services.setup.credentials import list_credentials
from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.steps.buckets import offer_write_test, register_bucket
from aws_copy_pt.wizard.ui import BACK, Option

NEW_BUCKET = "\0new"


def run(wizard: Wizard) -> Outcome:
    while True:
        with wizard.app.session() as session:
            staging = {c.bucket for c in list_collections(session)} | {wizard.picks.staging_bucket}
            destinations = [b for b in list_buckets(session) if b.name not in staging]
        options = [
            Option(f"Use {b.name} ({b.region or 'not checked yet'})", b.name) for b in destinations
        ]
        options.append(Option("Register the destination bucket", NEW_BUCKET))
        picked = wizard.ui.select(
            "Which bucket (in the other account) should the files land in?",
            options,
            default=wizard.picks.destination,
        )
        if picked is BACK:
            return Outcome.BACK
        if picked != NEW_BUCKET:
            wizard.picks.destination = str(picked)
            return Outcome.NEXT
        name = add_destination(wizard)
        if name is not None:
            wizard.picks.destination = name
            return Outcome.NEXT


def add_destination(wizard: Wizard) -> str | None:
    """Register a destination bucket (and offer the write test); its name, or None."""
    credential = _copying_credential(wizard)
    if credential is None:
        return None
    name = register_bucket(wizard, role="destination", credential=credential)
    if name is not None:
        with wizard.app.session() as session:
            checked = any(b.name == name and b.checked_at for b in list_buckets(session))
        if checked:
            offer_write_test(wizard, name)
    return name


def _copying_credential(wizard: Wizard) -> str | None:
    """The credential that performs the copies: asked only when there is a choice."""
    with wizard.app.session() as session:
        names = [c.name for c in list_credentials(session)]
    if len(names) == 1:
        return names[0]
    picked = wizard.ui.select(
        "Which credentials copy into it?",
        [Option(name, name) for name in names],
        default=wizard.picks.credential,
    )
    return None if picked is BACK else str(picked)
