"""Where a file Globus delivered lands in S3, and where its copy goes: pure path arithmetic.

The GCS S3 connector shows every bucket as a directory at the gateway root, so object
``a/b.dat`` of bucket ``staging`` is the gateway path ``/staging/a/b.dat``. A collection is rooted
at a *base path* on that gateway (``/`` for the whole gateway, ``/staging/`` for one bucket,
``/staging/incoming/`` for a folder), and the paths in a task are relative to that root.

Definitions used everywhere (and shown in ``aws-copy-pt watch --help``):

* **gateway path** = the collection's base path joined with the task's destination path;
* its first segment is the **staging bucket**, the rest is the **staging key**;
* the **mapping root** is the staging bucket plus a key prefix made of the base path's key part
  followed by the collection's ``--key-prefix``;
* the **relative key** is the staging key with the mapping root's key prefix removed;
* the **destination key** is the transfer's destination prefix followed by the relative key.

Keys are taken byte-for-byte: spaces, unicode (never re-normalised), ``+``, ``%`` and ``#`` are
kept as they are, nothing is URL-decoded. A path that would leave the mapping (a ``.`` or ``..``
segment, an empty segment, another bucket, a key outside the key prefix) raises
:class:`UnmappablePathError`: it is rejected for that one object, never guessed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aws_copy_pt.core.bucket_settings import bucket_name_problem

MAX_KEY_BYTES = 1024  # S3's limit on the UTF-8 length of an object key


class PathError(ValueError):
    """A malformed path, prefix, bucket target or id given by the user or by Globus."""


class UnmappablePathError(PathError):
    """A Globus path that cannot be mapped onto the staging bucket; ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path!r}: {reason}")
        self.path = path
        self.reason = reason


class InvalidMappingError(PathError):
    """A collection mapping (base path, bucket, key prefix) that contradicts itself."""


@dataclass(frozen=True)
class StagingObject:
    """Where one delivered file is in the staging bucket, and where its copy goes."""

    bucket: str
    key: str  # the staging key (source of the S3 copy)
    relative_key: str  # the key relative to the mapping root
    dest_key: str


@dataclass(frozen=True)
class CollectionMapping:
    """How a staging collection's paths map onto its staging bucket (see the module docs)."""

    bucket: str
    base_path: str = "/"
    key_prefix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_path", normalize_base_path(self.base_path))
        object.__setattr__(self, "key_prefix", normalize_prefix(self.key_prefix))
        base_bucket, _ = _split_gateway(self.base_path)
        if base_bucket is not None and base_bucket != self.bucket:
            raise InvalidMappingError(
                f"base path {self.base_path} is inside bucket {base_bucket!r}, "
                f"not the staging bucket {self.bucket!r}"
            )

    @property
    def root_prefix(self) -> str:
        """The staging key prefix of the mapping root: base path key part + key prefix."""
        _, base_key = _split_gateway(self.base_path)
        return base_key + self.key_prefix

    def map_path(self, destination_path: str, dest_prefix: str = "") -> StagingObject:
        """Map a task's destination path to its staging object and destination key."""
        segments = _checked_segments(destination_path)
        gateway = self.base_path.strip("/").split("/") if self.base_path != "/" else []
        full = gateway + segments
        if len(full) < 2:
            raise UnmappablePathError(destination_path, "names a bucket, not an object in it")
        bucket, key = full[0], "/".join(full[1:])
        if bucket != self.bucket:
            raise UnmappablePathError(
                destination_path,
                f"is in bucket {bucket!r}, not in the staging bucket {self.bucket!r}",
            )
        root = self.root_prefix
        # Keys never end in "/" (directories are refused above), so a match leaves a file name.
        if not key.startswith(root):
            raise UnmappablePathError(
                destination_path, f"is outside the mapping root s3://{self.bucket}/{root}"
            )
        relative = key[len(root) :]
        dest_key = normalize_prefix(dest_prefix) + relative
        for name, value in (("staging key", key), ("destination key", dest_key)):
            if len(value.encode("utf-8")) > MAX_KEY_BYTES:
                raise UnmappablePathError(
                    destination_path, f"its {name} is longer than S3's {MAX_KEY_BYTES} bytes"
                )
        return StagingObject(bucket=bucket, key=key, relative_key=relative, dest_key=dest_key)

    def covers_directory(self, destination_path: str) -> bool:
        """Whether files below this destination directory would map (used before submitting)."""
        probe = destination_path.rstrip("/") + "/probe"
        try:
            self.map_path(probe)
        except UnmappablePathError:
            return False
        return True


