"""Staging and destination never overlap (core.overlap): the check watch and follow share."""

from __future__ import annotations

import pytest

from aws_copy_pt.core.overlap import check_no_overlap, overlaps
from aws_copy_pt.errors import ExitCode, UsageError


@pytest.mark.parametrize(
    ("staging", "dest"),
    [
        (("s", "in/"), ("s", "in/")),  # the same place
        (("s", "in/"), ("s", "in/copies/")),  # inside staging
        (("s", "in/"), ("s", "")),  # the whole bucket contains staging
        (("s", ""), ("s", "archive/")),  # staging is the whole bucket
    ],
)
def test_same_bucket_with_nested_prefixes_overlaps(
    staging: tuple[str, str], dest: tuple[str, str]
) -> None:
    assert overlaps(staging, dest)
    with pytest.raises(UsageError, match="overlaps the staging location") as caught:
        check_no_overlap(*staging, *dest)
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("staging", "dest"),
    [
        (("s", "in/"), ("d", "in/")),  # another bucket
        (("s", "in/"), ("s", "out/")),  # a sibling prefix
        (("s", "in/"), ("s", "in-copies/")),  # a prefix that only starts with the same letters
    ],
)
def test_apart_places_pass(staging: tuple[str, str], dest: tuple[str, str]) -> None:
    assert not overlaps(staging, dest)
    check_no_overlap(*staging, *dest)


def test_the_message_says_why_each_overlap_is_dangerous() -> None:
    with pytest.raises(UsageError, match="onto itself"):
        check_no_overlap("s", "in/", "s", "in/")
    with pytest.raises(UsageError, match="inside the staging"):
        check_no_overlap("s", "in/", "s", "in/x/")
    with pytest.raises(UsageError, match="clean-up could delete"):
        check_no_overlap("s", "in/", "s", "")
