"""Region discovery reads HeadBucket's x-amz-bucket-region from every answer, never asking
GetBucketLocation.

AWS answers a foreign bucket with 403 *and* the region header; moto's 403 carries none, so these
answers are crafted with a botocore ``before-send`` hook: the real client parses them exactly as
it would parse S3's (Stubber would skip the header parsing of errors).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec
from aws_copy_pt.s3.errors import S3Unreachable, translate
from aws_copy_pt.s3.regions import BucketProbe, probe_bucket, region_in
from aws_copy_pt.sandbox.s3server import free_loopback_port

ENDPOINT = "http://127.0.0.1:9"  # never contacted: the hook answers first
SPEC = CredentialSpec(
    key="unit", kind="keys", access_key_id="AKIAUNITTEST00000000", secret_access_key="x" * 40
)


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


Answer = tuple[int, dict[str, str]]


def _probe(answers: list[Answer], *, sent: list[str] | None = None) -> BucketProbe:
    """HeadBucket through a real client whose requests get ``answers`` in turn."""
    client = ClientFactory().s3_check(SPEC, region="us-east-1", endpoint_url=ENDPOINT)
    queue = list(answers)

    def answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        if sent is not None:
            sent.append(f"{request.method} {request.url}")
        status, headers = queue.pop(0)
        return AWSResponse(request.url, status, headers, _Body(b""))

    client.meta.events.register("before-send.s3", answer)
    return probe_bucket(client, "their-bucket")


def test_region_is_read_from_a_200_answer() -> None:
    probe = _probe([(200, {"x-amz-bucket-region": "eu-west-1"})])
    assert (probe.status, probe.region, probe.reachable) == (200, "eu-west-1", True)


def test_region_is_read_from_a_403_answer_of_a_foreign_bucket() -> None:
    sent: list[str] = []
    probe = _probe([(403, {"x-amz-bucket-region": "ap-southeast-2"})], sent=sent)
    assert (probe.status, probe.region, probe.reachable) == (403, "ap-southeast-2", False)
    assert sent == [f"HEAD {ENDPOINT}/their-bucket"]  # HeadBucket only, no GetBucketLocation


def test_a_301_wrong_region_answer_is_followed_and_the_region_kept() -> None:
    sent: list[str] = []
    probe = _probe(
        [
            (301, {"x-amz-bucket-region": "eu-central-1"}),
            (200, {"x-amz-bucket-region": "eu-central-1"}),
        ],
        sent=sent,
    )
    assert (probe.status, probe.region) == (200, "eu-central-1")
    assert len(sent) == 2 and all(line.startswith("HEAD ") for line in sent)


def test_a_400_answer_still_names_the_region() -> None:
    probe = _probe(
        [(400, {"x-amz-bucket-region": "us-west-2"}), (400, {"x-amz-bucket-region": "us-west-2"})]
    )
    assert (probe.status, probe.region) == (400, "us-west-2")


@pytest.mark.parametrize(
    "header", [{}, {"x-amz-bucket-region": ""}, {"x-amz-bucket-region": "null"}]
)
def test_a_store_that_names_no_region_keeps_the_given_one(header: dict[str, str]) -> None:
    probe = _probe([(200, header)])
    assert probe.region is None
    assert probe.region_or("us-east-1") == "us-east-1"


def test_a_missing_bucket_is_a_404_without_region() -> None:
    probe = _probe([(404, {})])
    assert (probe.status, probe.region, probe.reachable) == (404, None, False)


def test_region_named_in_an_error_body_is_used() -> None:
    error = {"Error": {"Code": "AuthorizationHeaderMalformed", "Region": "eu-north-1"}}
    assert region_in(error) == "eu-north-1"


def test_a_closed_port_is_reported_as_unreachable_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{free_loopback_port()}"
    client = ClientFactory().s3_check(SPEC, region="us-east-1", endpoint_url=endpoint)
    with pytest.raises(S3Unreachable, match="cannot reach the S3 endpoint"):
        probe_bucket(client, "any-bucket")


def _server_date(minutes_off: int) -> dict[str, str]:
    server_time = datetime.now(UTC) + timedelta(minutes=minutes_off)
    return {"date": format_datetime(server_time, usegmt=True)}


def test_a_bodyless_403_from_a_skewed_clock_is_reported_as_clock_skew() -> None:
    probe = _probe([(403, _server_date(-45))])
    assert probe.error is not None
    error = translate(probe.error, operation="HeadBucket", bucket="their-bucket")
    assert "clock is off" in error.message


def test_a_403_with_a_fresh_date_stays_access_denied() -> None:
    probe = _probe([(403, _server_date(1))])
    assert probe.error is not None
    error = translate(probe.error, operation="HeadBucket", bucket="their-bucket")
    assert "access denied" in error.message
