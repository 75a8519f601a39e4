"""Checks of a streamed copy: what its bytes must hash to, and what the store must answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_copy_pt.core.checksums import CRC_POLYS, DeclaredCheck, Expected, Origin, proof
from aws_copy_pt.errors import RemoteError
from aws_copy_pt.s3.streaming import Written

if TYPE_CHECKING:
    from aws_copy_pt.services.copy.stream import StreamSpec
    from aws_copy_pt.services.copy.worker import ObjectTask


@dataclass(frozen=True)
class Hashing:
    """What to compute over an object's bytes, and what the results must be."""

    source_check: Expected | None  # the source's own hash; None: size only
    declared: str | None  # an MD5 (hex) its uploader declared in user metadata
    dest_algorithm: str | None  # the CRC a store with flexible checksums is given

    @property
    def checks(self) -> list[Expected]:
        found = [self.source_check] if self.source_check is not None else []
        if self.declared is not None:
            found.append(Expected("MD5", self.declared, Origin.METADATA))
        return found

    @property
    def crcs(self) -> set[str]:
        """CRCs computed per part (in parallel) and combined."""
        found = {c.algorithm for c in self.checks if c.algorithm in CRC_POLYS}
        return found | ({self.dest_algorithm} if self.dest_algorithm else set())

    @property
    def sequential(self) -> set[str]:
        """Digests computed over the whole object in order (MD5, SHA)."""
        return {c.algorithm for c in self.checks if c.algorithm not in CRC_POLYS}

    def proof(self) -> str:
        checks = self.checks
        primary = checks[0].label if checks else None
        declared = DeclaredCheck(True) if self.declared and self.source_check else None
        return proof(primary, declared)


@dataclass(frozen=True)
class Streamed:
    written: Written
    proof: str


def check_streamed(
    stream: StreamSpec, task: ObjectTask, hashing: Hashing, computed: dict[str, str]
) -> None:
    """The streamed bytes must hash to what the source (and its uploader) said."""
    for expected in hashing.checks:
        got = computed.get(expected.algorithm)
        if got is not None and got.lower() != expected.value.lower():
            raise RemoteError(
                f"verification failed: the bytes read from s3://{stream.source.bucket}/"
                f"{task.source_key} hash to {expected.algorithm.lower()} {got}, but "
                f"{_said(expected)} {expected.value}; nothing was written",
                hint="read the source again with `aws-copy-pt transfers retry ID`; if it fails "
                "again, the stored object disagrees with its own checksum",
            )


def _said(expected: Expected) -> str:
    return {
        Origin.SOURCE: "the source's checksum is",
        Origin.GOOG: "the source's x-goog-hash says",
        Origin.ETAG: "the source's ETag (an MD5) is",
        Origin.METADATA: "the MD5 its uploader declared in its metadata is",
    }[expected.origin]


def check_written(
    stream: StreamSpec,
    task: ObjectTask,
    etag: str | None,
    expected_etag: str | None,
    checksums: dict[str, str],
    sent: tuple[str, str] | None,
) -> None:
    """The destination's answer must show what was sent: its ETag (an MD5, or the MD5 of the
    part MD5s) and, where it computed one, its checksum."""
    where = f"s3://{stream.dest.bucket}/{task.dest_key}"
    if expected_etag is not None and etag is not None and not _etag_agrees(etag, expected_etag):
        raise RemoteError(
            f"verification failed: {where} answered ETag {etag}, but the bytes sent have "
            f"{expected_etag}; the source is kept"
        )
    if sent is not None and checksums.get(sent[0]) not in (None, sent[1]):
        raise RemoteError(
            f"verification failed: {where} has {sent[0].lower()} {checksums[sent[0]]}, but "
            f"the bytes sent have {sent[1]}; the source is kept"
        )


def _etag_agrees(etag: str, expected: str) -> bool:
    """A store that is no MD5-ETag store (SSE-KMS, some gateways) is not held to it."""
    return etag == expected or not _md5_shaped(etag)


def _md5_shaped(etag: str) -> bool:
    head, _, count = etag.partition("-")
    return (
        len(head) == 32
        and all(c in "0123456789abcdef" for c in head)
        and (not count or count.isdigit())
    )
