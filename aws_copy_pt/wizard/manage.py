"""Menu screens to manage what is registered: AWS credentials, staging collections, buckets.

Each shows a short table, then offers the same actions as the `aws`, `collection` and `bucket`
commands, through the same services.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_copy_pt.services.setup.buckets import (
    BucketCheck,
    check_bucket,
    list_buckets,
    remove_bucket,
)
from aws_copy_pt.services.setup.collections import CollectionSummary, list_collections
from aws_copy_pt.services.setup.collections import remove_collection as unregister_collection
from aws_copy_pt.services.setup.credentials import (
    CredentialInfo,
    check_credential,
    list_credentials,
    remove_credential,
)
from aws_copy_pt.wizard.context import Wizard
from aws_copy_pt.wizard.steps import aws_credentials, destination, staging
from aws_copy_pt.wizard.steps.buckets import offer_write_test, show_policy
from aws_copy_pt.wizard.ui import BACK, Option


def _submenu(wizard: Wizard, title: str, actions: dict[str, Callable[[Wizard], None]]) -> None:
    """Offer ``actions`` until the user goes back."""
    while True:
        picked = wizard.ui.select(title, [Option(name, name) for name in actions])
        if picked is BACK:
            return
        actions[picked](wizard)


def _pick(wizard: Wizard, message: str, names: list[str]) -> str | None:
    if not names:
        wizard.ui.say("There is nothing to choose from.")
        return None
    picked = wizard.ui.select(message, [Option(name, name) for name in names])
    return None if picked is BACK else str(picked)


# -- AWS credentials ---------------------------------------------------------------------


def credentials(wizard: Wizard) -> None:
    _show_credentials(wizard)
    _submenu(
        wizard,
        "AWS credentials:",
        {
            "Add credentials": _add_credential,
            "Check credentials with AWS STS": _check_credential,
            "Store new keys for credentials (after a key rotation)": _update_credential,
            "Remove credentials": _remove_credential,
        },
    )


def _credential_names(wizard: Wizard) -> list[str]:
    with wizard.app.session() as session:
        return [c.name for c in list_credentials(session)]


def _show_credentials(wizard: Wizard) -> None:
    with wizard.app.session() as session:
        rows = [
            (
                c.name,
                f"profile {c.profile}" if c.kind == "profile" else f"key {c.access_key_id}",
                c.account_id or "not checked",
                ", ".join(c.buckets) or "-",
            )
            for c in list_credentials(session)
        ]
    wizard.ui.table(("Name", "Source", "Account", "Buckets"), rows)


def _add_credential(wizard: Wizard) -> None:
    aws_credentials.choose(wizard, offer_registered=False)


def _check_credential(wizard: Wizard) -> None:
    name = _pick(wizard, "Check which credentials?", _credential_names(wizard))
    if name is None:
        return
    factory = wizard.factory()

    def check() -> CredentialInfo:
        with wizard.app.session() as session:
            return check_credential(session, factory, name)

    info = wizard.attempt(check)
    if info is not None:
        wizard.ui.ok(f"{info.name}: {aws_credentials.identity(info)}")


def _update_credential(wizard: Wizard) -> None:
    with wizard.app.session() as session:
        names = [c.name for c in list_credentials(session) if c.kind == "keys"]
    if not names:
        wizard.ui.say("Only stored keys can be replaced here; a profile's live in ~/.aws.")
        return
    name = _pick(wizard, "New keys for which credentials?", names)
    if name is not None:
        aws_credentials.update_interactively(wizard, name)


def _remove_credential(wizard: Wizard) -> None:
    name = _pick(wizard, "Remove which credentials?", _credential_names(wizard))
    if name is None or not wizard.ui.confirm(f"Forget {name} and any secret stored with it?"):
        return

    def remove() -> str:
        with wizard.app.session() as session:
            remove_credential(session, name)
        return name

    if wizard.attempt(remove) is not None:
        wizard.ui.ok(f"Removed {name}.")


# -- staging collections -----------------------------------------------------------------


def collections(wizard: Wizard) -> None:
    _show_collections(wizard)
    _submenu(
        wizard,
        "Staging collections:",
        {
            "Add a staging collection": staging.add_interactively,
            "Remove a staging collection": _remove_collection,
        },
    )


def _show_collections(wizard: Wizard) -> None:
    with wizard.app.session() as session:
        rows = [
            (c.display_name or "", c.collection_id, c.mapping_root, c.transfers)
            for c in list_collections(session)
        ]
    wizard.ui.table(("Name", "Collection id", "Staging location", "Transfers"), rows)


def _remove_collection(wizard: Wizard) -> None:
    with wizard.app.session() as session:
        ids = [c.collection_id for c in list_collections(session)]
    cid = _pick(wizard, "Remove which collection?", ids)
    if cid is None or not wizard.ui.confirm(f"Unregister collection {cid}?"):
        return

    def remove() -> CollectionSummary:
        with wizard.app.session() as session:
            return unregister_collection(session, cid)

    removed = wizard.attempt(remove)
    if removed is not None:
        wizard.ui.ok(f"Removed {removed.display_name or removed.collection_id}.")


# -- buckets -----------------------------------------------------------------------------


def buckets(wizard: Wizard) -> None:
    _show_buckets(wizard)
    _submenu(
        wizard,
        "Buckets:",
        {
            "Register a destination bucket": _add_destination,
            "Check a bucket (region, access, write test)": _check_bucket,
            "Show the policy a destination owner must attach": _policy,
            "Remove a bucket": _remove_bucket,
        },
    )


def _bucket_names(wizard: Wizard) -> list[str]:
    with wizard.app.session() as session:
        return [b.name for b in list_buckets(session)]


def _show_buckets(wizard: Wizard) -> None:
    with wizard.app.session() as session:
        staging_names = {c.bucket for c in list_collections(session)}
        rows = [
            (
                b.name,
                "staging" if b.name in staging_names else "destination",
                b.credential,
                b.region or "unknown",
                b.endpoint_url or "Amazon S3",
                b.checked_at.strftime("%Y-%m-%d") if b.checked_at else "never",
            )
            for b in list_buckets(session)
        ]
    wizard.ui.table(("Name", "Role", "Credentials", "Region", "Where", "Checked"), rows)


def _add_destination(wizard: Wizard) -> None:
    destination.add_destination(wizard)


def _check_bucket(wizard: Wizard) -> None:
    name = _pick(wizard, "Check which bucket?", _bucket_names(wizard))
    if name is None:
        return
    factory = wizard.factory()

    def check() -> BucketCheck:
        with wizard.app.session() as session:
            return check_bucket(session, factory, name)

    result = wizard.attempt(check)
    if result is None:
        return
    moved = f" (was {result.previous_region})" if result.region_changed else ""
    wizard.ui.ok(f"{name}: reachable, region {result.bucket.region}{moved}.")
    offer_write_test(wizard, name)


def _policy(wizard: Wizard) -> None:
    name = _pick(wizard, "Policy for which destination?", _bucket_names(wizard))
    if name is not None:
        show_policy(wizard, name)


def _remove_bucket(wizard: Wizard) -> None:
    name = _pick(wizard, "Remove which bucket?", _bucket_names(wizard))
    if name is None or not wizard.ui.confirm(f"Forget {name}? (its contents are untouched)"):
        return

    def remove() -> str:
        with wizard.app.session() as session:
            remove_bucket(session, name)
        return name

    if wizard.attempt(remove) is not None:
        wizard.ui.ok(f"Removed {name}.")
