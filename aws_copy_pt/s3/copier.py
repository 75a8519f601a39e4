"""Server-side copy operations on S3: look, copy one object (``s3.deletes`` cleans staging).

The copy itself is made by the *destination* bucket's principal (its client signs CopyObject and
UploadPartCopy); listing, HEAD and deleting staging objects use the *source* bucket's. Every
botocore failure leaves this module as a typed error from ``s3.errors.translate``.

What the copy engine needs to know about an object comes back as ``core.copy_plan.ObjectFacts``;
a HEAD adds what a CopyObject with ``MetadataDirective=REPLACE`` or a multipart copy must carry
over explicitly (content headers, user metadata, tags).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from aws_copy_pt.core.copy_plan import (
    CHECKSUM_ALGORITHMS,
    Checksum,
    ObjectFacts,
    list_start_after,
    normalize_etag,
    quoted_etag,
)
from aws_copy_pt.core.provenance import provenance_in
from aws_copy_pt.errors import AwsCopyPtError
from aws_copy_pt.s3.errors import S3CredentialsRejected, error_code, translate
from aws_copy_pt.s3.lean import CopyAnswer, LeanS3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from aws_copy_pt.s3.clients import LazyS3

log = logging.getLogger(__name__)

T = TypeVar("T")
CONTENT_HEADERS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "Expires",
    "WebsiteRedirectLocation",
)
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class CopyRoute:
    """Two registered buckets, the clients that reach them, and what every copy applies.

    The clients are built on first use: copies that all go the lean way never need one.
    """

    source_bucket: str
    dest_bucket: str
    source_s3: LazyS3
    dest_s3: LazyS3
    dest_args: dict[str, Any]  # ACL, storage class, SSE, RequestPayer, ExpectedBucketOwner
    source_args: dict[str, Any]  # ExpectedBucketOwner / RequestPayer for staging requests
    metadata_directive: str = "COPY"
    tagging_directive: str = "COPY"
    dest_lean: LeanS3 | None = None  # the fast path for CopyObject and destination listings
    source_lean: LeanS3 | None = None  # the fast path for staging listings
    source_endpoint: str | None = None  # the staging bucket's --endpoint-url; None: AWS

    @property
    def source_client(self) -> S3Client:
        return self.source_s3.get()

    @property
    def dest_client(self) -> S3Client:
        return self.dest_s3.get()

    def lister(self, *, source: bool) -> Lister:
        if source:
            return Lister(
                self.source_s3,
                self.source_bucket,
                owner_only(self.source_args),
                self.source_lean,
            )
        return Lister(self.dest_s3, self.dest_bucket, owner_only(self.dest_args), self.dest_lean)

    def name_credential(self, error: BaseException) -> None:
        """Put the registered credential's name into ``error``'s hint, if it is a rejection of
        one of this route's credentials."""
        name_credential(error, self.source_bucket, self.source_s3)
        name_credential(error, self.dest_bucket, self.dest_s3)

    @property
    def source_owner(self) -> str | None:
        owner = self.source_args.get("ExpectedBucketOwner")
        return None if owner is None else str(owner)

    def source_pin(self, source_key: str, etag: str | None) -> dict[str, Any]:
        """CopySource plus the ETag pin and the expected source owner."""
        pin: dict[str, Any] = {"CopySource": {"Bucket": self.source_bucket, "Key": source_key}}
        if etag:
            pin["CopySourceIfMatch"] = quoted_etag(etag)
        if self.source_owner:
            pin["ExpectedSourceBucketOwner"] = self.source_owner
        return pin


@dataclass(frozen=True)
class ObjectHead:
    """A HEAD's answer: the facts plus everything a metadata-replacing copy must carry."""

    facts: ObjectFacts
    content: dict[str, Any] = field(default_factory=dict)  # CONTENT_HEADERS present
    metadata: dict[str, str] = field(default_factory=dict)
    tag_count: int | None = None


@dataclass(frozen=True)
class RangeListing:
    """Objects found listing the key range of a batch; keys up to ``covered_to`` were seen."""

    found: dict[str, ObjectFacts]
    covered_to: str | None  # None: nothing could be listed within the budget

    def covers(self, key: str) -> bool:
        return self.covered_to is not None and key <= self.covered_to


