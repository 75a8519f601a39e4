"""How uploads are signed (``s3.clients.sign_by_checksum``), against a signature-checking
server (``rclone serve s3``) over plain HTTP.

An upload that carries Content-MD5 is signed by that (signed) header: ``UNSIGNED-PAYLOAD``, no
SHA-256 pass over its bytes, as rclone's own client does; the store still checks the MD5. An
upload without a checksum header keeps its body signed.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aws_copy_pt.s3.clients import ClientFactory, CredentialSpec
from aws_copy_pt.sandbox.s3server import RcloneS3Server

BODY = bytearray(b"delivered bytes " * 65536)  # 1 MiB


@pytest.fixture
def uploads(rclone_s3_server: RcloneS3Server) -> tuple[Any, list[dict[str, Any]]]:
    """Our client for the rclone server, and the headers of every request it sends."""
    account = rclone_s3_server.account
    spec = CredentialSpec(
        key="rclone",
        kind="keys",
        access_key_id=account.access_key_id,
        secret_access_key=account.secret_access_key,
    )
    client = ClientFactory().s3(
        spec, region="us-east-1", endpoint_url=rclone_s3_server.endpoint_url
    )
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-send.s3", lambda request, **_: sent.append(dict(request.headers))
    )
    bucket = "signing-" + hashlib.md5(str(id(sent)).encode()).hexdigest()[:8]
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket  # type: ignore[attr-defined]
    return client, sent


def _md5(data: bytes | bytearray) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _content_sha256(headers: dict[str, Any]) -> str:
    value = next(v for k, v in headers.items() if k.lower() == "x-amz-content-sha256")
    return value.decode() if isinstance(value, bytes) else str(value)


def test_an_upload_with_content_md5_is_sent_unsigned_and_stored_whole(
    uploads: tuple[Any, list[dict[str, Any]]],
) -> None:
    client, sent = uploads

    client.put_object(Bucket=client.bucket, Key="k", Body=BODY, ContentMD5=_md5(BODY))

    assert _content_sha256(sent[-1]) == "UNSIGNED-PAYLOAD"
    got = client.get_object(Bucket=client.bucket, Key="k")["Body"].read()
    assert got == BODY


def test_an_unsigned_upload_whose_bytes_disagree_with_its_content_md5_is_refused(
    uploads: tuple[Any, list[dict[str, Any]]],
) -> None:
    client, _ = uploads

    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=client.bucket, Key="bad", Body=BODY, ContentMD5=_md5(b"other"))

    assert refused.value.response["Error"]["Code"] in ("BadDigest", "InvalidDigest")
    with pytest.raises(ClientError):
        client.head_object(Bucket=client.bucket, Key="bad")


def test_an_upload_without_a_checksum_header_keeps_its_body_signed(
    uploads: tuple[Any, list[dict[str, Any]]],
) -> None:
    client, sent = uploads

    client.put_object(Bucket=client.bucket, Key="plain", Body=bytes(BODY))

    assert _content_sha256(sent[-1]) == hashlib.sha256(BODY).hexdigest()


def test_a_part_with_content_md5_is_sent_unsigned_and_the_upload_completes(
    uploads: tuple[Any, list[dict[str, Any]]],
) -> None:
    client, sent = uploads
    upload = client.create_multipart_upload(Bucket=client.bucket, Key="parts")["UploadId"]

    part = client.upload_part(
        Bucket=client.bucket,
        Key="parts",
        UploadId=upload,
        PartNumber=1,
        Body=BODY,
        ContentMD5=_md5(BODY),
    )
    client.complete_multipart_upload(
        Bucket=client.bucket,
        Key="parts",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )

    assert _content_sha256(sent[-2]) == "UNSIGNED-PAYLOAD"
    assert client.get_object(Bucket=client.bucket, Key="parts")["Body"].read() == BODY
