"""The bucket services the CLI and the copy engine call, on the local S3 server.

Two AWS answers moto cannot give (a 403 that names the region, a clock-skewed 403) are crafted
with a ``before-send`` hook on the very session the service's clients come from; everything else
(STS, the buckets, the objects) is the real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from aws_copy_pt.core.bucket_settings import BucketRequest, CopySettings
from aws_copy_pt.db.engine import Database, open_database
from aws_copy_pt.errors import NotFoundError, RemoteError
from aws_copy_pt.home.paths import Home
from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec
from aws_copy_pt.s3.errors import S3AccessDenied
from aws_copy_pt.sandbox.s3server import DESTINATION_ACCOUNT_ID, MotoS3Server, SandboxAccounts
from aws_copy_pt.services.setup import buckets
from aws_copy_pt.services.setup.buckets import add_bucket, copy_settings, get_bucket
from aws_copy_pt.services.setup.credentials import NewCredential, add_credential, get_credential

if TYPE_CHECKING:
    from tests.fixtures.s3 import BucketFactory, S3ClientFor

KEY_ARN = f"arn:aws:kms:eu-west-1:{DESTINATION_ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class _Body:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(Home(tmp_path / "home"))
    yield db
    db.close()


@pytest.fixture
def factory(
    database: Database,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    monkeypatch: pytest.MonkeyPatch,
) -> ClientFactory:
    """A client factory, with the staging keys registered (and checked) as "staging"."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", s3_server.endpoint_url)
    staging = s3_accounts.staging
    factory = ClientFactory()
    new = NewCredential(
        name="staging",
        access_key_id=staging.access_key_id,
        secret_access_key=staging.secret_access_key,
        session_token=staging.session_token,
    )
    with database.session() as session:
        add_credential(session, new, verify_with=factory)
    return factory


def _answer_head_bucket(
    database: Database, factory: ClientFactory, status: int, headers: dict[str, str]
) -> list[AWSPreparedRequest]:
    """Make every HeadBucket of the "staging" credential get this answer; returns the requests."""
    with database.session() as session:
        spec = CredentialSpec.from_row(get_credential(session, "staging"))
    seen: list[AWSPreparedRequest] = []

    def answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        seen.append(request)
        return AWSResponse(request.url, status, headers, _Body())

    factory.session(spec).events.register("before-send.s3.HeadBucket", answer)
    return seen


def _request(s3_server: MotoS3Server, name: str = "their-bucket", **kwargs: Any) -> BucketRequest:
    return BucketRequest(
        name=name, credential="staging", endpoint_url=s3_server.endpoint_url, **kwargs
    )


def test_a_403_naming_the_region_is_asked_again_there_and_explains_the_offline_route(
    database: Database, factory: ClientFactory, s3_server: MotoS3Server
) -> None:
    seen = _answer_head_bucket(database, factory, 403, {"x-amz-bucket-region": "eu-west-2"})
    with pytest.raises(S3AccessDenied) as denied, database.session() as session:
        add_bucket(session, _request(s3_server), factory=factory)
    assert "may not HeadBucket their-bucket (needs s3:ListBucket)" in denied.value.message
    assert denied.value.hint is not None
    assert "--region eu-west-2 --no-check" in denied.value.hint
    assert "aws-copy-pt policy --bucket their-bucket" in denied.value.hint
    scopes = [request.headers["Authorization"] for request in seen]
    assert [b"/us-east-1/s3/" in s for s in scopes] == [True, False]
    assert b"/eu-west-2/s3/" in scopes[1]  # the second HeadBucket is signed for that region
    with pytest.raises(NotFoundError), database.session() as session:
        get_bucket(session, "their-bucket")


def test_a_403_from_a_skewed_clock_says_to_fix_the_clock(
    database: Database, factory: ClientFactory, s3_server: MotoS3Server
) -> None:
    an_hour_ahead = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    _answer_head_bucket(database, factory, 403, {"date": an_hour_ahead})
    with pytest.raises(RemoteError) as skewed, database.session() as session:
        add_bucket(session, _request(s3_server), factory=factory)
    assert not isinstance(skewed.value, S3AccessDenied)
    assert "clock is off" in skewed.value.message
    assert skewed.value.hint is not None and "chronyc" in skewed.value.hint


def test_get_bucket_of_an_unregistered_name_says_how_to_register_it(database: Database) -> None:
    with pytest.raises(NotFoundError) as missing, database.session() as session:
        get_bucket(session, "archive-dest")
    assert missing.value.hint is not None
    assert "aws-copy-pt bucket add archive-dest --credentials C" in missing.value.hint


def test_copy_engine_gets_a_client_for_the_bucket_region_and_its_copy_settings(
    database: Database,
    factory: ClientFactory,
    s3_server: MotoS3Server,
    s3_accounts: SandboxAccounts,
    bucket_factory: BucketFactory,
    s3_client_for: S3ClientFor,
) -> None:
    name = bucket_factory(s3_accounts.destination, "eu-west-1")
    request = _request(
        s3_server,
        name,
        expected_owner=DESTINATION_ACCOUNT_ID,
        storage_class="STANDARD_IA",
        metadata_directive="REPLACE",
    )
    with database.session() as session:
        add_bucket(session, request, factory=factory)
    with database.session() as session:
        bucket = get_bucket(session, name)
        client = buckets.s3_client_for(factory, bucket)
        settings = copy_settings(bucket)
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == s3_server.endpoint_url
    assert settings == CopySettings(
        acl="bucket-owner-full-control",
        storage_class="STANDARD_IA",
        metadata_directive="REPLACE",
        expected_owner=DESTINATION_ACCOUNT_ID,
    )
    client.put_object(Bucket=name, Key="probe.txt", Body=b"x", **settings.destination_args())
    owner_view = s3_client_for(s3_accounts.destination, "eu-west-1")
    head = owner_view.head_object(Bucket=name, Key="probe.txt")
    assert head["StorageClass"] == "STANDARD_IA"


def test_kms_settings_become_request_parameters_with_the_full_key_arn() -> None:
    settings = CopySettings(sse="aws:kms", sse_kms_key_id=KEY_ARN, requester_pays=True, acl=None)
    assert settings.destination_args() == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": KEY_ARN,
        "RequestPayer": "requester",
    }
