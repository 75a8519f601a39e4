"""The one place that builds Globus apps and clients.

Two kinds of app share the same token storage (the ``globus_tokens`` table):

* the **login app** (``aws-copy-pt login``) runs an interactive flow through a prompter;
* the **batch app** (everything else, and every unattended pass) never prompts: it has
  ``token_validation_error_handler=None`` so missing or expired tokens raise instead of starting
  a login, and a login flow that refuses outright in case anything still asks for one.

The native-app client id comes from ``--client-id``, else ``AWS_COPY_PT_GLOBUS_CLIENT_ID``, else
the ``globus.client_id`` setting that ``login`` stores. Service URLs come from the SDK's usual
``GLOBUS_SDK_SERVICE_URL_*`` / ``GLOBUS_SDK_ENVIRONMENT`` variables (tests use a local stand-in).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import globus_sdk
from globus_sdk.login_flows import LoginFlowManager
from globus_sdk.scopes import GCSCollectionScopes, Scope, TimersScopes, TransferScopes
from globus_sdk.token_storage import TokenValidationError
from globus_sdk.transport import RetryConfig

from aws_copy_pt.core.paths import PathError, parse_uuid
from aws_copy_pt.db.engine import Database
from aws_copy_pt.db.models import Setting
from aws_copy_pt.errors import ConfigError
from aws_copy_pt.globus.errors import (
    Failure,
    TimersLoginError,
    classify,
    describe,
    login_error,
)
from aws_copy_pt.globus.login import FallbackLoginFlow, LoginPrompter, RefuseLoginFlow
from aws_copy_pt.globus.token_storage import DatabaseTokenStorage

APP_NAME = "aws-copy-pt"
CLIENT_ID_ENV = "AWS_COPY_PT_GLOBUS_CLIENT_ID"
CLIENT_ID_SETTING = "globus.client_id"
TRANSFER_RESOURCE_SERVER = "transfer.api.globus.org"
TIMERS_RESOURCE_SERVER = TimersScopes.resource_server
# Calls give up quickly: the next pass retries, so a Globus outage must not hold a pass for
# minutes in the SDK's backoff (its default is 5 retries, up to 10 s apart), nor keep a person
# waiting offline.
BATCH_MAX_RETRIES = 2

REGISTER_HINT = (
    "register a native app at https://app.globus.org/settings/developers "
    '("Register a thick client or script that will be installed and run by users"), then run '
    "`aws-copy-pt login --client-id CLIENT_ID` (or set AWS_COPY_PT_GLOBUS_CLIENT_ID)"
)


def resolve_client_id(
    db: Database, *, explicit: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """The Globus native-app client id: ``--client-id`` > environment > stored setting."""
    environment = os.environ if env is None else env
    for candidate in (explicit, environment.get(CLIENT_ID_ENV)):
        if candidate and candidate.strip():
            return _checked_client_id(candidate.strip())
    with db.session() as session:
        stored = session.get(Setting, CLIENT_ID_SETTING)
        if stored is not None and stored.value.strip():
            return stored.value.strip()
    raise ConfigError("no Globus client id is configured", hint=REGISTER_HINT)


def remember_client_id(db: Database, client_id: str) -> None:
    """Store the client id so unattended runs use the one the user logged in with."""
    with db.session() as session:
        row = session.get(Setting, CLIENT_ID_SETTING)
        if row is None:
            session.add(Setting(key=CLIENT_ID_SETTING, value=client_id))
        else:
            row.value = client_id


def _checked_client_id(value: str) -> str:
    try:
        return parse_uuid(value, what="Globus client id")
    except PathError as exc:
        raise ConfigError(str(exc), hint=REGISTER_HINT) from None


def token_storage(db: Database, client_id: str) -> DatabaseTokenStorage:
    """Tokens are kept per client id: a refresh token only works with the client it was for."""
    return DatabaseTokenStorage(db, namespace=client_id)


def _user_app(
    db: Database, app_client: globus_sdk.NativeAppAuthClient, flow: LoginFlowManager
) -> globus_sdk.UserApp:
    config = globus_sdk.GlobusAppConfig(
        login_flow_manager=flow,
        token_storage=token_storage(db, str(app_client.client_id)),
        request_refresh_tokens=True,
        # Never start a login from inside a call: a missing or expired token raises instead.
        token_validation_error_handler=None,
    )
    return globus_sdk.UserApp(APP_NAME, login_client=app_client, config=config)


def login_client(client_id: str) -> globus_sdk.NativeAppAuthClient:
    """The native app's own Auth client (code exchange, token refresh and revocation); it
    retries less, like the other clients, so an unreachable Globus Auth is reported in seconds
    (the SDK's default backoff would hold a login for 15 s before saying so)."""
    return globus_sdk.NativeAppAuthClient(
        client_id=client_id,
        app_name=APP_NAME,
        retry_config=RetryConfig(max_retries=BATCH_MAX_RETRIES),
    )


def batch_app(db: Database, client_id: str) -> globus_sdk.UserApp:
    """An app that never prompts; token problems surface as exceptions on use."""
    app_client = login_client(client_id)
    return _user_app(db, app_client, RefuseLoginFlow(app_client))


def login_app(
    db: Database,
    client_id: str,
    prompter: LoginPrompter,
    *,
    allow_browser: bool,
    env: Mapping[str, str] | None = None,
) -> globus_sdk.UserApp:
    """An app whose login flow is the browser (when usable) or copy-paste through ``prompter``."""
    app_client = login_client(client_id)
    flow = FallbackLoginFlow(
        app_client,
        prompter,
        app_name=APP_NAME,
        allow_browser=allow_browser,
        env=os.environ if env is None else env,
    )
    return _user_app(db, app_client, flow)


class UnattendedTransferClient(globus_sdk.TransferClient):
    """A TransferClient whose token failures raise ``NeedsLoginError``, whatever the call."""

    def request(self, *args: Any, **kwargs: Any) -> globus_sdk.GlobusHTTPResponse:
        try:
            return super().request(*args, **kwargs)
        except (globus_sdk.GlobusError, TokenValidationError) as exc:
            if classify(exc) is Failure.LOGIN:
                raise login_error(exc) from exc
            raise


def transfer_client(app: globus_sdk.UserApp) -> UnattendedTransferClient:
    """A TransferClient on ``app`` that retries less (the next pass retries anyway)."""
    return UnattendedTransferClient(
        app=app, retry_config=RetryConfig(max_retries=BATCH_MAX_RETRIES)
    )


def auth_client(app: globus_sdk.UserApp) -> globus_sdk.AuthClient:
    return globus_sdk.AuthClient(app=app, retry_config=RetryConfig(max_retries=BATCH_MAX_RETRIES))


def batch_transfer_client(
    db: Database, *, client_id: str | None = None, env: Mapping[str, str] | None = None
) -> globus_sdk.TransferClient:
    """A TransferClient for unattended use from the stored login; it never prompts.

    Missing, expired or revoked tokens raise ``NeedsLoginError`` on the first call that needs
    them (a revoked refresh token cannot be seen before Globus answers ``invalid_grant``), so
    the poller and lister can first move the affected transfers to NEEDS_LOGIN. No client id
    configured raises ``ConfigError`` at once.
    """
    return transfer_client(batch_app(db, resolve_client_id(db, explicit=client_id, env=env)))


class UnattendedTimersClient(globus_sdk.TimersClient):
    """A TimersClient whose token failures, before any request (no Timers token stored) or
    from Timers (401), raise ``TimersLoginError``: log in again, allowing Timers."""

    def request(self, *args: Any, **kwargs: Any) -> globus_sdk.GlobusHTTPResponse:
        try:
            return super().request(*args, **kwargs)
        except (globus_sdk.GlobusError, TokenValidationError) as exc:
            if classify(exc) is Failure.LOGIN:
                raise TimersLoginError(describe(exc)) from exc
            raise


def timers_client(app: globus_sdk.UserApp) -> UnattendedTimersClient:
    """A TimersClient on ``app`` (this also adds the Timers scope to what ``app`` logs in for)."""
    return UnattendedTimersClient(app=app, retry_config=RetryConfig(max_retries=BATCH_MAX_RETRIES))


def batch_timers_client(
    db: Database, *, client_id: str | None = None, env: Mapping[str, str] | None = None
) -> globus_sdk.TimersClient:
    """A TimersClient for unattended use from the stored login (follow rules with a timer)."""
    return timers_client(batch_app(db, resolve_client_id(db, explicit=client_id, env=env)))


def timers_scopes() -> list[str]:
    """The scope a login asks for when some follow rule reads a Globus Timer."""
    return [str(TimersScopes.timer)]


def data_access_scopes(collection_ids: Iterable[str]) -> list[str]:
    """The Transfer scope with optional data_access consents for GCSv5 mapped collections."""
    ids = sorted(set(collection_ids))
    scope: Scope = TransferScopes.all
    if ids:
        scope = scope.with_dependencies(
            [GCSCollectionScopes(cid).data_access.with_optional(True) for cid in ids]
        )
    return [str(scope)]
