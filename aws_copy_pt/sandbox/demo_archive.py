"""The demo's second provider (``demo --cross-provider``): the archive bucket on ``rclone serve
s3``, registered with that store's own keys and endpoint, so the transfer's route is ``stream``
and every object is read from staging, hashed and written to the archive."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aws_copy_pt.s3.clients import ClientFactory
    from aws_copy_pt.sandbox.s3server import RcloneS3Server

CREDENTIAL = "archive"


def make_archive_bucket(archive: RcloneS3Server, bucket: str) -> str:
    """Create ``bucket`` on the second provider; what the demo says about it."""
    archive.client().create_bucket(Bucket=bucket)
    return f"{bucket} lives on another provider ({archive.endpoint_url})"


def register_archive(
    session: Session,
    archive: RcloneS3Server,
    bucket: str,
    factory: ClientFactory,
    say: Callable[[str], None],
) -> tuple[str, str | None, str, str]:
    """Register the second provider's keys; the archive bucket's (name, expected owner,
    credential, endpoint) for the demo to register."""
    from aws_copy_pt.services.setup.credentials import NewCredential, add_credential

    keys = archive.account
    add_credential(
        session,
        NewCredential(
            name=CREDENTIAL,
            access_key_id=keys.access_key_id,
            secret_access_key=keys.secret_access_key,
        ),
        verify_with=factory,
    )
    say(f"Registered the archive provider's keys as credential {CREDENTIAL!r}.")
    return bucket, None, CREDENTIAL, archive.endpoint_url
