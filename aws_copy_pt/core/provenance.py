"""A copy's record of what it was copied from, kept in its user metadata.

Some copies cannot be proven identical to their source later from what S3 shows of both: a
source with a multipart ETag and no full-object checksum (what Globus often delivers), an
SSE-KMS object, a copy into an SSE-KMS bucket. Such a copy carries :class:`Provenance` (source
ETag, size, checksum if any) in its user metadata. Since every copy is pinned to its source's
ETag (``CopySourceIfMatch``), a destination object whose record names the source as it is now
holds the source's bytes: a rerun skips it instead of refusing it (``--on-conflict fail``) or
copying it again (``overwrite``).

Metadata names are lower-case (S3 stores them so; some stores capitalise them on the way back,
so they are read without case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_copy_pt.core.copy_plan import Checksum, ObjectFacts

PROVENANCE_ETAG_KEY = "aws-copy-pt-source-etag"
PROVENANCE_SIZE_KEY = "aws-copy-pt-source-size"
PROVENANCE_CHECKSUM_KEY = "aws-copy-pt-source-checksum"
PROVENANCE_URL_KEY = "aws-copy-pt-source-url"  # streamed copies: the source is another store


@dataclass(frozen=True)
class Provenance:
    """What a copy was made from, recorded in its user metadata when it was made."""

    etag: str
    size: int
    checksum: str | None = None  # "crc64nvme:BASE64"

    def names(self, source: ObjectFacts) -> bool:
        """Whether ``source`` (as it is now) is what this copy was made from."""
        if source.etag != self.etag or source.size != self.size:
            return False
        now = checksum_text(source.checksum)
        return self.checksum is None or now is None or now == self.checksum


def provenance_metadata(source: ObjectFacts, *, url: str | None = None) -> dict[str, str]:
    """The user metadata recording that a copy is of ``source`` (its ETag and size; ``url``:
    where it was, for a copy streamed from another store)."""
    if source.etag is None or source.size is None:
        return {}
    record = {PROVENANCE_ETAG_KEY: source.etag, PROVENANCE_SIZE_KEY: str(source.size)}
    if url is not None:
        record[PROVENANCE_URL_KEY] = url
    checksum = checksum_text(source.checksum)
    if checksum is not None:
        record[PROVENANCE_CHECKSUM_KEY] = checksum
    return record


def provenance_in(metadata: Mapping[str, str]) -> Provenance | None:
    """The record in a HEAD's user metadata, or None."""
    found = {name.lower(): value for name, value in metadata.items()}
    etag, size = found.get(PROVENANCE_ETAG_KEY), found.get(PROVENANCE_SIZE_KEY, "")
    if not etag or not size.isdigit():
        return None
    return Provenance(etag, int(size), found.get(PROVENANCE_CHECKSUM_KEY))


def needs_provenance(source: ObjectFacts, *, dest_encrypted: bool) -> bool:
    """Whether a single CopyObject of ``source`` must carry its record: when neither its ETag
    (an MD5 that the copy repeats) nor a full-object checksum (which the copy computes again)
    could prove the copy identical later. Multipart copies always carry it: their metadata
    is set explicitly anyway, so it costs nothing there."""
    if source.checksum is not None and not source.checksum.is_composite:
        return False
    plain_md5 = source.etag_looks_like_md5 and source.kms_or_sse_c is not True
    return not (plain_md5 and not dest_encrypted)


def checksum_text(checksum: Checksum | None) -> str | None:
    return None if checksum is None else f"{checksum.algorithm.lower()}:{checksum.value}"
