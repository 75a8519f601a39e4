"""What a Globus SDK failure means for us: log in again, retry later, or a real refusal.

One classification serves every Globus call: the poller and the lister decide whether to change
a transfer's state from it, and interactive commands turn it into a typed error whose message
names the cause and the fix. A refresh token answered with ``invalid_grant`` (revoked, or unused
for six months) is a login problem, never a transient one.
"""

from __future__ import annotations

import re
from enum import Enum

import globus_sdk
from globus_sdk.token_storage import TokenValidationError

from aws_copy_pt.errors import (
    AwsCopyPtError,
    ConsentRequiredError,
    NeedsLoginError,
    RemoteError,
)

_DATA_ACCESS_SCOPE = re.compile(r"https://auth\.globus\.org/scopes/([0-9a-fA-F-]{36})/data_access")
_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^'\")]+")
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
NETWORK_HINT = (
    "check the network (behind a proxy, set https_proxy), then retry; "
    "https://status.globus.org shows Globus outages"
)
# What Globus Auth's OAuth error codes for a dead login mean, in words people read in cron mail,
# `status` and notifications (the code stays in brackets for searching).
_DEAD_LOGIN_WORDS = {
    "invalid_grant": "the Globus login was revoked or expired (invalid_grant)",
    "invalid_client": "Globus no longer accepts the app this login was made with (invalid_client)",
    "unauthorized_client": (
        "Globus no longer lets the app this login was made with refresh it (unauthorized_client)"
    ),
}
_DEAD_LOGIN_ERRORS = frozenset(_DEAD_LOGIN_WORDS)


class Failure(Enum):
    LOGIN = "login"  # tokens missing, expired or revoked: only `aws-copy-pt login` helps
    CONSENT = "consent"  # a collection needs a data_access consent
    TRANSIENT = "transient"  # 5xx, 429, timeouts, connection errors: retry later
    NOT_FOUND = "not_found"  # 404
    DENIED = "denied"  # 403 other than consent
    REJECTED = "rejected"  # any other 4xx
    OTHER = "other"


class GlobusCallError(RemoteError):
    """A Globus call failed for a reason other than the login (``globus.gateway`` raises it).

    ``message`` is ready for the user (what failed, while doing what); ``failure`` says what
    kind of failure it was, for callers that decide on it; ``description`` is the one-line,
    secret-free description of Globus's answer, for events; ``http_status`` is None when no
    answer came.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        failure: Failure,
        description: str,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.failure = failure
        self.description = description
        self.http_status = http_status


class TimersLoginError(NeedsLoginError):
    """The stored login carries no (working) Globus Timers token: it predates a follow rule
    with a timer, or was made without Timers. Only a new login helps (exit 5)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the stored Globus login does not allow Globus Timers ({detail}): run "
            "`aws-copy-pt login` again to allow Timers",
            hint="run `aws-copy-pt login` in a terminal: while a follow rule reads a timer, "
            "it asks Globus for Timers too",
        )


def classify(exc: BaseException) -> Failure:
    """Sort a Globus-related exception into what the caller should do about it."""
    if isinstance(exc, GlobusCallError):
        return exc.failure
    if isinstance(exc, ConsentRequiredError):
        return Failure.CONSENT
    if isinstance(exc, NeedsLoginError | TokenValidationError):
        return Failure.LOGIN
    if isinstance(exc, globus_sdk.NetworkError):
        return Failure.TRANSIENT
    if isinstance(exc, globus_sdk.AuthAPIError):
        return _classify_auth(exc)
    if isinstance(exc, globus_sdk.GlobusAPIError):
        return _classify_api(exc)
    return Failure.OTHER


def _classify_auth(exc: globus_sdk.AuthAPIError) -> Failure:
    if exc.http_status in _TRANSIENT_STATUSES:
        return Failure.TRANSIENT
    body = exc.raw_json if isinstance(exc.raw_json, dict) else {}
    # The token endpoint answers a dead refresh token with 400 invalid_grant.
    if exc.http_status == 401 or body.get("error") in _DEAD_LOGIN_ERRORS:
        return Failure.LOGIN
    return Failure.REJECTED


def _classify_api(exc: globus_sdk.GlobusAPIError) -> Failure:
    status = exc.http_status
    if status in _TRANSIENT_STATUSES:
        return Failure.TRANSIENT
    if status == 401:
        return Failure.LOGIN
    if exc.info.consent_required or exc.code == "ConsentRequired":
        return Failure.CONSENT
    if status == 404:
        return Failure.NOT_FOUND
    if status == 403:
        return Failure.DENIED
    return Failure.REJECTED if 400 <= status < 500 else Failure.OTHER


