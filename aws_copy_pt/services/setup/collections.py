"""Registering Globus staging collections and how their paths map onto a staging bucket.

A collection is checked with Transfer's ``get_endpoint`` before it is stored: it must exist and
be a collection (not a GCS endpoint); its display name and entity type are cached; a GCSv5 mapped
collection is marked as needing a data_access consent (``aws-copy-pt login`` then asks for it),
and whether it is an S3 collection is recorded when Globus shows the connector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aws_copy_pt.core.paths import CollectionMapping, PathError, parse_uuid
from aws_copy_pt.core.states import FINISHED_TRANSFER_STATES, TransferState
from aws_copy_pt.db.models import Bucket, Collection, FollowRule, Transfer
from aws_copy_pt.errors import ConfigError, NotFoundError, RemoteError, UsageError
from aws_copy_pt.globus import gateway
from aws_copy_pt.globus.errors import Failure, GlobusCallError
from aws_copy_pt.globus.gateway import TransferClient

S3_CONNECTOR_ID = "7643e831-5f6c-4b47-a07f-8ee90f401d23"  # Globus Connect Server's S3 connector
MAPPED_COLLECTION = "GCSv5_mapped_collection"
NOT_COLLECTIONS = frozenset({"GCSv5_endpoint", "GCP_endpoint"})


@dataclass(frozen=True)
class CollectionSummary:
    collection_id: str
    display_name: str | None
    bucket: str
    base_path: str
    key_prefix: str
    mapping_root: str  # s3://bucket/prefix/ that relative keys are taken from
    entity_type: str | None
    is_s3_gateway: bool | None
    needs_data_access_consent: bool
    transfers: int
    example_path: str  # a Globus path in this collection ...
    example_key: str  # ... and the staging key it maps to


def summarize(session: Session, row: Collection) -> CollectionSummary:
    mapping = mapping_of(row)
    gateway_path = f"/{mapping.bucket}/{mapping.root_prefix}run1/data.bin"
    example = gateway_path[len(mapping.base_path) - 1 :]
    count = session.scalar(select(func.count(Transfer.id)).where(Transfer.collection_id == row.id))
    return CollectionSummary(
        collection_id=row.collection_id,
        display_name=row.display_name,
        bucket=row.bucket.name,
        base_path=row.base_path,
        key_prefix=row.key_prefix,
        mapping_root=f"s3://{row.bucket.name}/{mapping.root_prefix}",
        entity_type=row.entity_type,
        is_s3_gateway=row.is_s3_gateway,
        needs_data_access_consent=row.needs_data_access_consent,
        transfers=int(count or 0),
        example_path=example,
        example_key=mapping.map_path(example).key,
    )


def mapping_of(row: Collection) -> CollectionMapping:
    """The path mapping of a registered collection."""
    return CollectionMapping(
        bucket=row.bucket.name, base_path=row.base_path, key_prefix=row.key_prefix
    )


def find_bucket(session: Session, name: str) -> Bucket:
    bucket = session.scalar(select(Bucket).where(Bucket.name == name))
    if bucket is None:
        raise NotFoundError(
            f"bucket {name!r} is not registered",
            hint=f"register it with `aws-copy-pt bucket add {name} --credentials CREDENTIAL`",
        )
    return bucket


def find_collection(session: Session, collection_id: str) -> Collection:
    cid = _collection_uuid(collection_id)
    row = session.scalar(select(Collection).where(Collection.collection_id == cid))
    if row is None:
        raise NotFoundError(
            f"collection {cid} is not a registered staging collection",
            hint=f"register it with `aws-copy-pt collection add {cid} --bucket STAGING_BUCKET`",
        )
    return row


def add_collection(
    session: Session,
    transfer_client: TransferClient,
    collection_id: str,
    *,
    bucket: str,
    base_path: str = "/",
    key_prefix: str = "",
) -> CollectionSummary:
    """Validate ``collection_id`` at Globus and register it with its path mapping."""
    cid = _collection_uuid(collection_id)
    if session.scalar(select(Collection).where(Collection.collection_id == cid)) is not None:
        raise ConfigError(
            f"collection {cid} is already registered",
            hint=f"`aws-copy-pt collection remove {cid}` first to change its mapping",
        )
    staging = find_bucket(session, bucket)
    try:
        mapping = CollectionMapping(bucket=staging.name, base_path=base_path, key_prefix=key_prefix)
    except PathError as exc:
        raise UsageError(str(exc), hint="see `aws-copy-pt collection add --help`") from None
    document = get_collection_document(transfer_client, cid)
    entity_type = document.get("entity_type")
    if entity_type in NOT_COLLECTIONS:
        raise UsageError(
            f"{cid} ({document.get('display_name')}) is a Globus endpoint, not a collection",
            hint="pass the id of the collection Globus writes into (see app.globus.org)",
        )
    row = Collection(
        collection_id=cid,
        display_name=document.get("display_name") or document.get("canonical_name"),
        bucket_id=staging.id,
        base_path=mapping.base_path,
        key_prefix=mapping.key_prefix,
        entity_type=entity_type,
        is_s3_gateway=_is_s3(document),
        needs_data_access_consent=(
            entity_type == MAPPED_COLLECTION and not document.get("high_assurance")
        ),
    )
    session.add(row)
    session.flush()
    return summarize(session, row)


def list_collections(session: Session) -> list[CollectionSummary]:
    rows = session.scalars(select(Collection).order_by(Collection.display_name, Collection.id))
    return [summarize(session, row) for row in rows]


def remove_collection(session: Session, collection_id: str) -> CollectionSummary:
    """Unregister a collection that no transfer still needs; finished transfers are detached."""
    row = find_collection(session, collection_id)
    summary = summarize(session, row)
    rules = list(session.scalars(select(FollowRule.name).where(FollowRule.collection_id == row.id)))
    if rules:
        raise ConfigError(
            f"collection {row.collection_id} is followed by rule(s) {', '.join(rules)}",
            hint="`aws-copy-pt follow remove NAME` first",
        )
    users = session.scalars(select(Transfer).where(Transfer.collection_id == row.id)).all()
    # A FAILED Globus transfer may still be re-listed (retry --copy-partial): it needs the mapping.
    needed = [
        t.id
        for t in users
        if t.state not in FINISHED_TRANSFER_STATES or t.state == TransferState.FAILED
    ]
    if needed:
        shown = ", ".join(str(i) for i in needed[:10])
        raise ConfigError(
            f"collection {row.collection_id} is still used by transfer(s) {shown}",
            hint="wait for them to finish, or `aws-copy-pt transfers cancel ID`",
        )
    for transfer in users:
        transfer.collection_id = None
    session.delete(row)
    return summary


def _collection_uuid(text: str) -> str:
    try:
        return parse_uuid(text, what="Globus collection id")
    except PathError as exc:
        raise UsageError(str(exc), hint="copy the collection's UUID from app.globus.org") from None


def get_collection_document(client: TransferClient, cid: str) -> dict[str, Any]:
    """Globus's document of collection ``cid``; a collection Globus does not know is named so."""
    try:
        return gateway.get_collection(client, cid)
    except GlobusCallError as exc:
        if exc.failure is Failure.NOT_FOUND:
            raise RemoteError(
                f"Globus has no collection {cid}",
                hint="check the id: it is the collection's UUID shown on app.globus.org",
            ) from None
        raise


def _is_s3(document: dict[str, Any]) -> bool | None:
    """True/False when Globus shows the storage connector; None when it is not visible."""
    connector = document.get("connector_id")
    if not connector:
        return None
    return str(connector).lower() == S3_CONNECTOR_ID