def owner_only(args: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters every request to a bucket carries (not the write settings)."""
    return {k: v for k, v in args.items() if k in ("ExpectedBucketOwner", "RequestPayer")}


def call(operation: str, bucket: str, key: str | None, request: Callable[[], T]) -> T:
    """Run one boto3 call, turning its failure into a user-facing error."""
    try:
        return request()
    except (BotoCoreError, ClientError) as exc:
        raise translate(exc, operation=operation, bucket=bucket, key=key) from exc


def name_credential(error: BaseException, bucket: str, client: LazyS3) -> None:
    """Name ``client``'s credential in ``error``'s hint when S3 rejected it for ``bucket``."""
    if (
        isinstance(error, S3CredentialsRejected)
        and error.bucket == bucket
        and client.credential is not None
    ):
        error.name_credential(client.credential)


def cause_code(error: AwsCopyPtError) -> str | None:
    """The S3 error code behind a translated error (``NoSuchUpload``, ``412``...)."""
    return None if error.__cause__ is None else error_code(error.__cause__)


# --- looking -----------------------------------------------------------------------------------


def head_lazily(
    s3: LazyS3, lean: LeanS3 | None, bucket: str, key: str, extra: Mapping[str, Any]
) -> ObjectHead | None:
    """:func:`head` the lean way when it can: the boto3 client is built only when needed."""
    quick = None if lean is None else lean.head(bucket, key, extra)
    if quick is not None:
        return head_from_answer(quick)
    return head(s3.get(), bucket, key, extra)


def head(client: S3Client, bucket: str, key: str, extra: Mapping[str, Any]) -> ObjectHead | None:
    """HEAD with checksums; None when the object does not exist."""
    try:
        answer: Mapping[str, Any] = client.head_object(
            Bucket=bucket, Key=key, ChecksumMode="ENABLED", **extra
        )
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise translate(exc, operation="HeadObject", bucket=bucket, key=key) from exc
    except BotoCoreError as exc:
        raise translate(exc, operation="HeadObject", bucket=bucket, key=key) from exc
    return head_from_answer(answer)


def head_from_answer(answer: Mapping[str, Any]) -> ObjectHead:
    encrypted = str(answer.get("ServerSideEncryption", "")).startswith("aws:kms") or bool(
        answer.get("SSECustomerAlgorithm")
    )
    facts = ObjectFacts(
        size=answer.get("ContentLength"),
        etag=normalize_etag(answer.get("ETag")),
        checksum=checksum_in(answer),
        kms_or_sse_c=encrypted,
    )
    metadata = dict(answer.get("Metadata") or {})
    facts = replace(facts, copied_from=provenance_in(metadata))
    content = {name: answer[name] for name in CONTENT_HEADERS if answer.get(name) is not None}
    tags = answer.get("TagCount")
    return ObjectHead(facts, content, metadata, tags)


def checksum_in(answer: Mapping[str, Any], algorithm: str | None = None) -> Checksum | None:
    """The flexible checksum an answer carries (``algorithm``'s if given)."""
    for name in (algorithm,) if algorithm else CHECKSUM_ALGORITHMS:
        value = answer.get(f"Checksum{name}")
        if value:
            return Checksum(str(name), str(value))
    return None


def facts_from_listing(item: Mapping[str, Any]) -> ObjectFacts:
    return ObjectFacts(
        size=item.get("Size"),
        etag=normalize_etag(item.get("ETag")),
        algorithms=tuple(item.get("ChecksumAlgorithm") or ()),
    )


def facts_from_copy(answer: CopyAnswer, algorithm: str) -> ObjectFacts:
    value = answer.checksums.get(algorithm)
    return ObjectFacts(
        etag=answer.etag,
        checksum=Checksum(algorithm, value) if value else None,
        kms_or_sse_c=bool(answer.sse and answer.sse.startswith("aws:kms")),
    )


@dataclass(frozen=True)
class Lister:
    """Lists one bucket: lean when it can, boto3 otherwise."""

    client: LazyS3
    bucket: str
    extra: Mapping[str, Any]  # ExpectedBucketOwner / RequestPayer
    lean: LeanS3 | None = None

    def page(
        self, prefix: str, start_after: str | None, token: str | None
    ) -> tuple[list[Mapping[str, Any]], str | None]:
        """One page: its objects (boto3 ``Contents`` shape) and the token of the next one."""
        if self.lean is not None:
            lean = self.lean.list_objects(
                self.bucket, prefix=prefix, start_after=start_after, token=token, extra=self.extra
            )
            if lean is not None:
                return list(lean.contents), lean.next_token
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, **self.extra}
        if start_after:
            kwargs["StartAfter"] = start_after
        if token:
            kwargs["ContinuationToken"] = token
        answer = call(
            "ListObjectsV2", self.bucket, None, lambda: self.client.get().list_objects_v2(**kwargs)
        )
        contents: list[Mapping[str, Any]] = list(answer.get("Contents", []))
        return contents, answer.get("NextContinuationToken") if answer.get("IsTruncated") else None

    def name_credential(self, error: BaseException) -> None:
        """See :meth:`CopyRoute.name_credential`."""
        name_credential(error, self.bucket, self.client)

    def pages(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[list[Mapping[str, Any]]]:
        """Every page below ``prefix`` (after ``start_after``), in key order."""
        token: str | None = None
        while True:
            contents, token = self.page(prefix, start_after, token)
            if contents:
                yield contents
            if token is None:
                return


def list_range(
    lister: Lister, keys: list[str], *, prefix: str = "", page_budget: int
) -> RangeListing:
    """List from the smallest to the largest of ``keys`` (sorted), at most ``page_budget`` pages.

    One request shows up to 1,000 objects: far cheaper than one HEAD each. A range that holds
    many other objects stops at the budget; keys beyond ``covered_to`` need a HEAD.
    """
    first, last = keys[0], keys[-1]
    found: dict[str, ObjectFacts] = {}
    start = list_start_after(first)
    start_after = start if start > prefix else None
    covered: str | None = None
    token: str | None = None
    for _ in range(page_budget):
        contents, token = lister.page(prefix, start_after, token)
        for item in contents:
            found[item["Key"]] = facts_from_listing(item)
        if token is None:
            return RangeListing(found, last)
        covered = contents[-1]["Key"] if contents else covered
        if covered is not None and covered >= last:
            return RangeListing(found, last)
    return RangeListing(found, covered)


# --- copying -----------------------------------------------------------------------------------


def copy_single(
    route: CopyRoute,
    source_key: str,
    dest_key: str,
    *,
    etag: str | None,
    algorithm: str,
    replacement: ObjectHead | None = None,
    annotation: Mapping[str, str] | None = None,
) -> CopyAnswer:
    """One CopyObject. With ``replacement`` (a HEAD of the source) the metadata is rewritten:
    the source's content headers, its user metadata (unless the bucket's metadata directive is
    REPLACE) and ``annotation``."""
    params: dict[str, Any] = {
        "Bucket": route.dest_bucket,
        "Key": dest_key,
        **route.source_pin(source_key, etag),
        **route.dest_args,
        "ChecksumAlgorithm": algorithm,
    }
    if route.tagging_directive != "COPY":
        params["TaggingDirective"] = route.tagging_directive
    if replacement is not None:
        params["MetadataDirective"] = "REPLACE"
        params.update(replacement.content)
        params["Metadata"] = carried_metadata(route, replacement, annotation)
    if route.dest_lean is not None:
        answer = route.dest_lean.copy(params)
        if answer is not None:
            return answer
    result: Mapping[str, Any] = call(
        "CopyObject", route.dest_bucket, dest_key, lambda: route.dest_client.copy_object(**params)
    )
    copied: Mapping[str, Any] = result.get("CopyObjectResult", {})
    checksums = {
        a: str(copied[f"Checksum{a}"]) for a in CHECKSUM_ALGORITHMS if copied.get(f"Checksum{a}")
    }
    return CopyAnswer(
        normalize_etag(copied.get("ETag")),
        checksums,
        result.get("ServerSideEncryption"),
        source_version=result.get("CopySourceVersionId"),
    )


def carried_metadata(
    route: CopyRoute, source: ObjectHead, annotation: Mapping[str, str] | None
) -> dict[str, str]:
    """User metadata for a copy that sets it explicitly (REPLACE or multipart)."""
    kept = dict(source.metadata) if route.metadata_directive == "COPY" else {}
    return {**kept, **(annotation or {})}
