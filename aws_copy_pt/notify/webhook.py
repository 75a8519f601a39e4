"""Webhook notifications: one JSON POST per message (Slack, Mattermost, or any HTTP receiver).

Uses the standard library's urllib: proxies from ``https_proxy``/``no_proxy`` are honoured,
as users behind an HPC site's proxy expect. Redirects are refused rather than followed, because
urllib would turn the POST into a GET and drop the message while reporting success. A URL with
``user:password@`` is sent as HTTP Basic authentication (urllib itself would put the userinfo in
the host name, and its error would quote the password); the password is masked everywhere.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from aws_copy_pt import __version__
from aws_copy_pt.errors import AwsCopyPtError, ConfigError, RemoteError, UsageError
from aws_copy_pt.notify.base import Target, check_timeout, display_url, register_url_secrets

_ERROR_BODY_EXCERPT = 300
_TAG = re.compile(r"<[^>]*>")


def webhook_options(url: str, *, timeout: float | None = None) -> dict[str, Any]:
    """Validate a webhook URL and return the options to store."""
    register_url_secrets(url)
    check_url(url, usage=True)
    return {"timeout": check_timeout(timeout)}


def check_url(url: str, *, usage: bool = False) -> None:
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    if parts.scheme in ("http", "https") and parts.hostname and port_ok:
        return
    error = UsageError if usage else ConfigError
    what = "an http(s) URL" if port_ok else "a URL with a valid port"
    raise error(
        f"{display_url(url) if parts.scheme else repr(url)} is not {what}",
        hint="give the full URL, e.g. --webhook https://hooks.slack.com/services/…",
    )


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


class WebhookSender:
    """POSTs the body (a JSON document) to the target's URL; any non-2xx answer is a failure."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    def send(self, target: Target, subject: str, body: str) -> None:
        check_url(target.address)
        url, authorization = _split_userinfo(target.address)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"aws-copy-pt/{__version__}",
        }
        if authorization:
            headers["Authorization"] = authorization
        request = urllib.request.Request(  # noqa: S310 - check_url allows only http(s)
            url, data=body.encode("utf-8"), method="POST", headers=headers
        )
        try:
            with self._opener.open(request, timeout=target.timeout) as response:
                response.read(_ERROR_BODY_EXCERPT)
        except urllib.error.HTTPError as exc:
            raise _http_failure(exc, target) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise _connection_failure(reason, target) from exc


def _split_userinfo(url: str) -> tuple[str, str | None]:
    """The URL without ``user:password@``, and the Basic ``Authorization`` header it meant."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    pair = f"{unquote(user)}:{unquote(password)}".encode()
    stripped = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return stripped, "Basic " + base64.b64encode(pair).decode("ascii")


def _http_failure(exc: urllib.error.HTTPError, target: Target) -> AwsCopyPtError:
    where = f"webhook {display_url(target.address)}"
    if 300 <= exc.code < 400:
        return RemoteError(
            f"{where} answered HTTP {exc.code}, a redirect to {exc.headers.get('Location')}",
            hint=f"register the final URL: aws-copy-pt notify add {target.name} --replace …",
        )
    try:
        text = exc.read(_ERROR_BODY_EXCERPT).decode("utf-8", "replace")
    except OSError:
        text = ""
    excerpt = " ".join(_TAG.sub(" ", text).split())  # an HTML error page, read as text
    detail = f": {excerpt}" if excerpt else ""
    hint = (
        "the URL is wrong or was revoked: create a new one and re-add the target with --replace"
        if exc.code in (401, 403, 404, 410)
        else f"the receiver failed on its side; once it is fixed, `aws-copy-pt notify test "
        f"{target.name}` confirms it"
    )
    return RemoteError(f"{where} answered HTTP {exc.code} {exc.reason}{detail}", hint=hint)


def _connection_failure(reason: object, target: Target) -> AwsCopyPtError:
    where = f"webhook {display_url(target.address)}"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return RemoteError(
            f"{where} presented a certificate this machine does not trust "
            f"({reason.verify_message})",
            hint="check the URL; a site proxy that intercepts TLS needs its CA in the system store",
        )
    if isinstance(reason, ConnectionRefusedError):
        return RemoteError(f"nothing accepts connections at {where}", hint="check the URL")
    if isinstance(reason, socket.gaierror):
        return RemoteError(
            f"cannot resolve the host of {where} ({reason.strerror})",
            hint="check the URL; behind a proxy, set https_proxy",
        )
    if isinstance(reason, TimeoutError):
        return RemoteError(
            f"{where} did not answer within {target.timeout:g} s",
            hint="check the URL; behind a proxy, set https_proxy",
        )
    return RemoteError(f"could not reach {where}: {reason}", hint="check the URL and the network")
