"""Staging and destination must never overlap: the one check `watch` and follow rules share.

A copy writes every delivered object below its destination prefix and, with
``--delete-staging``, deletes staging objects once their copies are verified. When both places
are in the same bucket and one prefix contains the other (the empty prefix contains every
prefix), copies could overwrite delivered objects before they are copied, and a clean-up could
delete verified copies as if they were staging objects. Such a pair is refused (exit 2).
"""

from __future__ import annotations

from aws_copy_pt.core.errors import UsageError


def overlaps(staging: tuple[str, str], dest: tuple[str, str]) -> bool:
    """(bucket, prefix) pairs; prefixes as stored: ``""`` or ending in ``/``."""
    (staging_bucket, staging_prefix), (dest_bucket, dest_prefix) = staging, dest
    return staging_bucket == dest_bucket and (
        staging_prefix.startswith(dest_prefix) or dest_prefix.startswith(staging_prefix)
    )


def check_no_overlap(
    staging_bucket: str, staging_prefix: str, dest_bucket: str, dest_prefix: str
) -> None:
    """Raise UsageError when the destination overlaps the staging mapping root."""
    if not overlaps((staging_bucket, staging_prefix), (dest_bucket, dest_prefix)):
        return
    staging = f"s3://{staging_bucket}/{staging_prefix}"
    dest = f"s3://{dest_bucket}/{dest_prefix}"
    if staging_prefix == dest_prefix:
        how = "it is the staging location itself: every object would be copied onto itself"
    elif dest_prefix.startswith(staging_prefix):
        how = "it is inside the staging location: copies would land among delivered files"
    else:
        how = "it contains the staging location: a staging clean-up could delete copies"
    raise UsageError(
        f"the destination {dest} overlaps the staging location {staging}: {how}",
        hint="pick another bucket or prefix: one that neither contains nor is inside "
        + (f"s3://{staging_bucket}/{staging_prefix}" if staging_prefix else "the staging bucket"),
    )
