"""Where a bucket lives, asked the one way that works across accounts: HeadBucket.

GetBucketLocation is never used: AWS answers it only to the bucket's owner, which is the very
failure this tool exists to work around. HeadBucket instead carries the bucket's region in the
``x-amz-bucket-region`` header on AWS's 200, 301 and 403 answers (and botocore follows a 301/400
wrong-region answer by itself), so the region is read from the headers of a success *and* of the
ClientError's response. S3-compatible stores (MinIO, Ceph, GCS, Spaces) often send no header, or
an empty one: then the caller keeps the region it was given or the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.errors import CREDENTIALS_REJECTED, S3NotFound, error_code, translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION_HEADER = "x-amz-bucket-region"
_NO_ANSWER = {"", "null", "none"}


@dataclass(frozen=True)
class BucketProbe:
    """What one HeadBucket said: the HTTP status and the region, if the store named one."""

    bucket: str
    status: int
    region: str | None
    error: BaseException | None = None

    @property
    def reachable(self) -> bool:
        return self.status == 200

    def region_or(self, fallback: str) -> str:
        return self.region or fallback


def region_in(response: Mapping[str, Any]) -> str | None:
    """The bucket region named by a HeadBucket answer (success or error), else None."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    candidates = (
        headers.get(REGION_HEADER),
        response.get("BucketRegion"),
        response.get("Error", {}).get("Region"),  # body of a 400 AuthorizationHeaderMalformed
    )
    for value in candidates:
        if isinstance(value, str) and value.strip().lower() not in _NO_ANSWER:
            return value.strip()
    return None


def probe_bucket(s3: S3Client, bucket: str, *, expected_owner: str | None = None) -> BucketProbe:
    """HeadBucket ``bucket``; any HTTP answer is returned, transport failures are raised.

    Raises the translated error (unreachable endpoint, missing profile...) when no HTTP answer
    came back at all, since then there is nothing to read a region from.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if expected_owner:
            response: Mapping[str, Any] = s3.head_bucket(
                Bucket=bucket, ExpectedBucketOwner=expected_owner
            )
        else:
            response = s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        return BucketProbe(bucket, status, region_in(exc.response), exc)
    except BotoCoreError as exc:
        raise translate(exc, operation="HeadBucket", bucket=bucket) from exc
    return BucketProbe(bucket, 200, region_in(response))


def rejected_keys(s3: S3Client, bucket: str) -> AwsCopyPtError | None:
    """Why a HeadBucket was refused with 403, when the keys themselves were the reason.

    A HEAD's 403 has no body to say why; a listing's does. Lists one key of ``bucket``: the
    translated error when S3 rejects the keys (wrong, deactivated, expired), else None (the
    HEAD's answer stands, whatever the listing says).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except ClientError as exc:
        if error_code(exc) in CREDENTIALS_REJECTED:
            error = translate(exc, operation="ListObjectsV2", bucket=bucket)
            error.__cause__ = exc
            return error
    except BotoCoreError:
        pass
    return None


def bucket_not_found(bucket: str, endpoint_url: str | None) -> S3NotFound:
    where = f" at {endpoint_url}" if endpoint_url else ""
    return S3NotFound(
        f"bucket {bucket} does not exist{where} (HeadBucket answered 404)",
        hint="check the spelling; bucket names are global, so ask the owner for the exact name",
    )
