"""The lean request path: SigV4 exactly as botocore signs, and answers read strictly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

from aws_copy_pt.s3 import lean
from aws_copy_pt.s3.clients import LazyS3, s3_config
from aws_copy_pt.s3.lean import LeanS3, parse_copy_result, parse_list_page

ENDPOINT = "http://127.0.0.1:9"  # never contacted: a before-send hook answers
STAMP = "20250102T030405Z"
COPY_RESULT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><LastModified>x</LastModified>'
    b"<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag>"
    b"<ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME></CopyObjectResult>"
)


class FakeRaw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> AWSResponse:
    return AWSResponse(ENDPOINT, status, headers or {}, FakeRaw(body))  # type: ignore[arg-type]


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> tuple[LeanS3, list[Any], list[AWSResponse]]:
    """A LeanS3 whose requests are captured and answered by a before-send hook."""
    monkeypatch.setattr(lean, "timestamp", lambda: STAMP)
    credentials = Credentials("AKIAEXAMPLE000000001", "secret/key+value", "session-token")
    client = boto3.session.Session().client(
        "s3",
        region_name="eu-west-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="unused",
        aws_secret_access_key="unused",
        config=s3_config(ENDPOINT),
    )
    requests: list[Any] = []
    answers: list[AWSResponse] = []

    def hook(request: Any, **_: Any) -> AWSResponse:
        requests.append(request)
        return answers.pop(0)

    client.meta.events.register("before-send.s3.*", hook)
    lean_s3 = LeanS3(
        LazyS3.ready(client), credentials, timeout=5, endpoint_url=ENDPOINT, region="eu-west-1"
    )
    return lean_s3, requests, answers


def botocore_signature(request: Any) -> str:
    """What botocore's own S3 SigV4 signer makes of the same request at the same time."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("authorization",)}
    unsigned = AWSRequest(method=request.method, url=request.url, headers=headers)
    unsigned.context["timestamp"] = STAMP
    signer = S3SigV4Auth(
        Credentials("AKIAEXAMPLE000000001", "secret/key+value", "session-token"), "s3", "eu-west-1"
    )
    signer._modify_request_before_signing = lambda r: None  # type: ignore[method-assign]
    canonical = signer.canonical_request(unsigned)
    string_to_sign = signer.string_to_sign(unsigned, canonical)
    return signer.signature(string_to_sign, unsigned)


def test_copy_request_is_signed_exactly_as_botocore_signs_it(captured: Any) -> None:
    sender, requests, answers = captured
    answers.append(answer(200, COPY_RESULT, {"x-amz-server-side-encryption": "AES256"}))
    result = sender.copy(
        {
            "Bucket": "dest-bucket",
            "Key": "dir/ü nicode +%#?.dat",
            "CopySource": {"Bucket": "staging", "Key": "a b/ü+%#?.dat"},
            "CopySourceIfMatch": '"0cc175b9c0f1b6a831c399e269772661"',
            "ACL": "bucket-owner-full-control",
            "ChecksumAlgorithm": "CRC64NVME",
            "MetadataDirective": "REPLACE",
            "Metadata": {"globus-task-id": "t-1", "spaces": "a  b"},
            "Expires": datetime(2030, 1, 1),
        }
    )
    (request,) = requests
    assert request.url == f"{ENDPOINT}/dest-bucket/dir/%C3%BC%20nicode%20%2B%25%23%3F.dat"
    assert request.headers["x-amz-copy-source"] == "staging/a%20b/%C3%BC%2B%25%23%3F.dat"
    assert request.headers["x-amz-meta-globus-task-id"] == "t-1"
    assert request.headers["expires"] == "Tue, 01 Jan 2030 00:00:00 GMT"
    assert request.headers["authorization"].endswith(f"Signature={botocore_signature(request)}")
    assert result == lean.CopyAnswer(
        "0cc175b9c0f1b6a831c399e269772661", {"CRC64NVME": "AAAAAAAAAAA="}, "AES256"
    )


def test_list_request_is_signed_exactly_as_botocore_signs_it(captured: Any) -> None:
    sender, requests, answers = captured
    body = (
        b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>"
        b"<Contents><Key>a%20b/%C3%BC%2B.dat</Key><ETag>&quot;abc&quot;</ETag><Size>7</Size>"
        b"<ChecksumAlgorithm>CRC32</ChecksumAlgorithm></Contents></ListBucketResult>"
    )
    answers.append(answer(200, body))
    page = sender.list_objects(
        "staging",
        prefix="a b/",
        start_after="a b/x",
        token="t+/=",
        extra={"RequestPayer": "requester"},
    )
    (request,) = requests
    assert "prefix=a%20b%2F" in request.url and "continuation-token=t%2B%2F%3D" in request.url
    assert request.headers["x-amz-request-payer"] == "requester"
    assert request.headers["authorization"].endswith(f"Signature={botocore_signature(request)}")
    assert page == lean.ListPage(
        [{"Key": "a b/ü+.dat", "Size": 7, "ETag": '"abc"', "ChecksumAlgorithm": ["CRC32"]}],
        "tok/+=",
    )


