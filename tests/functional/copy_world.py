"""A copy-engine world on the moto server: two accounts, a staging and a destination bucket.

The staging bucket belongs to account A (111111111111, us-east-1), the destination bucket to
account B (222222222222, eu-west-1). As in production, both are registered with account A's
credential: A's principal makes the copies into B's bucket (moto allows cross-account writes by
default, where AWS would need B's bucket policy). The raw harness clients (``staging_s3``,
``dest_s3``) set the scene and look at the result as each bucket's owner.

The product reaches moto through a fault proxy (its buckets are registered with the proxy's
endpoint), so :meth:`CopyWorld.hook` sees and may answer its requests whichever HTTP client sent
them: the fast path's CRT or boto3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from sqlalchemy import select

from aws_copy_pt.core.states import TransferState
from aws_copy_pt.db.engine import Database, open_database
from aws_copy_pt.db.models import AwsCredential, Bucket, Event, ObjectCopy, Transfer
from aws_copy_pt.home.paths import Home
from aws_copy_pt.s3.clients import ClientFactory
from aws_copy_pt.sandbox.s3server import MotoS3Server, SandboxAccounts
from aws_copy_pt.services.copy import CopyReport, copy_transfer
from aws_copy_pt.services.setup.buckets import s3_client_for
from tests.fixtures.s3 import BucketFactory
from tests.support.faultproxy import Answer, FaultProxy, ProxyRequest, matching

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

STAGING_REGION = "us-east-1"
DEST_REGION = "eu-west-1"


@dataclass
class CopyWorld:
    server: MotoS3Server
    accounts: SandboxAccounts
    db: Database
    factory: ClientFactory
    staging: str
    dest: str
    staging_s3: S3Client
    dest_s3: S3Client
    proxy: FaultProxy

    def put(self, key: str, body: bytes = b"x", **extra: Any) -> dict[str, Any]:
        """Stage an object (as Globus would) and return its HEAD."""
        self.staging_s3.put_object(Bucket=self.staging, Key=key, Body=body, **extra)
        return dict(
            self.staging_s3.head_object(Bucket=self.staging, Key=key, ChecksumMode="ENABLED")
        )

    def transfer(
        self,
        keys: list[str],
        *,
        dest_prefix: str = "",
        options: dict[str, Any] | None = None,
        kind: str = "direct",
        globus_task_id: str | None = None,
        **row_values: Any,
    ) -> int:
        """A transfer in COPYING whose rows know only their keys (like a Globus listing)."""
        with self.db.session() as session:
            transfer = Transfer(
                kind=kind,
                state=TransferState.COPYING.value,
                globus_task_id=globus_task_id,
                source_bucket_id=self._bucket_id(session, self.staging),
                dest_bucket_id=self._bucket_id(session, self.dest),
                dest_prefix=dest_prefix,
                options=options or {},
            )
            session.add(transfer)
            session.flush()
            for key in keys:
                session.add(ObjectCopy(transfer_id=transfer.id, source_key=key, **row_values))
            return transfer.id

    def copy(self, transfer_id: int, **kwargs: Any) -> CopyReport:
        return copy_transfer(
            self.db, self.factory, transfer_id, concurrency=kwargs.pop("concurrency", 4), **kwargs
        )

    def rows(self, transfer_id: int) -> dict[str, ObjectCopy]:
        with self.db.session() as session:
            found = session.scalars(select(ObjectCopy).where(ObjectCopy.transfer_id == transfer_id))
            return {row.source_key: row for row in found}

    def row(self, transfer_id: int, key: str) -> ObjectCopy:
        return self.rows(transfer_id)[key]

    def state(self, transfer_id: int) -> str:
        with self.db.session() as session:
            transfer = session.get(Transfer, transfer_id)
            assert transfer is not None
            return transfer.state

    def events(self, transfer_id: int) -> list[str]:
        with self.db.session() as session:
            query = select(Event).where(Event.transfer_id == transfer_id).order_by(Event.id)
            return [f"{e.kind}: {e.message}" for e in session.scalars(query)]

    def update_bucket(self, name: str, **values: Any) -> None:
        with self.db.session() as session:
            bucket = session.scalars(select(Bucket).where(Bucket.name == name)).one()
            for column, value in values.items():
                setattr(bucket, column, value)

    def product_client(self, name: str) -> S3Client:
        """The very client the engine uses for a bucket (to hook its events in tests)."""
        with self.db.session() as session:
            bucket = session.scalars(select(Bucket).where(Bucket.name == name)).one()
            return s3_client_for(self.factory, bucket)

    def hook(self, bucket: str, operation: str, handler: Callable[..., Any]) -> None:
        """Run ``handler(request=...)`` (a :class:`HookedRequest`) before every ``operation``
        the engine sends to ``bucket``; a returned :class:`Answer` answers instead of the
        server, and changed headers are sent as changed."""

        def respond(request: ProxyRequest) -> Answer | None:
            url = f"{self.proxy.endpoint_url}{request.raw_target}"
            headers = cast(dict[str, str], request.headers)
            hooked = HookedRequest(request.method, url, headers, request.body)
            answer: Answer | None = handler(request=hooked)
            return answer

        self.proxy.intercept(matching(operation, bucket=bucket), respond)

    def unhook(self) -> None:
        """No hook applies any more: requests go to the server as sent."""
        self.proxy.clear_faults()

    def dest_head(self, key: str) -> dict[str, Any]:
        return dict(self.dest_s3.head_object(Bucket=self.dest, Key=key, ChecksumMode="ENABLED"))

    def dest_tags(self, key: str) -> dict[str, str]:
        # moto files tags under the writing account (AWS: the object's), so ask as the writer.
        client = self.server.client(self.accounts.staging, DEST_REGION)
        tags = client.get_object_tagging(Bucket=self.dest, Key=key)["TagSet"]
        return {tag["Key"]: tag["Value"] for tag in tags}

    def dest_keys(self) -> list[str]:
        answer = self.dest_s3.list_objects_v2(Bucket=self.dest)
        return [item["Key"] for item in answer.get("Contents", [])]

    def open_uploads(self) -> list[str]:
        return [
            u["Key"]
            for u in self.dest_s3.list_multipart_uploads(Bucket=self.dest).get("Uploads", [])
        ]

    @staticmethod
    def _bucket_id(session: Any, name: str) -> int:
        return int(session.scalars(select(Bucket.id).where(Bucket.name == name)).one())


@dataclass
class HookedRequest:
    """A request as :meth:`CopyWorld.hook` shows it; ``headers`` (lower-case names) may be
    changed before it goes on."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@pytest.fixture