def describe(exc: BaseException) -> str:
    """A one-line, secret-free description of a Globus failure for events and messages."""
    if isinstance(exc, GlobusCallError):
        return exc.description
    if isinstance(exc, globus_sdk.GlobusAPIError):
        body = exc.raw_json if isinstance(exc.raw_json, dict) else None
        code = exc.code or (body or {}).get("error") or exc.http_reason
        message = exc.message or (body or {}).get("error_description")
        if not message and body is None:
            message = exc.text[:200]  # not JSON: a proxy's or gateway's own page
        return f"Globus answered {exc.http_status} {code}" + (f": {message}" if message else "")
    if isinstance(exc, globus_sdk.NetworkError):
        cause = _OS_ERROR.search(str(exc.underlying_exception))
        return f"no answer from Globus: {exc}" + (f" ({cause.group(0)})" if cause else "")
    if isinstance(exc, AwsCopyPtError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def consent_collections(exc: BaseException) -> tuple[str, ...]:
    """The collection ids whose data_access consent a ConsentRequired error asks for."""
    if not isinstance(exc, globus_sdk.GlobusAPIError):
        return ()
    scopes = " ".join(exc.info.consent_required.required_scopes or [])
    return tuple(dict.fromkeys(m.lower() for m in _DATA_ACCESS_SCOPE.findall(scopes)))


def login_error(exc: BaseException) -> NeedsLoginError:
    """The NeedsLoginError for a LOGIN or CONSENT failure, saying what went wrong."""
    if isinstance(exc, NeedsLoginError):
        return exc
    if classify(exc) is Failure.CONSENT:
        collections = consent_collections(exc)
        named = ", ".join(collections) or "a collection"
        return ConsentRequiredError(
            f"Globus needs your consent to access the data on {named}",
            collection_ids=collections,
        )
    if isinstance(exc, TokenValidationError):
        return NeedsLoginError(f"Globus login is missing or no longer valid ({exc})")
    dead = _dead_login_code(exc)
    if dead == "invalid_grant":
        return NeedsLoginError(_DEAD_LOGIN_WORDS[dead])
    if dead is not None:
        return NeedsLoginError(
            _DEAD_LOGIN_WORDS[dead],
            hint="check the app's client id at https://app.globus.org/settings/developers, then "
            "run `aws-copy-pt login --client-id ID` in a terminal",
        )
    return NeedsLoginError(f"Globus refused the stored login: {describe(exc)}")


def _dead_login_code(exc: BaseException) -> str | None:
    """The OAuth error code of a refresh Globus Auth refused for good, else None."""
    if not isinstance(exc, globus_sdk.AuthAPIError) or not isinstance(exc.raw_json, dict):
        return None
    code = exc.raw_json.get("error")
    return code if code in _DEAD_LOGIN_ERRORS else None


def to_user_error(exc: BaseException, *, doing: str) -> AwsCopyPtError:
    """An interactive command's error for a failed Globus call made while ``doing`` something."""
    kind = classify(exc)
    if kind in (Failure.LOGIN, Failure.CONSENT):
        return login_error(exc)
    if isinstance(exc, globus_sdk.NetworkError):
        return RemoteError(
            f"Globus could not be reached while {doing}: {describe(exc)}", hint=NETWORK_HINT
        )
    if kind is Failure.TRANSIENT:
        return RemoteError(
            f"Globus failed transiently while {doing}: {describe(exc)}",
            hint="retry in a few minutes; https://status.globus.org shows outages",
        )
    if isinstance(exc, AwsCopyPtError):
        return exc
    return RemoteError(f"Globus refused {doing}: {describe(exc)}")


def call_error(exc: BaseException, *, doing: str) -> AwsCopyPtError:
    """What a failed Globus call raises: a login error when only a login helps, else a
    :class:`GlobusCallError` carrying the user's message and the kind of failure."""
    kind = classify(exc)
    if kind in (Failure.LOGIN, Failure.CONSENT):
        return login_error(exc)
    if isinstance(exc, AwsCopyPtError):
        return exc
    user = to_user_error(exc, doing=doing)
    status = exc.http_status if isinstance(exc, globus_sdk.GlobusAPIError) else None
    return GlobusCallError(
        user.message, hint=user.hint, failure=kind, description=describe(exc), http_status=status
    )