def _checked_segments(path: str) -> list[str]:
    """The segments of an absolute Globus file path, refusing anything ambiguous."""
    if not path.startswith("/"):
        raise UnmappablePathError(path, "is not an absolute path")
    if path.startswith("/~"):
        raise UnmappablePathError(path, "is relative to a home directory, which has no bucket")
    if path.endswith("/"):
        raise UnmappablePathError(path, "names a directory, not a file")
    if "\x00" in path:
        raise UnmappablePathError(path, "contains a NUL character")
    segments = path[1:].split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            shown = f"a {segment!r} segment" if segment else "an empty segment (//)"
            raise UnmappablePathError(path, f"contains {shown}, which could point elsewhere")
    return segments


def _split_gateway(base_path: str) -> tuple[str | None, str]:
    """(bucket, key prefix) of a normalized base path; (None, "") for the gateway root."""
    parts = base_path.strip("/").split("/") if base_path != "/" else []
    if not parts:
        return None, ""
    key = "/".join(parts[1:])
    return parts[0], key + "/" if key else ""


def normalize_base_path(base_path: str) -> str:
    """``/``, or ``/bucket/dir/`` with one leading and one trailing slash; refuse ``..``."""
    text = base_path.strip()
    if not text.startswith("/"):
        raise InvalidMappingError(f"base path {base_path!r} must start with /")
    parts = [p for p in text.split("/") if p]
    if any(p in (".", "..") for p in parts) or "//" in text.rstrip("/"):
        raise InvalidMappingError(f"base path {base_path!r} must not contain ., .. or //")
    return "/" + "".join(p + "/" for p in parts)


def normalize_prefix(prefix: str) -> str:
    """A key prefix as stored: no leading slash, one trailing slash unless empty."""
    text = prefix.lstrip("/")
    if not text:
        return ""
    parts = text.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise InvalidMappingError(f"prefix {prefix!r} must not contain ., .. or //")
    return text.rstrip("/") + "/"


def parse_bucket_target(target: str) -> tuple[str, str]:
    """``BUCKET[/PREFIX]`` (an optional ``s3://`` is accepted) -> (bucket, normalized prefix)."""
    text = target.strip()
    if text.startswith("s3://"):
        text = text[len("s3://") :]
    bucket, _, prefix = text.partition("/")
    # Lenient on purpose (the bucket must be registered anyway, with its endpoint's rules):
    # S3-compatible stores and legacy us-east-1 buckets allow capitals and underscores.
    problem = bucket_name_problem(bucket, aws=False)
    if problem is not None:
        raise PathError(f"{bucket!r} is not a valid S3 bucket name (from {target!r}): {problem}")
    return bucket, normalize_prefix(prefix)


def parse_collection_path(text: str) -> tuple[str, str]:
    """``COLLECTION_UUID:/path`` -> (collection id, path), as the Globus CLI writes them."""
    collection, sep, path = text.partition(":")
    if not sep or not path.startswith("/"):
        raise PathError(f"{text!r} is not COLLECTION_ID:/absolute/path")
    return parse_uuid(collection, what="collection id"), path


def parse_uuid(text: str, *, what: str) -> str:
    """A canonical lowercase UUID string, or PathError naming ``what``."""
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        raise PathError(f"{text!r} is not a valid {what} (a UUID)") from None
