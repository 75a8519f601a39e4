"""A job's manifest: its rows streamed from the database into a temporary file, then uploaded
(phase PLANNED -> UPLOADED).

The manifest is derived from the rows the job holds, in source-key order, so writing it again
after a crash gives the same bytes (and, with SSE-S3, the same ETag). Memory stays flat
whatever the size: rows are read ``CHUNK`` at a time and written through to disk; a million
rows is ~100 MB of file and a few MB of memory.

Where it goes: the destination bucket, under ``.aws-copy-pt-batch/`` (see
``core.batch_engine.JobFiles``). That bucket is in the job's account and region by definition,
the job's role reads and writes there without any other account's grant, and the credential
that creates the job writes there already.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

from sqlalchemy import select

from aws_copy_pt.core.batch_manifest import manifest_lines
from aws_copy_pt.core.states import ObjectState
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import ObjectCopy
from aws_copy_pt.s3.arguments import every_request
from aws_copy_pt.s3.batch_files import Uploaded, upload_manifest
from aws_copy_pt.s3.copier import CopyRoute

CHUNK = 5000
SPOOL_BYTES = 8 * 1024 * 1024  # small manifests never touch the disk


def job_rows(
    db: Database, transfer_id: int, attempt: int, *, chunk: int = CHUNK
) -> Iterator[tuple[str, str | None]]:
    """(source key, version id) of every row the attempt holds, in key order, streamed."""
    after = ""
    while True:
        query = (
            select(ObjectCopy.source_key, ObjectCopy.source_version_id)
            .where(
                ObjectCopy.transfer_id == transfer_id,
                ObjectCopy.batch_attempt == attempt,
                ObjectCopy.state == ObjectState.COPYING.value,
                ObjectCopy.source_key > after,
            )
            .order_by(ObjectCopy.source_key)
            .limit(chunk)
        )
        with db.session() as session:
            found = [(str(key), version) for key, version in session.execute(query)]
        if not found:
            return
        yield from found
        after = found[-1][0]


def upload(
    db: Database,
    route: CopyRoute,
    *,
    transfer_id: int,
    attempt: int,
    versioned: bool,
    key: str,
) -> Uploaded:
    """Write the attempt's manifest and PUT it (SSE-S3) next to the job's reports."""
    rows = ((route.source_bucket, k, v) for k, v in job_rows(db, transfer_id, attempt))
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        for line in manifest_lines(rows, versioned=versioned):
            spool.write(line)
        spool.seek(0)
        return upload_manifest(
            route.dest_client, route.dest_bucket, key, spool, every_request(route.dest_args)
        )