def test_a_200_answer_with_an_error_body_is_not_a_copy() -> None:
    body = b"<Error><Code>InternalError</Code><Message>We encountered an error</Message></Error>"
    assert parse_copy_result(200, body) is None
    assert parse_copy_result(200, b" " * 20 + body) is None
    assert parse_copy_result(500, COPY_RESULT) is None
    assert parse_copy_result(200, b"") is None
    assert parse_copy_result(200, COPY_RESULT) is not None


def test_an_error_answer_is_left_to_boto3(captured: Any) -> None:
    sender, _, answers = captured
    answers.append(answer(403, b"<Error><Code>AccessDenied</Code></Error>"))
    assert (
        sender.copy({"Bucket": "d", "Key": "k", "CopySource": {"Bucket": "s", "Key": "k"}}) is None
    )
    answers.append(answer(200, b"<html>not xml"))
    assert sender.list_objects("s") is None


def test_throttling_sends_every_request_to_boto3_for_a_while(captured: Any) -> None:
    sender, requests, answers = captured
    answers.append(answer(503, b"<Error><Code>SlowDown</Code></Error>"))
    params = {"Bucket": "d", "Key": "k", "CopySource": {"Bucket": "s", "Key": "k"}}
    assert sender.copy(params) is None
    answers.append(answer(200, COPY_RESULT))
    assert sender.copy(params) is None
    assert len(requests) == 1  # the second request was not even tried


def test_parameters_the_lean_path_does_not_know_go_to_boto3(captured: Any) -> None:
    sender, requests, _ = captured
    params = {"Bucket": "d", "Key": "k", "CopySource": {"Bucket": "s", "Key": "k"}, "Nonsense": 1}
    assert sender.copy(params) is None
    assert requests == []


def test_a_truncated_listing_without_a_token_is_rejected() -> None:
    body = b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>true</IsTruncated></ListBucketResult>'
    assert parse_list_page(body) is None


def test_the_copy_header_table_is_botocores() -> None:
    model = boto3.session.Session().client("s3", region_name="us-east-1").meta.service_model
    shape = model.operation_model("CopyObject").input_shape
    assert shape is not None
    for parameter, header in lean.COPY_HEADERS.items():
        serialization = shape.members[parameter].serialization
        assert (serialization["location"], serialization["name"]) == ("header", header)


@pytest.mark.parametrize(
    ("region", "bucket"),
    [("eu-west-1", "dest-bucket"), ("us-east-1", "dest-bucket"), ("eu-west-1", "dotted.bucket")],
)
def test_on_aws_lean_requests_go_where_botocore_sends_its_own(region: str, bucket: str) -> None:
    client = boto3.session.Session().client(
        "s3",
        region_name=region,
        aws_access_key_id="unused",
        aws_secret_access_key="unused",
        config=s3_config(None),
    )
    urls: list[str] = []

    def hook(request: Any, **_: Any) -> AWSResponse:
        urls.append(request.url)
        return answer(200, COPY_RESULT.replace(b">x<", b">2025-01-02T03:04:05.000Z<"))

    client.meta.events.register("before-send.s3.*", hook)
    params = {"Bucket": bucket, "Key": "k", "CopySource": {"Bucket": "s", "Key": "k"}}
    client.copy_object(**params)  # type: ignore[arg-type]
    sender = LeanS3(LazyS3.ready(client), Credentials("AKIAEXAMPLE000000001", "secret"), timeout=5)
    assert sender.copy(params) is not None
    botocore_url, lean_url = urls
    assert lean_url == botocore_url


def test_a_lean_head_answer_reads_as_boto3s() -> None:
    answer = lean.head_answer(
        {
            "content-length": "12",
            "etag": '"9e107d9d372bb6826bd81d3542a419d6"',
            "content-type": "text/plain",
            "x-amz-meta-md5sum": "9e107d9d372bb6826bd81d3542a419d6",
            "x-amz-checksum-crc32c": "n03x6A==",
            "x-amz-checksum-type": "FULL_OBJECT",
            "x-amz-tagging-count": "2",
            "x-amz-server-side-encryption": "aws:kms",
        }
    )

    assert answer == {
        "ContentLength": 12,
        "ETag": '"9e107d9d372bb6826bd81d3542a419d6"',
        "ContentType": "text/plain",
        "Metadata": {"md5sum": "9e107d9d372bb6826bd81d3542a419d6"},
        "ChecksumCRC32C": "n03x6A==",
        "TagCount": 2,
        "ServerSideEncryption": "aws:kms",
    }
