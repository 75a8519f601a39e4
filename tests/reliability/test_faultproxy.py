"""The fault proxy keeps its promises: each fault reaches a real S3 client as S3 (or a broken
network) would deliver it, a gate holds exactly the request it names, chaos lets retries through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from aws_copy_pt.sandbox.s3server import MotoS3Server, SandboxAccounts, client_config, s3_client
from tests.fixtures.s3 import BucketFactory
from tests.support.faultproxy import Answer, Chaos, FaultKind, FaultProxy, matching
from tests.support.faultproxy.s3wire import operation_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.mark.parametrize(
    ("method", "key", "query", "headers", "operation"),
    [
        ("PUT", True, {}, {"x-amz-copy-source": "b/k"}, "CopyObject"),
        (
            "PUT",
            True,
            {"partNumber": "2", "uploadId": "u"},
            {"x-amz-copy-source": "b/k"},
            "UploadPartCopy",
        ),
        ("PUT", True, {"partNumber": "2", "uploadId": "u"}, {}, "UploadPart"),
        ("PUT", True, {}, {}, "PutObject"),
        ("POST", True, {"uploads": ""}, {}, "CreateMultipartUpload"),
        ("POST", True, {"uploadId": "u"}, {}, "CompleteMultipartUpload"),
        ("DELETE", True, {"uploadId": "u"}, {}, "AbortMultipartUpload"),
        ("GET", True, {"uploadId": "u"}, {}, "ListParts"),
        ("HEAD", True, {}, {}, "HeadObject"),
        ("HEAD", False, {}, {}, "HeadBucket"),
        ("GET", False, {"list-type": "2", "prefix": "a/"}, {}, "ListObjectsV2"),
        ("GET", False, {"versioning": ""}, {}, "GetBucketVersioning"),
        ("GET", False, {"versions": "", "prefix": "a/"}, {}, "ListObjectVersions"),
        ("POST", False, {"delete": ""}, {}, "DeleteObjects"),
        ("POST", False, {}, {}, "Unknown"),
    ],
)
def test_requests_are_named_by_their_s3_operation(
    method: str, key: bool, query: dict[str, str], headers: dict[str, str], operation: str
) -> None:
    assert operation_of(method, key, query, headers) == operation


@dataclass
class Scene:
    proxy: FaultProxy
    accounts: SandboxAccounts
    bucket: str
    direct: S3Client  # straight to the server, to see what really happened

    def client(self, **config: Any) -> S3Client:
        """A client through the proxy that tries once (``config``: e.g. a read timeout)."""
        account = self.accounts.staging
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.proxy.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
            aws_session_token=account.session_token,
            config=client_config().merge(
                Config(retries={"mode": "standard", "total_max_attempts": 1}, **config)
            ),
        )

    def copy(self, client: S3Client, key: str) -> None:
        client.copy_object(
            Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": "source"}
        )

    def exists(self, key: str) -> bool:
        return bool(self.direct.list_objects_v2(Bucket=self.bucket, Prefix=key)["KeyCount"])


@pytest.fixture
def scene(s3_server: MotoS3Server, bucket_factory: BucketFactory) -> Iterator[Scene]:
    accounts = s3_server.accounts()
    bucket = bucket_factory(accounts.staging)
    direct = s3_server.client(accounts.staging)
    direct.put_object(Bucket=bucket, Key="source", Body=b"payload")
    with FaultProxy(s3_server.endpoint_url) as proxy:
        yield Scene(proxy, accounts, bucket, direct)


@pytest.mark.parametrize(
    ("kind", "raised", "acted"),
    [
        (FaultKind.SLOW_DOWN, "SlowDown", False),
        (FaultKind.INTERNAL_ERROR, "InternalError", False),
        (FaultKind.ERROR_IN_200, "InternalError", False),
        (FaultKind.RESET, ConnectionClosedError, False),
        (FaultKind.RESET_AFTER, ConnectionClosedError, True),
        (FaultKind.TIMEOUT, ReadTimeoutError, False),
        (FaultKind.TIMEOUT_AFTER, ReadTimeoutError, True),
        (FaultKind.FALSE_SUCCESS, None, False),
    ],
)
def test_each_fault_reaches_the_client_as_s3_or_the_network_would_deliver_it(
    scene: Scene, kind: FaultKind, raised: object, acted: bool
) -> None:
    world = scene
    world.proxy.fail(matching("CopyObject"), kind)
    client = world.client(read_timeout=0.5)

    if raised is None:
        world.copy(client, "copy")
    elif isinstance(raised, str):
        with pytest.raises(ClientError) as error:
            world.copy(client, "copy")
        assert error.value.response["Error"]["Code"] == raised
    else:
        with pytest.raises(raised):  # type: ignore[call-overload]
            world.copy(client, "copy")

    assert world.exists("copy") is acted
    [record] = [r for r in world.proxy.records if r.operation == "CopyObject"]
    assert (record.fault, record.reached_server, record.succeeded) == (kind, acted, False)
    assert record.server_succeeded is acted  # the copy happened though the client heard otherwise
    told = not isinstance(raised, type)  # an S3 answer (or a fake success), not a broken socket
    assert (record.answered is not None) is told
    assert world.proxy.faults_injected == 1


def test_a_records_ticks_order_the_server_acting_before_the_answer_going_out(
    scene: Scene,
) -> None:
    world = scene
    world.copy(world.client(), "copy")

    [record] = [r for r in world.proxy.records if r.operation == "CopyObject"]
    assert record.succeeded and record.server_succeeded
    assert record.acted is not None and record.answered is not None
    assert record.started < record.acted < record.answered
    # The handler ends after the answer went out, maybe after the client has read it: that is
    # why the audit orders by `acted`/`answered`, never by `finished`.
    deadline = time.monotonic() + 10
    while record.finished is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert record.finished is not None and record.answered < record.finished


def test_a_gate_holds_the_nth_matching_request_until_released(
    scene: Scene,
) -> None:
    world = scene
    gate = world.proxy.hold(matching("CopyObject"), nth=2)
    client = world.client()
    world.copy(client, "first")
    copying = threading.Thread(target=world.copy, args=(client, "second"))
    copying.start()

    assert gate.wait(10)
    assert gate.request is not None and gate.request.key == "second"
    assert not world.exists("second")
    gate.release(forward=True)
    copying.join(10)
    assert world.exists("second")


def test_chaos_faults_no_request_more_often_than_allowed_so_retries_get_through(
    scene: Scene,
) -> None:
    world = scene
    kinds = {"CopyObject": (FaultKind.INTERNAL_ERROR,)}
    world.proxy.chaos(Chaos(kinds, rate=1.0, seed=1, per_request=2))
    retrying = s3_client(world.proxy.endpoint_url, world.accounts.staging)

    world.copy(retrying, "through")

    assert world.proxy.faults_injected == 2
    assert world.exists("through")


def test_a_rewrite_changes_what_the_server_answered(scene: Scene) -> None:
    world = scene
    world.proxy.rewrite(
        matching("HeadBucket"), lambda _request, answer: Answer(403, answer.headers, b"")
    )
    with pytest.raises(ClientError) as error:
        world.client().head_bucket(Bucket=world.bucket)
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
