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
from aws_copy_pt.s3.answers import CopyAnswer
from aws_copy_pt.s3.arguments import settings_for, source_settings_for
from aws_copy_pt.s3.errors import S3CredentialsRejected, error_code, translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from aws_copy_pt.s3.clients import LazyS3
    from aws_copy_pt.s3.fast import FastS3

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

    The boto3 clients are built on first use: copies that all go the fast way (``s3.fast``)
    never need one.
    """

    source_bucket: str
    dest_bucket: str
    source_s3: LazyS3
    dest_s3: LazyS3
    dest_args: dict[str, Any]  # ACL, storage class, SSE, RequestPayer, ExpectedBucketOwner
    source_args: dict[str, Any]  # ExpectedBucketOwner / RequestPayer for staging requests
    metadata_directive: str = "COPY"
    tagging_directive: str = "COPY"
    dest_fast: FastS3 | None = None  # CopyObject, HEAD and listings of the destination
    source_fast: FastS3 | None = None  # HEAD and listings of staging
    source_endpoint: str | None = None  # the staging bucket's --endpoint-url; None: AWS

    @property
    def source_client(self) -> S3Client:
        return self.source_s3.get()

    @property
    def dest_client(self) -> S3Client:
        return self.dest_s3.get()

    def lister(self, *, source: bool) -> Lister:
        if source:
            return Lister(self.source_s3, self.source_bucket, self.source_args, self.source_fast)
        return Lister(self.dest_s3, self.dest_bucket, self.dest_args, self.dest_fast)

    def head_source(self, key: str) -> ObjectHead | None:
        """HEAD a staging object (None: it does not exist)."""
        return head(self.source_s3, self.source_bucket, key, self.source_args, self.source_fast)

    def head_dest(self, key: str) -> ObjectHead | None:
        """HEAD a destination object (None: it does not exist)."""
        return head(self.dest_s3, self.dest_bucket, key, self.dest_args, self.dest_fast)

    def name_credential(self, error: BaseException) -> None:
        """Put the registered credential's name into ``error``'s hint, if it is a rejection of
        one of this route's credentials."""
        name_credential(error, self.source_bucket, self.source_s3)
        name_credential(error, self.dest_bucket, self.dest_s3)

    def source_pin(self, operation: str, source_key: str, etag: str | None) -> dict[str, Any]:
        """CopySource plus the ETag pin and what ``operation`` carries of the source's settings
        (its expected owner)."""
        pin: dict[str, Any] = {"CopySource": {"Bucket": self.source_bucket, "Key": source_key}}
        if etag:
            pin["CopySourceIfMatch"] = quoted_etag(etag)
        return {**pin, **source_settings_for(operation, self.source_args)}


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


def head(
    client: LazyS3,
    bucket: str,
    key: str,
    settings: Mapping[str, Any],
    fast: FastS3 | None = None,
) -> ObjectHead | None:
    """HEAD with checksums (the fast way when it can); None when the object does not exist."""
    extra = settings_for("HeadObject", settings)
    try:
        answer: Mapping[str, Any] | None = None if fast is None else fast.head(bucket, key, extra)
        if answer is None:
            answer = client.get().head_object(
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
    """Lists one bucket: the fast way when it can, boto3 otherwise."""

    client: LazyS3
    bucket: str
    settings: Mapping[str, Any]  # the bucket's (ListObjectsV2 takes its owner and payer)
    fast: FastS3 | None = None

    def page(
        self, prefix: str, start_after: str | None, token: str | None
    ) -> tuple[list[Mapping[str, Any]], str | None]:
        """One page: its objects (boto3 ``Contents`` shape) and the token of the next one."""
        extra = settings_for("ListObjectsV2", self.settings)
        fast = self.fast
        if fast is not None:
            listed = call(
                "ListObjectsV2",
                self.bucket,
                None,
                lambda: fast.list_objects(
                    self.bucket, prefix=prefix, start_after=start_after, token=token, extra=extra
                ),
            )
            if listed is not None:
                return list(listed.contents), listed.next_token
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, **extra}
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
    params = copy_params(
        route,
        source_key,
        dest_key,
        etag=etag,
        algorithm=algorithm,
        replacement=replacement,
        annotation=annotation,
    )
    fast = route.dest_fast
    if fast is not None:
        answer = call("CopyObject", route.dest_bucket, dest_key, lambda: fast.copy(params))
        if answer is not None:
            return answer
    return copy_by_boto3(route, params)


def copy_params(
    route: CopyRoute,
    source_key: str,
    dest_key: str,
    *,
    etag: str | None,
    algorithm: str,
    replacement: ObjectHead | None = None,
    annotation: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """CopyObject's boto3-style parameters (see :func:`copy_single`)."""
    params: dict[str, Any] = {
        "Bucket": route.dest_bucket,
        "Key": dest_key,
        **route.source_pin("CopyObject", source_key, etag),
        **settings_for("CopyObject", route.dest_args),
        "ChecksumAlgorithm": algorithm,
    }
    if route.tagging_directive != "COPY":
        params["TaggingDirective"] = route.tagging_directive
    if replacement is not None:
        params["MetadataDirective"] = "REPLACE"
        params.update(replacement.content)
        params["Metadata"] = carried_metadata(route, replacement, annotation)
    return params


def copy_by_boto3(route: CopyRoute, params: Mapping[str, Any]) -> CopyAnswer:
    """CopyObject through the destination's boto3 client."""
    result: Mapping[str, Any] = call(
        "CopyObject",
        route.dest_bucket,
        params["Key"],
        lambda: route.dest_client.copy_object(**params),
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
