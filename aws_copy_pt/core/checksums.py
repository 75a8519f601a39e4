"""What an object's bytes must hash to, where that comes from, and how a proof is named.

A streamed copy takes the source's own checksum where the source has one and computes the same
algorithm over the bytes it streams:

* an S3 full-object flexible checksum (``x-amz-checksum-*`` with ``ChecksumMode=ENABLED``);
* GCS's ``x-goog-hash: crc32c=…,md5=…`` (no MD5 for composite objects);
* a single-part ETag, which is the MD5 of the content (not under SSE-KMS / SSE-C);
* an MD5 the uploader declared in user metadata (``md5sum``, rclone's ``md5chksum``; hex or
  base64), honoured on every route: bytes that disagree with it fail.

Each verified object records the check that proved it (:func:`proof`): ``crc32c from source``,
``md5 from ETag``, ``size only``... CRCs of parts combine into the CRC of the whole
(:func:`crc_combine`, zlib's method for any reflected CRC), so parts can be hashed in parallel
and a resumed upload needs only the CRCs stored for the parts it already has.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

# Reflected polynomials of the CRCs S3 computes over whole objects.
CRC_POLYS: dict[str, tuple[int, int]] = {  # algorithm -> (polynomial, width in bits)
    "CRC32": (0xEDB88320, 32),
    "CRC32C": (0x82F63B78, 32),
    "CRC64NVME": (0x9A6C9329AC4BC9B5, 64),
}
SEQUENTIAL = frozenset({"MD5", "SHA1", "SHA256"})  # cannot be combined from parts
DECLARED_MD5_KEYS = ("md5sum", "md5chksum", "md5", "content-md5")
SIZE_ONLY = "size only"

_HEX_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


class Origin(StrEnum):
    SOURCE = "source"  # the source's x-amz-checksum-*
    GOOG = "x-goog-hash"
    ETAG = "ETag"
    METADATA = "metadata"  # declared by the uploader


@dataclass(frozen=True)
class Expected:
    """What the streamed bytes must hash to. ``value``: base64 for CRCs and SHAs, hex for MD5."""

    algorithm: str
    value: str
    origin: Origin

    @property
    def label(self) -> str:
        return f"{self.algorithm.lower()} from {self.origin.value}"


@dataclass(frozen=True)
class SourceHashes:
    """Every content hash a source offers (from its HEAD)."""

    flexible: tuple[str, str] | None = None  # (algorithm, base64) full-object, not composite
    etag_md5: str | None = None  # hex: a single-part ETag of an unencrypted object
    goog: Mapping[str, str] | None = None  # x-goog-hash: {"crc32c": b64, "md5": b64}
    declared_md5: str | None = None  # hex, from user metadata


def source_check(hashes: SourceHashes) -> Expected | None:
    """The cheapest strong check the source offers (CRCs before MD5); None: size only."""
    goog = hashes.goog or {}
    flexible = hashes.flexible
    if flexible is not None and flexible[0] in CRC_POLYS:
        return Expected(flexible[0], flexible[1], Origin.SOURCE)
    if "crc32c" in goog:
        return Expected("CRC32C", goog["crc32c"], Origin.GOOG)
    if hashes.etag_md5 is not None:
        return Expected("MD5", hashes.etag_md5, Origin.ETAG)
    if "md5" in goog:
        md5 = b64_to_hex(goog["md5"])
        if md5 is not None:
            return Expected("MD5", md5, Origin.GOOG)
    if flexible is not None:
        return Expected(flexible[0], flexible[1], Origin.SOURCE)
    return None


def parse_goog_hash(header: str | None) -> dict[str, str]:
    """``crc32c=n03x6A==,md5=Ojk9…`` (one header or several joined by commas) -> a dict."""
    found: dict[str, str] = {}
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        if name and value:
            found[name.lower()] = value.strip()
    return found


def declared_md5(metadata: Mapping[str, str]) -> str | None:
    """The MD5 an uploader stored in user metadata, as hex; None when there is none.

    A value that is neither 32 hex digits nor base64 of 16 bytes is no declaration."""
    lowered = {name.lower(): value for name, value in metadata.items()}
    for key in DECLARED_MD5_KEYS:
        value = (lowered.get(key) or "").strip()
        if _HEX_MD5.match(value):
            return value.lower()
        as_hex = b64_to_hex(value)
        if as_hex is not None:
            return as_hex
    return None


def b64_to_hex(value: str) -> str | None:
    """Base64 of a 16-byte digest -> hex; None when it is not that."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


def crc_to_b64(algorithm: str, crc: int) -> str:
    """A CRC as S3 writes it: big-endian bytes, base64."""
    width = CRC_POLYS[algorithm][1] // 8
    return base64.b64encode(crc.to_bytes(width, "big")).decode()


def crc_from_b64(value: str) -> int:
    return int.from_bytes(base64.b64decode(value), "big")


def crc_combine(algorithm: str, first: int, second: int, second_length: int) -> int:
    """The CRC of A+B from CRC(A), CRC(B) and len(B) (zlib's ``crc32_combine``, any width)."""
    poly, width = CRC_POLYS[algorithm]
    top = 1 << (width - 1)
    return _multmodp(_x2nmodp(second_length, 3, poly, top), first, poly, top) ^ second


def _multmodp(a: int, b: int, poly: int, top: int) -> int:
    """a * b modulo the polynomial (reflected bit order)."""
    m, product = top, 0
    while True:
        if a & m:
            product ^= b
            if not a & (m - 1):
                return product
        m >>= 1
        b = (b >> 1) ^ poly if b & 1 else b >> 1


def _x2nmodp(n: int, k: int, poly: int, top: int) -> int:
    """x^(n * 2^k) modulo the polynomial."""
    power = top >> 1  # x^1
    squares = [power]
    for _ in range(63):
        power = _multmodp(power, power, poly, top)
        squares.append(power)
    product = top  # x^0
    while n:
        if n & 1:
            product = _multmodp(squares[k & 63], product, poly, top)
        n >>= 1
        k += 1
    return product


@dataclass(frozen=True)
class DeclaredCheck:
    """How an uploader's declared MD5 fared."""

    matched: bool | None  # None: nothing comparable was available (not checked)

    @property
    def note(self) -> str:
        return {
            True: "declared md5 matched",
            False: "declared md5 differs",
            None: "declared md5 not checked",
        }[self.matched]


def proof(primary: str | None, declared: DeclaredCheck | None = None) -> str:
    """The record of what proved a verified object: ``crc32c from source``, ``md5 from ETag;
    declared md5 matched``, ``size only; declared md5 not checked``..."""
    text = primary or SIZE_ONLY
    if declared is not None:
        text += f"; {declared.note}"
    return text


def check_declared_against_etag(declared: str, etag_md5: str | None) -> DeclaredCheck:
    """Server-side copies: the bytes never pass through us, so a declared MD5 is compared with
    the source's ETag where that is an MD5; otherwise it is not checked (and said so)."""
    if etag_md5 is None:
        return DeclaredCheck(None)
    return DeclaredCheck(declared.lower() == etag_md5.lower())
