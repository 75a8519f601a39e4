"""Copy planning: part sizes, single vs multipart, conflicts, verification, keys."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from aws_copy_pt.core.copy_plan import (
    DEFAULT_MULTIPART_THRESHOLD,
    MAX_OBJECT_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    TB,
    Action,
    Checksum,
    ConflictPolicy,
    CopyMethod,
    Destination,
    GiB,
    Match,
    MiB,
    ObjectFacts,
    TiB,
    VerifyMethod,
    annotation,
    choose_method,
    common_prefix,
    compare_content,
    conflict_action,
    copy_checksum_algorithm,
    destination_key,
    judge_destination,
    list_start_after,
    multipart_threshold_problem,
    normalize_etag,
    normalize_prefix,
    outcome_state,
    parse_size,
    part_size_for,
    parts,
    plan_copy,
    relative_key,
    size_problem,
)

MD5_A = "0cc175b9c0f1b6a831c399e269772661"
MD5_B = "92eb5ffee6ae2fec3ad71c777531578f"


@pytest.mark.parametrize(
    "size",
    [
        *(0, 1, 5 * MiB, 256 * MiB + 1, GiB, 10 * GiB, 48_828 * MiB),
        *(TiB, 5 * TiB, 6 * TiB, 20 * TB, 50 * TB - 1, 50 * TB),
    ],
)
def test_part_sizes_stay_within_s3_limits_for_every_size(size: int) -> None:
    part_size = part_size_for(size)
    assert MIN_PART_SIZE <= part_size <= MAX_PART_SIZE
    assert part_size % MiB == 0
    assert len(list(parts(size, part_size))) <= MAX_PARTS


def test_the_largest_object_s3_stores_fits_in_its_largest_parts() -> None:
    assert MAX_OBJECT_SIZE == 50 * 10**12
    assert MAX_PARTS * MAX_PART_SIZE >= MAX_OBJECT_SIZE


def test_a_fifty_tb_object_is_copied_in_5_gib_parts() -> None:
    assert part_size_for(50 * TB) == MAX_PART_SIZE
    assert len(list(parts(50 * TB, MAX_PART_SIZE))) == 9314


def test_a_small_preferred_part_size_is_raised_until_fifty_tb_fit_in_10000_parts() -> None:
    part_size = part_size_for(50 * TB, preferred=8 * MiB)
    assert part_size == 4769 * MiB  # the smallest whole MiB that needs no more than 10,000 parts
    assert len(list(parts(50 * TB, part_size))) == 9999


def test_a_five_tib_object_is_copied_in_the_largest_parts_s3_allows() -> None:
    assert part_size_for(5 * TiB) == MAX_PART_SIZE
    assert len(list(parts(5 * TiB, MAX_PART_SIZE))) == 1024


def test_one_gib_is_copied_in_a_few_large_parts_that_run_in_parallel() -> None:
    part_size = part_size_for(GiB)
    assert part_size == 128 * MiB
    assert len(list(parts(GiB, part_size))) == 8


def test_a_preferred_part_size_is_raised_when_it_would_need_too_many_parts() -> None:
    assert part_size_for(5 * MiB * 20_000, preferred=5 * MiB) == 10 * MiB
    assert part_size_for(20 * MiB, preferred=1) == MIN_PART_SIZE


def test_parts_cover_every_byte_exactly_once() -> None:
    size = 11 * MiB + 3
    ranges = list(parts(size, 5 * MiB))
    assert [p.number for p in ranges] == [1, 2, 3]
    assert ranges[0].byte_range == f"bytes=0-{5 * MiB - 1}"
    assert ranges[-1].last == size - 1
    assert sum(p.size for p in ranges) == size
    assert all(a.last + 1 == b.first for a, b in itertools.pairwise(ranges))


def test_an_empty_object_is_one_empty_part() -> None:
    (only,) = parts(0, 5 * MiB)
    assert only.number == 1


def test_too_many_parts_is_refused() -> None:
    with pytest.raises(ValueError, match="10000"):
        list(parts(MAX_PARTS * MIN_PART_SIZE + 1, MIN_PART_SIZE))


def test_single_copy_up_to_the_threshold_and_never_above_5_gib() -> None:
    assert choose_method(DEFAULT_MULTIPART_THRESHOLD) is CopyMethod.SINGLE
    assert choose_method(DEFAULT_MULTIPART_THRESHOLD + 1) is CopyMethod.MULTIPART
    assert choose_method(5 * GiB, threshold=10 * GiB) is CopyMethod.SINGLE
    assert choose_method(5 * GiB + 1, threshold=10 * GiB) is CopyMethod.MULTIPART


def test_objects_over_50_tb_cannot_be_copied() -> None:
    assert size_problem(50 * TB) is None
    assert size_problem(6 * TiB) is None
    assert size_problem(0) is None
    assert size_problem(50 * TB + 1) == "it is 50.0 TB and S3 objects cannot exceed 50 TB"
    assert size_problem(60 * TB) == "it is 60.0 TB and S3 objects cannot exceed 50 TB"
    assert size_problem(None) == "its size is unknown"
    assert "impossible" in (size_problem(-1) or "")


def test_multipart_plan_asks_for_the_sources_full_object_checksum() -> None:
    source = ObjectFacts(GiB, "abc-8", Checksum("CRC32C", "AAAAAA=="))
    plan = plan_copy(source)
    assert plan.method is CopyMethod.MULTIPART
    assert plan.checksum_algorithm == "CRC32C"
    assert plan.part_size == 128 * MiB


def test_multipart_falls_back_to_crc64nvme_when_the_source_checksum_is_not_comparable() -> None:
    composite = ObjectFacts(GiB, "abc-8", Checksum("CRC32", "AAAAAA==-8"))
    assert copy_checksum_algorithm(composite, CopyMethod.MULTIPART) == "CRC64NVME"
    sha = ObjectFacts(GiB, "abc-8", Checksum("SHA256", "x="))
    assert copy_checksum_algorithm(sha, CopyMethod.MULTIPART) == "CRC64NVME"
    assert copy_checksum_algorithm(sha, CopyMethod.SINGLE) == "SHA256"


def test_single_copy_uses_the_algorithm_a_listing_names() -> None:
    listed = ObjectFacts(10, MD5_A, algorithms=("CRC32",))
    assert copy_checksum_algorithm(listed, CopyMethod.SINGLE) == "CRC32"
    assert copy_checksum_algorithm(ObjectFacts(10, MD5_A), CopyMethod.SINGLE) == "CRC64NVME"


def test_equal_checksums_verify_the_content() -> None:
    a = ObjectFacts(10, MD5_A, Checksum("CRC32", "x=="))
    b = ObjectFacts(10, "different-etag", Checksum("CRC32", "x=="))
    assert compare_content(a, b) == (Match.MATCH, VerifyMethod.CHECKSUM)


def test_different_checksums_are_a_mismatch() -> None:
    a = ObjectFacts(10, MD5_A, Checksum("CRC32", "x=="))
    b = ObjectFacts(10, MD5_A, Checksum("CRC32", "y=="))
    assert compare_content(a, b) == (Match.MISMATCH, VerifyMethod.CHECKSUM)


def test_etags_verify_single_part_copies_on_stores_without_checksums() -> None:
    source = ObjectFacts(10, MD5_A)
    assert compare_content(source, ObjectFacts(None, MD5_A)) == (Match.MATCH, VerifyMethod.ETAG)


def test_different_md5_etags_are_only_suspect_while_kms_is_possible() -> None:
    listed = ObjectFacts(10, MD5_A)  # a listing does not say how it is encrypted
    copied = ObjectFacts(None, MD5_B, kms_or_sse_c=False)
    assert compare_content(listed, copied)[0] is Match.SUSPECT
    headed = ObjectFacts(10, MD5_A, kms_or_sse_c=False)
    assert compare_content(headed, copied)[0] is Match.MISMATCH


def test_sizes_that_differ_are_a_mismatch_whatever_else() -> None:
    assert compare_content(ObjectFacts(10, MD5_A), ObjectFacts(11, MD5_A))[0] is Match.MISMATCH


def test_multipart_etags_and_composite_checksums_prove_nothing() -> None:
    a = ObjectFacts(10, "abc-2", Checksum("CRC32", "x==-2"))
    b = ObjectFacts(10, "def-3", Checksum("CRC32", "y==-3"))
    assert compare_content(a, b) == (Match.UNKNOWN, VerifyMethod.SIZE)


def test_identical_destination_is_skipped_and_a_different_one_follows_the_policy() -> None:
    source = ObjectFacts(10, MD5_A)
    assert judge_destination(source, None) is Destination.ABSENT
    assert judge_destination(source, ObjectFacts(10, MD5_A)) is Destination.IDENTICAL
    assert judge_destination(source, ObjectFacts(12, MD5_B)) is Destination.DIFFERENT
    assert conflict_action(Destination.IDENTICAL, ConflictPolicy.FAIL) is Action.SKIP
    assert conflict_action(Destination.DIFFERENT, ConflictPolicy.OVERWRITE) is Action.COPY
    assert conflict_action(Destination.DIFFERENT, ConflictPolicy.FAIL) is Action.FAIL
    assert conflict_action(Destination.ABSENT, ConflictPolicy.FAIL) is Action.COPY


def test_same_size_with_nothing_comparable_is_inspected_before_deciding() -> None:
    source = ObjectFacts(10, MD5_A)
    found = judge_destination(source, ObjectFacts(10, MD5_B))
    assert found is Destination.UNSURE
    assert conflict_action(found, ConflictPolicy.FAIL) is Action.INSPECT
    assert conflict_action(found, ConflictPolicy.FAIL, inspected=True) is Action.FAIL
    assert conflict_action(found, ConflictPolicy.OVERWRITE, inspected=True) is Action.COPY


def test_the_same_multipart_etag_is_the_same_object() -> None:
    source = ObjectFacts(10, "abc-3")
    assert judge_destination(source, ObjectFacts(10, "abc-3")) is Destination.IDENTICAL


def test_annotation_records_the_source_checksum_and_the_globus_task() -> None:
    with_checksum = ObjectFacts(10, MD5_A, Checksum("CRC64NVME", "AAAAAAAAAAA="))
    assert annotation(with_checksum, "task-1") == {
        "source-checksum": "crc64nvme:AAAAAAAAAAA=",
        "globus-task-id": "task-1",
    }
    assert annotation(ObjectFacts(10, MD5_A), None) == {"source-etag": MD5_A}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [('"abc"', "abc"), ("&quot;abc&quot;", "abc"), ("&#34;abc&#34;", "abc"), ("abc", "abc")],
)
def test_etags_are_compared_without_quotes(raw: str, clean: str) -> None:
    assert normalize_etag(raw) == clean
    assert normalize_etag(None) is None


def test_prefixes_are_folders() -> None:
    assert normalize_prefix("") == ""
    assert normalize_prefix("/") == ""
    assert normalize_prefix("a/b") == "a/b/"
    assert normalize_prefix("/a/b/") == "a/b/"


def test_destination_keys_keep_the_path_below_the_source_prefix() -> None:
    assert destination_key("archive", relative_key("run1", "run1/x/y.dat")) == "archive/x/y.dat"
    assert destination_key("", relative_key("", "a b/ü+%#.dat")) == "a b/ü+%#.dat"
    assert relative_key("run1", "run10/z") == "run10/z"


def test_listing_ranges_include_their_first_key() -> None:
    assert list_start_after("run1/a") < "run1/a"
    assert common_prefix(["run1/a/1", "run1/a/2", "run1/b"]) == "run1/"
    assert common_prefix([]) == ""


def test_a_run_leaves_its_transfer_done_partial_failed_or_still_copying() -> None:
    def after(**counts: int | bool) -> str | None:
        args: dict[str, Any] = {
            "verified": 0,
            "skipped": 0,
            "failed": 0,
            "remaining": 0,
            "ended_early": False,
        }
        state = outcome_state(**{**args, **counts})
        return None if state is None else state.value

    assert after(verified=3, skipped=2) == "DONE"
    assert after() == "DONE"  # nothing to copy
    assert after(verified=3, failed=1) == "PARTIAL"
    assert after(failed=4) == "FAILED"
    assert after(verified=3, remaining=2) is None  # stopped on request: still COPYING
    assert after(failed=8, remaining=92, ended_early=True) == "FAILED"
    assert after(verified=5, failed=8, remaining=10, ended_early=True) == "PARTIAL"
    assert after(verified=3, skipped=2, owed=1) == "PARTIAL"  # a staging delete failed


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("256MiB", 256 * MiB),
        ("256M", 256 * MiB),
        ("64mb", 64 * MiB),
        ("1.5GiB", 3 * GiB // 2),
        ("5242880", 5 * MiB),
        ("5 MiB", 5 * MiB),
    ],
)
def test_sizes_are_read_in_binary_units_like_the_aws_cli(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "5iB", "-5M", "MiB", "5X"])
def test_what_is_no_size_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


def test_a_multipart_threshold_lies_between_the_smallest_part_and_the_largest_copy() -> None:
    assert multipart_threshold_problem(5 * MiB) is None
    assert multipart_threshold_problem(5 * GiB) is None
    assert multipart_threshold_problem(5 * MiB - 1) is not None
    assert multipart_threshold_problem(5 * GiB + 1) is not None
