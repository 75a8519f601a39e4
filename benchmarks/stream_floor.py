"""The floor of a streamed copy in Python: what `stream_bench.py` runs as ``python-floor``.

GET each object under the source prefix with boto3, MD5 it, PUT it with that Content-MD5
(unsigned payload, as aws-copy-pt and rclone send it), 32 threads, whole objects up to 16 MiB
and 16 MiB parts above; no database, no verification listing, no resume, no provenance. It is
not a tool: it shows how fast a Python client can stream between the two servers at all, so
the gap between it and aws-copy-pt is aws-copy-pt's own bookkeeping and the gap between it
and rclone is Python's.

    python -m benchmarks.stream_floor SRC_ENDPOINT SRC_BUCKET/PREFIX DST_ENDPOINT DST_BUCKET/PREFIX

Keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

PART = 16 * 1024 * 1024
THREADS = 32


def _client(endpoint: str) -> Any:
    config = Config(
        max_pool_connections=64,
        s3={"addressing_style": "path", "payload_signing_enabled": False},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session(region_name="us-east-1").client(
        "s3", endpoint_url=endpoint, config=config
    )


def _read(source: Any, bucket: str, key: str, first: int, size: int) -> bytearray:
    buffer = bytearray(size)
    view, filled = memoryview(buffer), 0
    answer = source.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{first + size - 1}")
    body = answer["Body"]
    while filled < size:
        filled += body.readinto(view[filled : filled + 256 * 1024])
    return buffer


def _md5(data: bytearray) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def main(argv: list[str]) -> int:
    source_url, source_path, dest_url, dest_path = argv
    source, dest = _client(source_url), _client(dest_url)
    source_bucket, _, source_prefix = source_path.partition("/")
    dest_bucket, _, dest_prefix = dest_path.partition("/")
    listed = [
        (item["Key"], item["Size"])
        for page in source.get_paginator("list_objects_v2").paginate(
            Bucket=source_bucket, Prefix=source_prefix
        )
        for item in page.get("Contents", [])
    ]

    def copy(key: str, size: int) -> None:
        target = dest_prefix + key[len(source_prefix) :]
        if size <= PART:
            data = _read(source, source_bucket, key, 0, size) if size else bytearray()
            dest.put_object(Bucket=dest_bucket, Key=target, Body=data, ContentMD5=_md5(data))
            return
        upload = dest.create_multipart_upload(Bucket=dest_bucket, Key=target)["UploadId"]
        with ThreadPoolExecutor(8) as parts:
            etags = list(
                parts.map(
                    lambda first: _part(
                        source, dest, (source_bucket, key), first, size, target, dest_bucket, upload
                    ),
                    range(0, size, PART),
                )
            )
        dest.complete_multipart_upload(
            Bucket=dest_bucket,
            Key=target,
            UploadId=upload,
            MultipartUpload={
                "Parts": [{"PartNumber": n + 1, "ETag": etag} for n, etag in enumerate(etags)]
            },
        )

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda item: copy(*item), listed))
    return 0


def _part(
    source: Any,
    dest: Any,
    where: tuple[str, str],
    first: int,
    size: int,
    target: str,
    dest_bucket: str,
    upload: str,
) -> str:
    data = _read(source, *where, first, min(PART, size - first))
    answer = dest.upload_part(
        Bucket=dest_bucket,
        Key=target,
        UploadId=upload,
        PartNumber=first // PART + 1,
        Body=data,
        ContentMD5=_md5(data),
    )
    return str(answer["ETag"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
