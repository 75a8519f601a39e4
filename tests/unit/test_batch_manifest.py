"""The Batch Operations manifest and report formats (aws_copy_pt.core.batch_manifest)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from aws_copy_pt.core.batch_manifest import (
    BATCH_COPY_MAX_BYTES,
    MAX_CLIENT_REQUEST_TOKEN,
    ManifestError,
    ReportFormatError,
    client_request_token,
    decode_key,
    encode_key,
    find_report,
    job_report_prefix,
    manifest_fields,
    manifest_lines,
    parse_report_index,
    parse_report_rows,
)

HOSTILE_KEYS = [
    "plain.txt",
    "object key with spaces",
    "a+b=c&d.txt",
    "100%/done%20already.txt",
    "dir/ünïcödé/日本語.bin",
    "comma,separated,key.csv",
    "quote\"d'key",
    "line\nbreak\r\nkey",
    "tab\tand\x7fcontrol",
    "trailing/",
    " leading space",
    "~tilde_-.ok",
]


def _rows(lines: list[bytes]) -> list[list[str]]:
    return [next(csv.reader([line.decode()])) for line in lines]


def test_manifest_key_encoding_matches_the_user_guide_example() -> None:
    # The user guide's example manifest row: Examplebucket,object%20key%20with%20spaces
    lines = list(
        manifest_lines([("Examplebucket", "object key with spaces", None)], versioned=False)
    )
    assert lines == [b"Examplebucket,object%20key%20with%20spaces\n"]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_every_hostile_key_survives_a_manifest_round_trip(key: str) -> None:
    (line,) = manifest_lines([("bucket", key, None)], versioned=False)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    bucket, encoded = _rows([line])[0]
    assert (bucket, decode_key(encoded)) == ("bucket", key)


def test_encoded_keys_hold_no_character_a_csv_or_form_decoder_could_misread() -> None:
    for key in HOSTILE_KEYS:
        encoded = encode_key(key)
        assert not set(encoded) & set(" +,\"'\r\n\t"), encoded
        assert encoded.isascii()


def test_a_literal_plus_is_percent_encoded_and_decodes_back_to_a_plus() -> None:
    assert encode_key("a+b") == "a%2Bb"
    assert decode_key("a+b") == "a+b"  # percent-decoding: a raw '+' is not a space


def test_manifest_rows_carry_version_ids_when_versioned() -> None:
    lines = manifest_lines(
        [("b", "k 1", "v1"), ("b", "k2", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")], versioned=True
    )
    assert list(lines) == [b"b,k%201,v1\n", b"b,k2,3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY\n"]
    assert manifest_fields(True) == ["Bucket", "Key", "VersionId"]
    assert manifest_fields(False) == ["Bucket", "Key"]


def test_a_manifest_refuses_to_mix_rows_with_and_without_version_ids() -> None:
    with pytest.raises(ManifestError, match="row 2"):
        list(manifest_lines([("b", "k1", "v1"), ("b", "k2", None)], versioned=True))
    with pytest.raises(ManifestError, match="row 1"):
        list(manifest_lines([("b", "k1", "v1")], versioned=False))


def test_a_manifest_refuses_a_bucket_or_version_that_would_break_the_csv() -> None:
    with pytest.raises(ManifestError):
        list(manifest_lines([("a,b", "k", None)], versioned=False))
    with pytest.raises(ManifestError):
        list(manifest_lines([("b", "k", 'v"1')], versioned=True))
    with pytest.raises(ManifestError):
        list(manifest_lines([("b", "", None)], versioned=False))


def test_manifest_lines_are_streamed_not_built_in_memory() -> None:
    def endless() -> object:
        number = 0
        while True:
            number += 1
            yield ("b", f"k{number}", None)

    lines = manifest_lines(endless(), versioned=False)  # type: ignore[arg-type]
    assert [next(lines) for _ in range(3)] == [b"b,k1\n", b"b,k2\n", b"b,k3\n"]


def test_client_request_token_is_deterministic_short_and_distinct_per_attempt() -> None:
    token = client_request_token(42, 1)
    assert token == client_request_token(42, 1)
    assert token != client_request_token(42, 2)
    assert token != client_request_token(421, 1)
    long_id = "x" * 500
    assert len(client_request_token(long_id, 99)) <= MAX_CLIENT_REQUEST_TOKEN
    assert len(token) <= MAX_CLIENT_REQUEST_TOKEN


def test_report_rows_in_the_order_real_reports_write_them() -> None:
    text = (
        "bkt,a%20b/%C3%BC.txt,,succeeded,200,,Successful\r\n"
        'bkt,x%2By,v1,failed,403,AccessDenied,"Access Denied, really"\r\n'
    )
    ok, denied = list(parse_report_rows(io.StringIO(text, newline="")))
    assert (ok.key, ok.succeeded, ok.http_status, ok.error_code) == ("a b/ü.txt", True, 200, None)
    assert ok.message == "Successful" and ok.raw_key == "a%20b/%C3%BC.txt"
    assert (denied.key, denied.version_id, denied.http_status) == ("x+y", "v1", 403)
    assert (denied.error_code, denied.message) == ("AccessDenied", "Access Denied, really")


def test_report_rows_in_the_order_report_schema_names() -> None:
    (row,) = parse_report_rows(["bkt,k,,failed,NoSuchKey,404,The specified key does not exist.\n"])
    assert (row.error_code, row.http_status, row.succeeded) == ("NoSuchKey", 404, False)


def test_a_report_message_may_hold_quotes_and_line_breaks() -> None:
    text = 'b,k,,failed,500,PermanentFailure,"Lambda said ""no""\nand more"\n'
    (row,) = parse_report_rows(io.StringIO(text, newline=""))
    assert row.message == 'Lambda said "no"\nand more'


def test_a_report_row_with_an_unknown_status_is_an_error_not_a_skip() -> None:
    with pytest.raises(ReportFormatError, match="row 1"):
        list(parse_report_rows(["b,k,,maybe,200,,?\n"]))
    with pytest.raises(ReportFormatError):
        list(parse_report_rows(["b,k\n"]))


def test_report_prefix_layout() -> None:
    assert job_report_prefix("batch/reports", "id-1") == "batch/reports/job-id-1/"
    assert job_report_prefix("batch/reports/", "id-1") == "batch/reports/job-id-1/"
    assert job_report_prefix(None, "id-1") == "job-id-1/"


def test_find_report_accepts_either_index_name_and_ignores_other_jobs() -> None:
    keys = [
        "r/job-1/manifest.json",
        "r/job-1/results/aa.csv",
        "r/job-1/results/bb.csv",
        "r/job-12/results/cc.csv",
        "r/xjob-1/results/dd.csv",
        "r/job-1/other.txt",
    ]
    found = find_report(keys, "1")
    assert found.index_key == "r/job-1/manifest.json"
    assert found.result_keys == ("r/job-1/results/aa.csv", "r/job-1/results/bb.csv")
    assert find_report(["job-1/report.json"], "1").index_key == "job-1/report.json"
    assert find_report([], "1").index_key is None


def test_report_index_lists_its_result_files() -> None:
    document = {
        "Format": "Report_CSV_20180820",
        "ReportCreationDate": "2019-04-05T17:48:39.725Z",
        "Results": [
            {"TaskExecutionStatus": "failed", "Bucket": "r", "MD5Checksum": "22", "Key": "k.csv"}
        ],
        "ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, Result",
    }
    (entry,) = parse_report_index(json.dumps(document))
    assert (entry.bucket, entry.key, entry.task_status, entry.md5) == ("r", "k.csv", "failed", "22")
    with pytest.raises(ReportFormatError):
        parse_report_index(b"{}")


def test_the_batch_size_limit_is_copy_objects_5_gib() -> None:
    assert BATCH_COPY_MAX_BYTES == 5368709120
