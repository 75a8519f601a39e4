"""What every notification adapter shares: the target it sends to and the sender interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from aws_copy_pt.errors import UsageError
from aws_copy_pt.log import register_secret

DEFAULT_TIMEOUT = 20.0  # seconds for one delivery attempt (connect + send)
MAX_TIMEOUT = 300.0
DEFAULT_SENDMAIL = "/usr/sbin/sendmail"
SECRET_OPTIONS = frozenset({"smtp_password"})


@dataclass(frozen=True)
class Target:
    """A notification target as the adapters see it (built from a ``NotificationTarget`` row)."""

    name: str
    kind: str  # "email" | "webhook"
    address: str  # email address(es), comma-separated, or the webhook URL
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # options hold the SMTP password and the URL may hold a token
        return f"Target(name={self.name!r}, kind={self.kind!r})"

    @classmethod
    def from_row(cls, row: Any) -> Target:
        """From a ``NotificationTarget`` row (duck-typed: adapters do not import the DB).

        Registers the target's secrets for redaction, so no code path that loads a target can
        forget to.
        """
        target = cls(name=row.name, kind=row.kind, address=row.target, options=dict(row.options))
        register_target_secrets(target)
        return target

    @property
    def timeout(self) -> float:
        return float(self.options.get("timeout", DEFAULT_TIMEOUT))


class Sender(Protocol):
    """Delivers one message to one target, or raises an ``AwsCopyPtError`` saying why not.

    One call is one attempt: senders never retry by themselves (the outbox does, with back-off).
    """

    def send(self, target: Target, subject: str, body: str) -> None: ...


def register_target_secrets(target: Target) -> None:
    register_secret(target.options.get("smtp_password"))
    if target.kind == "webhook":
        # Slack-style webhook URLs carry their token in the path: treat the path as a secret,
        # and so the password (or lone token) of a URL's user:password@.
        register_secret(_url_secret_part(target.address))
        register_url_secrets(target.address)


def register_url_secrets(url: str) -> None:
    """Mask a URL's userinfo password (or a user name standing alone, a token) everywhere."""
    parts = urlsplit(url)
    register_secret(parts.password if parts.password is not None else parts.username)


def display_url(url: str) -> str:
    """The URL with its userinfo, path and query hidden (``https://***@hooks.example/***``)."""
    parts = urlsplit(url)
    hidden = "/***" if _url_secret_part(url).strip("/") else "/"
    userinfo = "***@" if "@" in parts.netloc else ""
    return f"{parts.scheme}://{userinfo}{_host_port(parts.netloc)}{hidden}"


def _host_port(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def _url_secret_part(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def check_timeout(timeout: float | None) -> float:
    """A delivery timeout in seconds, defaulted and bounded."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if not 0 < timeout <= MAX_TIMEOUT:
        raise UsageError(
            f"--timeout {timeout:g} is out of range",
            hint=f"give a number of seconds above 0 and at most {MAX_TIMEOUT:g}",
        )
    return timeout
