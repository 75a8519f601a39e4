"""What the guided set-up offers to pick from, so that nobody has to copy ids around.

Read-only look-ups: the AWS profiles configured on this machine (``~/.aws/config`` and
``~/.aws/credentials``, or wherever ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` point),
and the Globus collections the user used recently or administers. Registering any of them is
still the job of the credential and collection services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aws_copy_pt.core.paths import PathError, parse_uuid
from aws_copy_pt.db.models import AwsCredential, Collection
from aws_copy_pt.errors import UsageError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.gateway import TransferClient
from aws_copy_pt.services.setup.collections import NOT_COLLECTIONS, get_collection_document

# Recently used first: a staging collection is one the user has been transferring into.
SEARCH_SCOPES = ("recently-used", "my-endpoints")


@dataclass(frozen=True)
class ProfileChoice:
    name: str
    registered_as: str | None  # the credential already using this profile, if any


@dataclass(frozen=True)
class CollectionChoice:
    collection_id: str
    display_name: str
    entity_type: str | None
    owner: str | None
    registered: bool


def aws_profiles(session: Session) -> list[ProfileChoice]:
    """Profiles botocore can load here, each with the credential that already uses it."""
    from aws_copy_pt.s3.clients import available_profiles

    names = available_profiles()
    used = dict(
        session.execute(
            select(AwsCredential.profile, AwsCredential.name).where(AwsCredential.kind == "profile")
        ).all()
    )
    return [ProfileChoice(name, used.get(name)) for name in names]


def recent_collections(
    session: Session, transfer_client: TransferClient, *, limit: int = 15
) -> list[CollectionChoice]:
    """Collections the user used recently, then ones they administer (no GCS endpoints)."""
    registered = set(session.scalars(select(Collection.collection_id)))
    found: dict[str, CollectionChoice] = {}
    for scope in SEARCH_SCOPES:
        for document in gateway.search_collections(transfer_client, scope, limit=limit):
            choice = _choice(document, registered)
            if choice is not None and choice.collection_id not in found:
                found[choice.collection_id] = choice
    return list(found.values())[:limit]


def look_up_collection(
    session: Session, transfer_client: TransferClient, text: str
) -> CollectionChoice:
    """A pasted collection id, checked at Globus the moment it is given."""
    try:
        cid = parse_uuid(text, what="Globus collection id")
    except PathError as exc:
        raise UsageError(str(exc), hint="copy the collection's UUID from app.globus.org") from None
    document = get_collection_document(transfer_client, cid)
    registered = set(session.scalars(select(Collection.collection_id)))
    choice = _choice(document, registered)
    if choice is None:
        raise UsageError(
            f"{cid} ({document.get('display_name')}) is a Globus endpoint, not a collection",
            hint="paste the id of the collection Globus writes into (see app.globus.org)",
        )
    return choice


def _choice(document: dict[str, Any], registered: set[str]) -> CollectionChoice | None:
    if document.get("entity_type") in NOT_COLLECTIONS or not document.get("id"):
        return None
    cid = str(document["id"])
    return CollectionChoice(
        collection_id=cid,
        display_name=str(document.get("display_name") or document.get("canonical_name") or cid),
        entity_type=document.get("entity_type"),
        owner=document.get("owner_string"),
        registered=cid in registered,
    )
