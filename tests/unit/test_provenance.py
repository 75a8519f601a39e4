"""A copy's record of its source: written where nothing else could prove the copy identical,
read back (whatever the case of the names), and trusted only for the source as it is now."""

from __future__ import annotations

from aws_copy_pt.core.copy_plan import Checksum, Destination, ObjectFacts, judge_destination
from aws_copy_pt.core.provenance import (
    Provenance,
    needs_provenance,
    provenance_in,
    provenance_metadata,
)

MULTIPART = "16cafe8d6b8c1c55c3d339c8d69326c6-2"
MD5 = "d28e3829a0d0936fa451c3e19c3be7c2"
SOURCE = ObjectFacts(5242980, MULTIPART)


def test_a_multipart_source_without_checksum_gets_a_record_a_plain_md5_source_does_not() -> None:
    assert needs_provenance(SOURCE, dest_encrypted=False)
    assert not needs_provenance(ObjectFacts(10, MD5), dest_encrypted=False)
    assert needs_provenance(ObjectFacts(10, MD5), dest_encrypted=True)  # SSE-KMS: no MD5 ETag
    assert needs_provenance(ObjectFacts(10, MD5, kms_or_sse_c=True), dest_encrypted=False)
    full = ObjectFacts(10, MULTIPART, Checksum("CRC64NVME", "AAAAAAAAAAA="))
    assert not needs_provenance(full, dest_encrypted=False)
    composite = ObjectFacts(10, MULTIPART, Checksum("CRC32", "AAAAAA==-2"))
    assert needs_provenance(composite, dest_encrypted=False)


def test_the_record_is_read_back_whatever_the_case_of_its_names() -> None:
    record = provenance_metadata(SOURCE)
    assert record == {"aws-copy-pt-source-etag": MULTIPART, "aws-copy-pt-source-size": "5242980"}
    shouted = {name.title(): value for name, value in record.items()}  # rclone capitalises
    assert provenance_in(shouted) == Provenance(MULTIPART, 5242980)
    assert provenance_in({"aws-copy-pt-source-etag": MULTIPART}) is None  # no size: no record


def test_a_copy_whose_record_names_the_source_is_identical_and_otherwise_unsure() -> None:
    copy = ObjectFacts(5242980, MD5, copied_from=Provenance(MULTIPART, 5242980))
    assert judge_destination(SOURCE, copy) is Destination.IDENTICAL
    replaced = ObjectFacts(5242980, "0" * 32 + "-2")  # the source changed since the copy
    assert judge_destination(replaced, copy) is Destination.UNSURE
    foreign = ObjectFacts(5242980, MD5)  # no record: not proven either way
    assert judge_destination(SOURCE, foreign) is Destination.UNSURE


def test_a_record_never_overrides_content_that_differs() -> None:
    source = ObjectFacts(10, MULTIPART, Checksum("CRC32", "AAAAAA=="))
    copy = ObjectFacts(
        10, MD5, Checksum("CRC32", "BBBBBB=="), copied_from=Provenance(MULTIPART, 10)
    )
    assert judge_destination(source, copy) is Destination.DIFFERENT
