"""Staging and destination never overlap: one check, every form of overlap, the accepted forms."""

from __future__ import annotations

import pytest

from aws_copy_pt.core.overlap import OverlapError, Place, check_apart, overlaps
from aws_copy_pt.errors import ExitCode

ROOT = Place("staging", "in/")


@pytest.mark.parametrize(
    ("dest", "why"),
    [
        (Place("staging", "in/"), "it is that place itself"),
        (Place("staging", "in/sub/"), "it is inside it"),
        (Place("staging", ""), "it contains it"),
    ],
)
def test_an_overlapping_destination_is_refused_with_exit_2_and_the_accepted_forms(
    dest: Place, why: str
) -> None:
    with pytest.raises(OverlapError) as refused:
        check_apart(ROOT, dest)
    error = refused.value
    assert error.exit_code == ExitCode.USAGE
    assert f"overlaps the staging root s3://staging/in/: {why}" in error.message
    assert error.hint is not None
    assert "another bucket" in error.hint and "staging/in-copies/" in error.hint


@pytest.mark.parametrize(
    "dest",
    [Place("archive", "in/"), Place("staging", "in-copies/"), Place("staging", "out/in/")],
)
def test_a_destination_beside_the_source_is_accepted(dest: Place) -> None:
    check_apart(ROOT, dest)
    assert not overlaps(ROOT, dest)


def test_a_source_that_is_a_whole_bucket_leaves_only_other_buckets() -> None:
    whole = Place("staging", "")
    assert overlaps(whole, Place("staging", "anything/"))
    with pytest.raises(OverlapError) as refused:
        check_apart(whole, Place("staging", "copies/"), source_is="the source")
    assert "overlaps the source s3://staging/" in refused.value.message
    assert refused.value.hint is not None and "the whole of staging" in refused.value.hint


def test_prefixes_are_compared_as_folders_not_as_strings() -> None:
    assert not overlaps(Place("b", "in/"), Place("b", "inbox/"))
    assert overlaps(Place("b", "in/"), Place("b", "in/x/"))
