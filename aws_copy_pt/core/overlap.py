"""Staging and destination must never overlap: the one check every entry point shares.

A copy writes every object of its source below its destination prefix, and with
``--delete-staging`` deletes source objects once their copies are verified. If both places are
in the same bucket and one prefix contains the other (the empty prefix contains everything),
a copy can overwrite a delivered object before that object was copied, and a clean-up can
delete a verified copy as if it were a staging object. So such a pair is refused everywhere:
``watch``, ``submit``, ``copy``, the wizard, follow rules, and once more by the copy engine
before it touches a transfer (a transfer recorded by an older version, or by hand).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_copy_pt.core.errors import UsageError


@dataclass(frozen=True)
class Place:
    """A bucket and a folder prefix (``""`` or ending in ``/``, as ``core.paths`` stores it)."""

    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class OverlapError(UsageError):
    """A destination that overlaps the staging (source) location of a copy."""


def overlaps(a: Place, b: Place) -> bool:
    """Same bucket, and one prefix contains the other (``""`` contains every prefix)."""
    return a.bucket == b.bucket and (a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix))


def check_apart(source: Place, dest: Place, *, source_is: str = "the staging root") -> None:
    """Raise :class:`OverlapError` (exit 2) when ``dest`` overlaps ``source``.

    ``source`` is where the copied objects come from: a staging collection's mapping root
    (``watch``, ``submit``, follow rules) or the source prefix of ``copy``; ``source_is`` names
    it in the message.
    """
    if not overlaps(source, dest):
        return
    if source.prefix == dest.prefix:
        how = "it is that place itself: every object would be copied onto itself"
    elif dest.prefix.startswith(source.prefix):
        how = "it is inside it: copies would overwrite delivered objects before they are copied"
    else:
        how = "it contains it: a staging clean-up could delete verified copies"
    raise OverlapError(
        f"the destination {dest} overlaps {source_is} {source}: {how}", hint=accepted_forms(source)
    )


def accepted_forms(source: Place) -> str:
    """What a destination may be, given the source: for the hint of :class:`OverlapError`."""
    other = f"another bucket (e.g. partner-archive/{source.prefix or 'run42/'})"
    if not source.prefix:
        return f"the whole of {source.bucket} is the source: give {other}"
    top = source.prefix.split("/", 1)[0]
    return (
        f"give {other}, or a prefix of {source.bucket} that neither contains nor is inside "
        f"{source.prefix} (e.g. {source.bucket}/{top}-copies/)"
    )
