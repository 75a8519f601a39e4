"""Checking what a user types about AWS credentials (pure: no I/O).

Shared by ``aws add`` / ``aws update`` and the wizard, so each answer is refused where it is
typed: the wizard checks the access key id before it asks for the secret. ``asked_as`` names
where the value came from in the message: a command-line flag, or a question of the wizard.
"""

from __future__ import annotations

import re

from aws_copy_pt.core.errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ACCESS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")


def check_credential_name(name: str) -> str:
    """A name for a registered credential: letters, digits, '.', '_' and '-'."""
    if not _NAME.match(name):
        raise UsageError(
            f"{name!r} is not a usable credential name",
            hint="use letters, digits, '.', '_' or '-' (e.g. staging-keys)",
        )
    return name


def check_access_key_id(value: str, *, asked_as: str = "--access-key-id") -> str:
    """An access key id (AKIA…, ASIA…): 16-128 capitals and digits, never the secret."""
    if not _ACCESS_KEY_ID.match(value):
        raise UsageError(
            f"{asked_as} does not look like an AWS access key id",
            hint="it is the AKIA... (or ASIA...) identifier, 16 or more capitals and digits, "
            "not the secret",
        )
    return value
