"""Which bucket settings each S3 operation carries, and their HTTP headers: declared once.

A bucket's registration turns into boto3-style settings (``core.bucket_settings``): the
destination's write settings (ACL, storage class, encryption) and, for every bucket, what every
request to it carries (the expected owner, requester pays). Not every operation takes every
setting, so each operation's share is declared here, as s3transfer declares its argument tables,
and the copier, the multipart copy and the fast path all filter through :func:`settings_for`.

:data:`HEADERS` names the HTTP header of each parameter the fast path (``s3.fast``) writes
itself; a unit test holds both tables to botocore's S3 model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What every request to a bucket carries.
EVERY_REQUEST = frozenset({"ExpectedBucketOwner", "RequestPayer"})
# How a new object is written: the destination bucket's settings.
WRITE_SETTINGS = frozenset({"ACL", "StorageClass", "ServerSideEncryption", "SSEKMSKeyId"})

# Which of a bucket's own settings go into a request to that bucket.
BUCKET_SETTINGS: dict[str, frozenset[str]] = {
    "CopyObject": WRITE_SETTINGS | EVERY_REQUEST,
    "PutObject": WRITE_SETTINGS | EVERY_REQUEST,
    "CreateMultipartUpload": WRITE_SETTINGS | EVERY_REQUEST,
    "UploadPartCopy": EVERY_REQUEST,
    "CompleteMultipartUpload": EVERY_REQUEST,
    "AbortMultipartUpload": EVERY_REQUEST,
    "ListParts": EVERY_REQUEST,
    "ListMultipartUploads": EVERY_REQUEST,
    "HeadObject": EVERY_REQUEST,
    "GetObjectTagging": EVERY_REQUEST,
    "ListObjectsV2": EVERY_REQUEST,
    "DeleteObject": EVERY_REQUEST,
    "DeleteObjects": EVERY_REQUEST,
    "GetObject": EVERY_REQUEST,
    "ListObjectVersions": EVERY_REQUEST,
    "GetBucketVersioning": frozenset({"ExpectedBucketOwner"}),
}

# The source bucket's settings in a request to the destination (a copy reads the source),
# under the name the operation gives them.
SOURCE_SETTINGS: dict[str, dict[str, str]] = {
    "CopyObject": {"ExpectedBucketOwner": "ExpectedSourceBucketOwner"},
    "UploadPartCopy": {"ExpectedBucketOwner": "ExpectedSourceBucketOwner"},
}

# The header of every parameter the fast path sends (the same in every operation that has it).
HEADERS: dict[str, str] = {
    "ACL": "x-amz-acl",
    "CacheControl": "Cache-Control",
    "ChecksumAlgorithm": "x-amz-checksum-algorithm",
    "ChecksumMode": "x-amz-checksum-mode",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "ContentType": "Content-Type",
    "CopySource": "x-amz-copy-source",
    "CopySourceIfMatch": "x-amz-copy-source-if-match",
    "Expires": "Expires",
    "ExpectedBucketOwner": "x-amz-expected-bucket-owner",
    "ExpectedSourceBucketOwner": "x-amz-source-expected-bucket-owner",
    "MetadataDirective": "x-amz-metadata-directive",
    "RequestPayer": "x-amz-request-payer",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "StorageClass": "x-amz-storage-class",
    "TaggingDirective": "x-amz-tagging-directive",
    "WebsiteRedirectLocation": "x-amz-website-redirect-location",
}
METADATA_PREFIX = "x-amz-meta-"  # Metadata={name: value} -> one header per name


def settings_for(operation: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a bucket's ``settings`` that ``operation`` takes."""
    wanted = BUCKET_SETTINGS[operation]
    return {name: value for name, value in settings.items() if name in wanted}


def every_request(settings: Mapping[str, Any]) -> dict[str, Any]:
    """What every request to the bucket carries (its expected owner, requester pays), for a
    write that must not take the bucket's write settings (a batch job's manifest: SSE-S3, the
    standard storage class)."""
    return {name: value for name, value in settings.items() if name in EVERY_REQUEST}


def source_settings_for(operation: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The source bucket's ``settings`` as ``operation`` (a copy) names them."""
    renamed = SOURCE_SETTINGS.get(operation, {})
    return {renamed[name]: value for name, value in settings.items() if name in renamed}