def copy_world(
    s3_server: MotoS3Server, bucket_factory: BucketFactory, tmp_path: Path
) -> Iterator[CopyWorld]:
    proxy = FaultProxy(s3_server.endpoint_url).start()
    accounts = s3_server.accounts()
    staging = bucket_factory(accounts.staging, STAGING_REGION, prefix="staging")
    dest = bucket_factory(accounts.destination, DEST_REGION, prefix="dest")
    db = open_database(Home(tmp_path / "home"))
    with db.session() as session:
        credential = AwsCredential(
            name="staging-keys",
            kind="keys",
            access_key_id=accounts.staging.access_key_id,
            secret_access_key=accounts.staging.secret_access_key,
            session_token=accounts.staging.session_token,
            account_id=accounts.staging.account_id,
        )
        session.add(credential)
        for name, region in ((staging, STAGING_REGION), (dest, DEST_REGION)):
            session.add(
                Bucket(
                    name=name,
                    credential=credential,
                    endpoint_url=proxy.endpoint_url,
                    region=region,
                )
            )
    world = CopyWorld(
        server=s3_server,
        accounts=accounts,
        db=db,
        factory=ClientFactory(),
        staging=staging,
        dest=dest,
        staging_s3=s3_server.client(accounts.staging, STAGING_REGION),
        dest_s3=s3_server.client(accounts.destination, DEST_REGION),
        proxy=proxy,
    )
    yield world
    db.close()
    proxy.stop()


def headers_of(request: HookedRequest) -> dict[str, str]:
    """A hooked request's headers (lower-case names)."""
    return dict(request.headers)


def s3_answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
    """A crafted S3 answer for a hook."""
    return Answer(status, list((headers or {}).items()), body)


def s3_error(status: int, code: str, message: str = "") -> Answer:
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    return s3_answer(status, body, {"content-type": "application/xml"})
