"""What a streamed object must hash to (core.checksums) and the hashing of streamed bytes
(s3.digests): CRCs of parts combine into the whole's, whatever their order of arrival."""

from __future__ import annotations

import base64
import hashlib
import threading
import zlib
from functools import partial

import pytest
from awscrt import checksums

from aws_copy_pt.core.checksums import (
    Origin,
    SourceHashes,
    check_declared_against_etag,
    crc_combine,
    crc_from_b64,
    crc_to_b64,
    declared_md5,
    parse_goog_hash,
    proof,
    source_check,
)
from aws_copy_pt.s3.digests import InOrder, WholeCrc, crc_of
from aws_copy_pt.services.copy.parts import ByteBudget

DATA = bytes(range(256)) * 4099  # not a multiple of any part size used below
REFERENCE = {
    "CRC32": zlib.crc32,
    "CRC32C": checksums.crc32c,
    "CRC64NVME": checksums.crc64nvme,
}


@pytest.mark.parametrize("algorithm", sorted(REFERENCE))
def test_crcs_of_two_pieces_combine_into_the_crc_of_both(algorithm: str) -> None:
    first, second = DATA[:7777], DATA[7777:]

    combined = crc_combine(
        algorithm, crc_of(algorithm, first), crc_of(algorithm, second), len(second)
    )

    assert combined == REFERENCE[algorithm](DATA)


@pytest.mark.parametrize("algorithm", sorted(REFERENCE))
def test_a_whole_crc_is_the_same_whatever_order_the_parts_arrive_in(algorithm: str) -> None:
    size = 100_000
    pieces = [(n + 1, DATA[i : i + size]) for n, i in enumerate(range(0, len(DATA), size))]
    whole = WholeCrc(algorithm)

    for number, piece in reversed(pieces):
        whole.add(number, crc_of(algorithm, piece), len(piece))

    assert whole.value() == REFERENCE[algorithm](DATA)


def test_a_crc_round_trips_through_s3s_base64() -> None:
    value = crc_to_b64("CRC32C", checksums.crc32c(b"abc"))

    assert value == base64.b64encode(checksums.crc32c(b"abc").to_bytes(4, "big")).decode()
    assert crc_from_b64(value) == checksums.crc32c(b"abc")


def test_ordered_digests_see_parts_in_order_whatever_order_they_are_fed() -> None:
    ordered = InOrder({"MD5"})
    done: list[int] = []
    pieces = [DATA[i : i + 300_000] for i in range(0, len(DATA), 300_000)]

    for number in reversed(range(1, len(pieces) + 1)):
        ordered.feed(number, bytearray(pieces[number - 1]), partial(done.append, number))

    assert ordered.values() == {"MD5": hashlib.md5(DATA).hexdigest()}
    assert sorted(done) == list(range(1, len(pieces) + 1))


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"md5sum": "9E107D9D372BB6826BD81D3542A419D6"}, "9e107d9d372bb6826bd81d3542a419d6"),
        ({"Md5chksum": "nhB9nTcrtoJr2B01QqQZ1g=="}, "9e107d9d372bb6826bd81d3542a419d6"),
        ({"md5sum": "not a digest"}, None),
        ({"md5chksum": base64.b64encode(b"short").decode()}, None),
        ({"lab": "cryo"}, None),
    ],
    ids=["hex", "rclone-base64", "garbage", "wrong-length", "none"],
)
def test_a_declared_md5_is_read_in_hex_or_base64_and_garbage_is_no_declaration(
    metadata: dict[str, str], expected: str | None
) -> None:
    assert declared_md5(metadata) == expected


def test_the_source_check_prefers_a_crc_then_the_etag_md5_then_gcs_md5() -> None:
    goog = parse_goog_hash("crc32c=n03x6A==, md5=nhB9nTcrtoJr2B01QqQZ1g==")
    md5 = "9e107d9d372bb6826bd81d3542a419d6"

    with_flexible = source_check(SourceHashes(("CRC64NVME", "AAAA"), md5, goog))
    with_goog = source_check(SourceHashes(None, md5, goog))
    with_etag = source_check(SourceHashes(None, md5, {}))
    goog_md5 = source_check(SourceHashes(None, None, {"md5": goog["md5"]}))

    assert with_flexible is not None and with_flexible.label == "crc64nvme from source"
    assert with_goog is not None and (with_goog.origin, with_goog.value) == (
        Origin.GOOG,
        "n03x6A==",
    )
    assert with_etag is not None and with_etag.label == "md5 from ETag"
    assert goog_md5 is not None and goog_md5.value == md5
    assert source_check(SourceHashes()) is None


def test_a_proof_names_the_check_and_how_a_declared_md5_fared() -> None:
    assert proof(None) == "size only"
    assert proof("md5 from ETag", check_declared_against_etag("AB" * 16, "ab" * 16)) == (
        "md5 from ETag; declared md5 matched"
    )
    assert proof(None, check_declared_against_etag("ab" * 16, None)) == (
        "size only; declared md5 not checked"
    )
    assert not check_declared_against_etag("ab" * 16, "cd" * 16).matched


def test_the_byte_budget_waits_for_room_and_lets_one_oversized_request_go_alone() -> None:
    budget = ByteBudget(100)
    assert budget.take(60)
    stop = threading.Event()
    stop.set()

    assert not budget.take(60, stop)  # no room, and asked to stop: gives up
    budget.give(60)
    assert budget.take(250)  # alone: larger than the whole budget, but nothing else is held
    assert budget.peak == 250


def test_the_byte_budget_lends_back_a_returned_buffer_of_the_same_size() -> None:
    budget = ByteBudget(100)
    budget.take(40)
    first = budget.lend(40)
    budget.recycle(first)
    budget.give(40)

    budget.take(40)
    assert budget.lend(40) is first  # reused: not allocated (and faulted in) again


def test_buffers_held_and_kept_for_reuse_never_exceed_the_budget() -> None:
    budget = ByteBudget(100)
    for size in (30, 30, 30):  # three of one size, returned
        budget.take(size)
    lent = [budget.lend(30) for _ in range(3)]
    for buffer in lent:
        budget.recycle(buffer)
        budget.give(30)

    budget.take(70)
    other = budget.lend(70)  # another size: free buffers are let go to make room

    assert len(other) == 70
    assert budget.kept + budget.held <= budget.limit


def test_a_buffer_larger_than_the_whole_budget_is_not_kept() -> None:
    budget = ByteBudget(100)
    budget.take(250)
    budget.recycle(budget.lend(250))
    budget.give(250)

    assert budget.kept == 0


def test_an_abandoned_ordered_digest_lets_go_of_the_parts_waiting_for_an_earlier_one() -> None:
    """A multipart copy whose part 1 failed: parts 2 and 3 were read and wait to be hashed in
    order. Abandoned, their ``done`` runs (their bytes go back to the byte budget) instead of
    staying taken for the rest of the run."""
    ordered = InOrder({"MD5"})
    done: list[int] = []
    ordered.feed(2, bytearray(b"b"), partial(done.append, 2))
    ordered.feed(3, bytearray(b"c"), partial(done.append, 3))
    assert done == []

    ordered.abandon()

    assert sorted(done) == [2, 3]
    ordered.feed(4, bytearray(b"d"), partial(done.append, 4))  # late arrivals: let go at once
    assert sorted(done) == [2, 3, 4]
