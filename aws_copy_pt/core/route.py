"""Which way a transfer's objects travel: server-side, or streamed through this machine.

Decided once per transfer, from the two buckets' endpoints and what the user asked
(``--route auto|server-side|stream``); pure, so the decision and its reason can be shown by
``--dry-run`` and ``transfers show`` before anything is sent.

The rule:

* **auto** (the default): both buckets on the same S3 service (same endpoint; every AWS region is
  one service) -> *server-side*: one CopyObject signed by the destination's credential, the bytes
  never leave the store. Different services (AWS and GCS, MinIO and Spaces, two endpoints) ->
  *stream*: ranged GETs with the source bucket's credential, uploads with the destination's.
* **server-side**: refused with the reason when the buckets are on different services.
* **stream**: always streamed, even on one service - for two accounts where no principal can
  read one bucket and write the other.

Whether one credential can read the source *and* write the destination cannot be known without
trying. There is no silent fall-back: a server-side copy refused with AccessDenied fails with a
hint naming ``--route stream``, because streaming moves every byte through this machine (and,
on AWS, out of the region and back: data-transfer charges) and that is the user's call. The one
automatic switch is per object and costs nothing extra: a store that refuses UploadPartCopy
(``NotImplemented``, as GCS's XML API does) gets that object streamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlparse

from aws_copy_pt.core.bucket_settings import is_aws_endpoint
from aws_copy_pt.core.copy_plan import GiB, MiB
from aws_copy_pt.core.errors import UsageError

GCS_HOSTS = ("storage.googleapis.com",)


class RouteChoice(StrEnum):
    """What the user asked for (``--route``)."""

    AUTO = "auto"
    SERVER_SIDE = "server-side"
    STREAM = "stream"


class RouteKind(StrEnum):
    """The way a transfer's objects go, once decided."""

    SERVER_SIDE = "server-side"
    STREAM = "stream"


class Provider(StrEnum):
    AWS = "aws"
    GCS = "gcs"  # the XML API with HMAC keys
    OTHER = "s3-compatible"  # MinIO, Ceph, Spaces, the local servers...


@dataclass(frozen=True)
class StoreTraits:
    """What a store does that the copy relies on."""

    flexible_checksums: bool  # x-amz-checksum-*, ChecksumType=FULL_OBJECT on multipart
    upload_part_copy: bool  # server-side multipart copies


@dataclass(frozen=True)
class RouteDecision:
    kind: RouteKind
    requested: RouteChoice
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"route": self.kind.value, "requested": self.requested.value, "why": self.reason}


def provider_of(endpoint_url: str | None) -> Provider:
    if is_aws_endpoint(endpoint_url):
        return Provider.AWS
    host = (urlparse(str(endpoint_url)).hostname or "").lower()
    return Provider.GCS if host in GCS_HOSTS else Provider.OTHER


def traits_of(endpoint_url: str | None) -> StoreTraits:
    """AWS checks flexible checksums; GCS ignores them and has no UploadPartCopy; other stores
    get Content-MD5 (which every S3-compatible store checks) and no flexible checksum."""
    provider = provider_of(endpoint_url)
    return StoreTraits(
        flexible_checksums=provider is Provider.AWS,
        upload_part_copy=provider is not Provider.GCS,
    )


def service_of(endpoint_url: str | None) -> str:
    """One name per S3 service: ``aws`` for every AWS endpoint, else the endpoint itself."""
    if is_aws_endpoint(endpoint_url):
        return "aws"
    return str(endpoint_url).rstrip("/").lower()


def same_service(first: str | None, second: str | None) -> bool:
    """Whether two endpoints are one S3 service (where one bucket name is one bucket)."""
    return service_of(first) == service_of(second)


def describe_endpoint(endpoint_url: str | None) -> str:
    return "AWS" if is_aws_endpoint(endpoint_url) else str(endpoint_url)


def decide_route(
    source_endpoint: str | None,
    dest_endpoint: str | None,
    requested: RouteChoice | str = RouteChoice.AUTO,
    *,
    names: tuple[str, str] = ("the source", "the destination"),
) -> RouteDecision:
    """The route of a transfer between buckets on these endpoints; :class:`RouteRefused` when
    ``server-side`` is asked for where it cannot work."""
    choice = RouteChoice(requested)
    same = service_of(source_endpoint) == service_of(dest_endpoint)
    where = (
        f"{names[0]} ({describe_endpoint(source_endpoint)}) and {names[1]} "
        f"({describe_endpoint(dest_endpoint)})"
    )
    if choice is RouteChoice.STREAM:
        return RouteDecision(RouteKind.STREAM, choice, "--route stream")
    if same:
        return RouteDecision(RouteKind.SERVER_SIDE, choice, f"{where} are on the same S3 service")
    if choice is RouteChoice.SERVER_SIDE:
        raise RouteRefused(
            f"{where} are on different S3 services: a server-side copy cannot cross between them",
            hint="leave --route out (or give --route stream): the objects are then streamed "
            "through this machine, read with the source's credential and written with the "
            "destination's",
        )
    return RouteDecision(RouteKind.STREAM, choice, f"{where} are on different S3 services")


class RouteRefused(UsageError):
    """``--route server-side`` between two services."""


def route_choice(text: str | None) -> RouteChoice:
    """A stored or typed route choice (None: auto); UsageError for anything else."""
    try:
        return RouteChoice(text or RouteChoice.AUTO)
    except ValueError:
        choices = ", ".join(choice.value for choice in RouteChoice)
        raise UsageError(f"route must be one of {choices}, not {text!r}") from None


STREAM_PART_SIZE = 16 * MiB  # bytes per ranged GET and uploaded part of a streamed copy
DEFAULT_STREAM_MEMORY = 8 * STREAM_PART_SIZE  # 8 parts in flight
MAX_STREAM_MEMORY = 64 * GiB


def stream_memory_problem(size: int) -> str | None:
    """Why ``size`` cannot be a streamed copy's memory budget, or None: at least one part
    (16 MiB), at most 64 GiB."""
    if STREAM_PART_SIZE <= size <= MAX_STREAM_MEMORY:
        return None
    return "it must be from 16 MiB (one part of a streamed copy) to 64 GiB"


def check_stream_memory(size: int | None) -> None:
    """A streamed copy's memory budget within its limits (None: the default)."""
    problem = None if size is None else stream_memory_problem(size)
    if problem is not None:
        raise UsageError(f"stream memory of {size} bytes refused: {problem}")
