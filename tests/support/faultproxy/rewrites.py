"""Answers the fault proxy changes to play other stores and damaged bytes.

* :func:`as_gcs`: a HEAD or GET answer as GCS's XML API gives it: the hashes in ``x-goog-hash``
  (``crc32c=``, and ``md5=`` for an object uploaded whole), no ``x-amz-checksum-*``.
* :func:`without_checksums`: no ``x-amz-checksum-*`` at all (a store with no flexible checksums).
* :func:`flip_byte`: one byte of a body inverted (bit rot, a broken middlebox).
"""

from __future__ import annotations

import base64

from tests.support.faultproxy.rules import Answer, ProxyRequest, Rewrite


def without_checksums(_request: ProxyRequest, answer: Answer) -> Answer:
    headers = [(n, v) for n, v in answer.headers if not n.lower().startswith("x-amz-checksum-")]
    return Answer(answer.status, headers, answer.body)


def as_gcs(request: ProxyRequest, answer: Answer) -> Answer:
    """GCS's hashes from the store's own: its CRC32C (same encoding), and its ETag as MD5."""
    found = {n.lower(): v for n, v in answer.headers}
    hashes = []
    if "x-amz-checksum-crc32c" in found:
        hashes.append(f"crc32c={found['x-amz-checksum-crc32c']}")
    etag = found.get("etag", "").strip('"')
    if len(etag) == 32 and "-" not in etag:
        hashes.append(f"md5={base64.b64encode(bytes.fromhex(etag)).decode()}")
    plain = without_checksums(request, answer)
    if hashes:
        plain.headers.append(("x-goog-hash", ",".join(hashes)))
    return plain


def flip_byte(at: int) -> Rewrite:
    """Invert byte ``at`` of the body (of a ranged answer: counted from the range's start)."""

    def change(_request: ProxyRequest, answer: Answer) -> Answer:
        if len(answer.body) <= at:
            return answer
        body = bytearray(answer.body)
        body[at] ^= 0xFF
        return Answer(answer.status, answer.headers, bytes(body))

    return change
