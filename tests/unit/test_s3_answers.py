"""Answers read by the fast path come out as botocore reads the same bytes.

botocore parses each crafted answer through a real client whose ``before-send`` hook answers
instead of a server; ``s3.answers`` must give the same values and the same ``ClientError``.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from aws_copy_pt.s3.answers import (
    CopyAnswer,
    error_from_answer,
    error_from_crt,
    head_answer,
    parse_copy_result,
    parse_list_page,
)
from aws_copy_pt.s3.clients import s3_config
from aws_copy_pt.s3.errors import translate

ENDPOINT = "http://127.0.0.1:9"  # never contacted


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def botocore_reads(
    operation: str, status: int, headers: dict[str, str], body: bytes, **params: Any
) -> Any:
    """What a boto3 client returns (or raises) for this answer."""
    client = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
        config=s3_config(ENDPOINT).merge(
            boto3.session.Config(retries={"mode": "standard", "max_attempts": 1})
        ),
    )
    answer = AWSResponse(ENDPOINT, status, headers, _Raw(body))  # type: ignore[arg-type]
    client.meta.events.register("before-send.s3", lambda **_: answer)
    method = getattr(client, {"HeadObject": "head_object", "ListObjectsV2": "list_objects_v2",
                              "CopyObject": "copy_object"}[operation])  # fmt: skip
    return method(**params)


HEAD = {"Bucket": "b", "Key": "k"}
ERRORS = [
    ("CopyObject", 403, {}, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
     b"<RequestId>R1</RequestId><HostId>H1</HostId></Error>"),
    ("CopyObject", 412, {"x-amz-request-id": "R2"},
     b'<?xml version="1.0"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one'
     b"</Message><Condition>x-amz-copy-source-If-Match</Condition></Error>"),
    ("HeadObject", 404, {"x-amz-request-id": "R3"}, b""),
    ("HeadObject", 403, {"date": "Mon, 01 Jan 2024 00:00:00 GMT"}, b""),
    ("ListObjectsV2", 301, {"x-amz-bucket-region": "eu-west-1"},
     b"<Error><Code>PermanentRedirect</Code><Message>elsewhere</Message>"
     b"<Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint></Error>"),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "status", "headers", "body"), ERRORS)
def test_an_error_answer_is_the_client_error_botocore_raises(
    operation: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    params = {
        "CopyObject": {**HEAD, "CopySource": {"Bucket": "s", "Key": "k"}},
        "HeadObject": HEAD,
        "ListObjectsV2": {"Bucket": "b"},
    }[operation]
    with pytest.raises(ClientError) as raised:
        botocore_reads(operation, status, headers, body, **params)
    theirs = raised.value
    mine = error_from_answer(operation, status, headers, body)
    assert mine.response["Error"] == theirs.response["Error"]
    for field in ("HTTPStatusCode", "RequestId"):
        assert mine.response["ResponseMetadata"].get(field) == theirs.response[
            "ResponseMetadata"
        ].get(field)
    ours = translate(mine, operation=operation, bucket="b", key="k")
    botos = translate(theirs, operation=operation, bucket="b", key="k")
    assert (type(ours), ours.message, ours.hint) == (type(botos), botos.message, botos.hint)


def test_what_the_crt_keeps_to_itself_reads_as_s3s_code() -> None:
    internal = error_from_crt("CopyObject", "AWS_ERROR_S3_INTERNAL_ERROR")
    assert internal is not None and internal.response["Error"]["Code"] == "InternalError"
    skewed = error_from_crt("CopyObject", "AWS_ERROR_S3_REQUEST_TIME_TOO_SKEWED")
    assert skewed is not None
    assert "clock is off" in translate(skewed, operation="CopyObject").message
    assert error_from_crt("CopyObject", "AWS_IO_SOCKET_CLOSED") is None  # no answer at all


def test_a_head_answer_reads_as_botocore_reads_it() -> None:
    headers = {
        "Content-Length": "300",
        "ETag": '"0cc175b9c0f1b6a831c399e269772661"',
        "Content-Type": "text/plain",
        "Cache-Control": "max-age=60",
        "Expires": "Tue, 01 Jan 2030 00:00:00 GMT",
        "x-amz-checksum-crc32": "AAAAAA==",
        "x-amz-checksum-type": "FULL_OBJECT",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:1:key/x",
        "x-amz-meta-Owner": "lab-7",
        "x-amz-tagging-count": "2",
        "x-amz-website-redirect-location": "/elsewhere",
    }
    theirs = dict(botocore_reads("HeadObject", 200, headers, b"", ChecksumMode="ENABLED", **HEAD))
    theirs.pop("ResponseMetadata")
    theirs.pop("AcceptRanges", None)
    assert head_answer(headers) == theirs


def test_a_listing_reads_as_botocore_reads_it() -> None:
    body = (
        b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>"
        b"<EncodingType>url</EncodingType>"
        b"<Contents><Key>a+b/%C3%BC%2B.dat</Key><ETag>&quot;abc&quot;</ETag><Size>7</Size>"
        b"<ChecksumAlgorithm>CRC32</ChecksumAlgorithm></Contents></ListBucketResult>"
    )
    theirs = botocore_reads("ListObjectsV2", 200, {}, body, Bucket="b")
    page = parse_list_page(body)
    assert page is not None and page.next_token == theirs["NextContinuationToken"]
    fields = ("Key", "Size", "ETag", "ChecksumAlgorithm")
    assert page.contents == [{f: item[f] for f in fields} for item in theirs["Contents"]]


def test_a_truncated_listing_without_a_token_or_not_a_listing_is_refused() -> None:
    truncated = (
        b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<IsTruncated>true</IsTruncated></ListBucketResult>"
    )
    assert parse_list_page(truncated) is None
    assert parse_list_page(b"<html>not xml") is None


def test_a_copy_result_gives_etag_and_checksums_and_an_error_body_gives_none() -> None:
    result = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><LastModified>x'
        b"</LastModified><ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag>"
        b"<ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME></CopyObjectResult>"
    )
    assert parse_copy_result(result) == CopyAnswer(
        "0cc175b9c0f1b6a831c399e269772661", {"CRC64NVME": "AAAAAAAAAAA="}
    )
    error = b"<Error><Code>InternalError</Code><Message>We encountered</Message></Error>"
    assert parse_copy_result(b" " * 20 + error) is None
    assert parse_copy_result(b"") is None
