"""Staging collection: which Globus collection delivers into which staging bucket, and where.

The collection is picked from the user's recent collections (or pasted and looked up at once),
then mapped to a registered staging bucket (registered here if needed) and a base path. When
Globus was skipped, only the staging bucket is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from aws_copy_pt.core.paths import PathError, normalize_base_path
from aws_copy_pt.errors import UsageError
from aws_copy_pt.services.setup.buckets import list_buckets
from aws_copy_pt.services.setup.choices import (
    CollectionChoice,
    look_up_collection,
    recent_collections,
)
from aws_copy_pt.services.setup.collections import (
    CollectionSummary,
    add_collection,
    list_collections,
)
from aws_copy_pt.wizard.context import Outcome, Wizard
from aws_copy_pt.wizard.steps.buckets import register_bucket
from aws_copy_pt.wizard.ui import BACK, Option, walk

NEW_BUCKET = "\0new"
OTHER_PATH = "\0other"


@dataclass
class _Mapping:
    collection: CollectionChoice
    bucket: str | None = None
    base_path: str = "/"


def run(wizard: Wizard) -> Outcome:
    if wizard.globus_skipped:
        return _staging_bucket_only(wizard)
    while True:
        picked = _choose_collection(wizard, offer_registered=True)
        if picked is BACK:
            return Outcome.BACK
        if isinstance(picked, CollectionSummary):
            wizard.picks.collection, wizard.picks.staging_bucket = (
                picked.collection_id,
                picked.bucket,
            )
            return Outcome.NEXT
        if isinstance(picked, CollectionChoice) and register(wizard, picked):
            return Outcome.NEXT


def _staging_bucket_only(wizard: Wizard) -> Outcome:
    """Without Globus: the staging bucket now, its collection after the login."""
    wizard.ui.say("Without Globus, register the staging bucket now; its collection comes later.")
    name = _choose_bucket(
        wizard, wizard.picks.staging_bucket, question="Which S3 bucket will Globus write into?"
    )
    if name is None:
        return Outcome.BACK
    wizard.picks.staging_bucket = name
    return Outcome.NEXT


def add_interactively(wizard: Wizard) -> None:
    """Register one more staging collection (from the menu)."""
    picked = _choose_collection(wizard, offer_registered=False)
    if isinstance(picked, CollectionChoice):
        register(wizard, picked)


def _choose_collection(wizard: Wizard, *, offer_registered: bool) -> object:
    """A registered CollectionSummary, a new CollectionChoice, BACK, or None (ask again)."""
    ui = wizard.ui
    with wizard.app.session() as session:
        registered = list_collections(session) if offer_registered else []

    def recent() -> list[CollectionChoice]:
        with wizard.app.session() as session:
            return recent_collections(session, wizard.transfer_client())

    candidates = [c for c in (wizard.attempt(recent) or []) if not c.registered]
    options = [Option(f"Use {_name(c)} → {c.mapping_root}", c) for c in registered]
    options += [Option(_describe(c), c) for c in candidates]
    options.append(Option("Paste a collection UUID", "paste"))
    picked = ui.select(
        "Which Globus collection writes into your staging bucket?",
        options,
        default=next((c for c in registered if c.collection_id == wizard.picks.collection), None),
    )
    if picked != "paste":
        return picked
    text = ui.text("Collection UUID")
    if text is None:
        return None

    def look_up() -> CollectionChoice:
        with wizard.app.session() as session:
            return look_up_collection(session, wizard.transfer_client(), text)

    found = wizard.attempt(look_up)
    if found is not None and found.registered:
        ui.say(f"{found.display_name} is registered already: pick it from the list.")
        return None
    return found


def register(wizard: Wizard, collection: CollectionChoice) -> bool:
    """Map ``collection`` to a staging bucket and base path, and register it."""
    mapping = _Mapping(collection, bucket=wizard.picks.staging_bucket)

    def bucket() -> bool:
        chosen = _choose_bucket(wizard, mapping.bucket)
        mapping.bucket = chosen or mapping.bucket
        return chosen is not None

    def base_path() -> bool:
        assert mapping.bucket is not None
        chosen = _choose_base_path(wizard, mapping.bucket, mapping.base_path)
        mapping.base_path = chosen or mapping.base_path
        return chosen is not None

    def save() -> bool:
        summary = wizard.attempt(lambda: _save(wizard, mapping))
        if summary is None:
            return False
        wizard.ui.ok(f"Registered {_name(summary)}.")
        wizard.ui.say(
            f"A delivered file {summary.example_path} is s3://{summary.bucket}/"
            f"{summary.example_key} in staging."
        )
        wizard.picks.collection, wizard.picks.staging_bucket = (
            summary.collection_id,
            summary.bucket,
        )
        return True

    return walk([bucket, base_path, save])


def _choose_bucket(
    wizard: Wizard,
    current: str | None,
    *,
    question: str = "Which S3 bucket does this collection write into?",
) -> str | None:
    """A registered bucket's name (registering a new one if asked), or None for back."""
    while True:
        with wizard.app.session() as session:
            buckets = list_buckets(session)
        options = [
            Option(f"Use {b.name} ({b.region or 'region unknown'})", b.name) for b in buckets
        ]
        options.append(Option("Register the staging bucket", NEW_BUCKET))
        picked = wizard.ui.select(question, options, default=current)
        if picked is BACK:
            return None
        if picked != NEW_BUCKET:
            return str(picked)
        credential = wizard.picks.credential
        assert credential is not None, "the credentials screen comes first"
        name = register_bucket(wizard, role="staging", credential=credential)
        if name is not None:
            return name


def _choose_base_path(wizard: Wizard, bucket: str, current: str) -> str | None:
    options = [
        Option(f"The collection shows the bucket as a folder /{bucket}/ (base path /)", "/"),
        Option(f"The collection's root is the bucket (base path /{bucket}/)", f"/{bucket}/"),
        Option("Another base path…", OTHER_PATH),
    ]
    picked = wizard.ui.select(
        "How does the collection show the bucket?",
        options,
        default=current if current in ("/", f"/{bucket}/") else OTHER_PATH,
    )
    if picked is BACK:
        return None
    if picked != OTHER_PATH:
        return str(picked)
    while True:  # checked here, before anything is asked of Globus
        typed = wizard.ui.text(
            "Base path", default=current, instruction=f"(e.g. /{bucket}/incoming/; empty: back)"
        )
        if typed is None or wizard.ui.accepts(partial(_check_base_path, typed)):
            return typed
        current = typed


def _check_base_path(text: str) -> None:
    try:
        normalize_base_path(text)
    except PathError as exc:
        raise UsageError(
            str(exc), hint="the folder the collection's root is on the S3 gateway, e.g. /bucket/"
        ) from None


def _save(wizard: Wizard, mapping: _Mapping) -> CollectionSummary:
    assert mapping.bucket is not None
    client = wizard.transfer_client()
    with wizard.app.session() as session:
        return add_collection(
            session,
            client,
            mapping.collection.collection_id,
            bucket=mapping.bucket,
            base_path=mapping.base_path,
        )


def _name(collection: CollectionSummary) -> str:
    return collection.display_name or collection.collection_id


def _describe(choice: CollectionChoice) -> str:
    owner = f", {choice.owner}" if choice.owner else ""
    return f"{choice.display_name} ({choice.collection_id[:8]}…{owner})"
